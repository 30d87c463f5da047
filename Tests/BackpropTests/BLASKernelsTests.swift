import Backprop
import Foundation
import Testing

/// The check that OpenBLAS runs kernels this CPU is fast with, and the
/// command's restart and report when it does not.
@Suite struct BLASKernelsTests {
  // Flags as Linux lists them: a Zen 3 (AVX2), an Emerald Rapids Xeon
  // (AVX-512), and a CPU with SSE4.2 only.
  static let zen3 = "processor\t: 0\nflags\t\t: fpu sse2 ssse3 fma sse4_2 avx avx2 bmi2\nbugs\t\t: sysret_ss_attrs\n"
  static let emeraldRapids = "flags\t\t: fpu sse2 fma avx avx2 avx512f avx512dq avx512cd avx512bw avx512vl amx_tile\n"
  static let westmere = "flags\t\t: fpu sse2 ssse3 sse4_1 sse4_2 popcnt\n"

  @Test func cpuFlagsComeFromTheFirstFlagsLine() {
    let flags = BLASKernels.cpuFlags(cpuinfo: Self.zen3 + "processor\t: 1\nflags\t\t: fpu\n")
    #expect(flags == ["fpu", "sse2", "ssse3", "fma", "sse4_2", "avx", "avx2", "bmi2"])
    #expect(BLASKernels.cpuFlags(cpuinfo: "processor\t: 0\n").isEmpty)
  }

  @Test func oldKernelsOnANewCPUGetTheFastOnes() {
    let emerald = BLASKernels.cpuFlags(cpuinfo: Self.emeraldRapids)
    let zen = BLASKernels.cpuFlags(cpuinfo: Self.zen3)
    // What OpenBLAS 0.3.21 falls back to for a CPU model it does not know.
    #expect(BLASKernels.fasterCoreType(core: "Prescott", cpuFlags: emerald) == "SkylakeX")
    #expect(BLASKernels.fasterCoreType(core: "Nehalem", cpuFlags: emerald) == "SkylakeX")
    #expect(BLASKernels.fasterCoreType(core: "Sandybridge", cpuFlags: zen) == "Haswell")
    // Kernels written for AVX2 or AVX-512 are left alone, whatever the case of their name.
    for core in ["Haswell", "Zen", "SkylakeX", "COOPERLAKE", "sapphirerapids"] {
      #expect(BLASKernels.fasterCoreType(core: core, cpuFlags: emerald) == nil, "\(core)")
    }
    // A CPU without AVX2 and FMA has nothing faster to offer.
    #expect(BLASKernels.fasterCoreType(core: "Nehalem", cpuFlags: BLASKernels.cpuFlags(cpuinfo: Self.westmere)) == nil)
  }

  @Test func theCommandNamesItsKernelsAndWarnsAboutSlowOnes() throws {
    let kernels = BLASKernels.current
    #expect(!kernels.configuration.isEmpty && !kernels.core.isEmpty)
    guard ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] == nil else { return }  // chosen by hand
    let plain = try CommandRun(["topology"])
    #expect(plain.status == 0, "\(plain.errors)")
    let blasLine = plain.output.split(separator: "\n").first { $0.hasPrefix("blas: ") } ?? ""
    if kernels.fasterCoreType == nil {
      // This test process got fast kernels on its own, and so does the command.
      #expect(blasLine.contains("\(kernels.core) kernels") && !plain.errors.contains("warning"), "\(plain)")
    } else {
      // The command started again with the faster kernels, and says so.
      #expect(blasLine.contains("set by backprop: OpenBLAS had chosen \(kernels.core)"), "\(plain)")
    }
    // Slow kernels asked for by name stay (no restart), with a warning naming the fix.
    let flags = BLASKernels.cpuFlags(cpuinfo: try String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8))
    if let faster = BLASKernels.fasterCoreType(core: "Prescott", cpuFlags: flags) {
      let forced = try CommandRun(["topology"], environment: ["OPENBLAS_CORETYPE": "Prescott"])
      #expect(forced.status == 0)
      #expect(forced.errors.contains("warning: OpenBLAS runs its Prescott kernels"), "\(forced.errors)")
      #expect(forced.errors.contains("OPENBLAS_CORETYPE=\(faster)"), "\(forced.errors)")
      // A restart whose kernels are still slow (an OpenBLAS built without faster ones) says so.
      let restarted = try CommandRun(
        ["topology"], environment: ["OPENBLAS_CORETYPE": "Prescott", "BACKPROP_OPENBLAS_REPLACED_CORE": "Prescott"])
      #expect(restarted.status == 0)
      #expect(restarted.errors.contains("has no faster ones (OPENBLAS_CORETYPE=Prescott changed nothing)"))
    }
  }
}
