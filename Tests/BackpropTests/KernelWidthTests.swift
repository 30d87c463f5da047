import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Kernels pinned narrower than the CPU (`OPENBLAS_CORETYPE=Haswell` on an
/// AVX-512 CPU) are named in `topology` and `--profile`, with the SGEMM
/// factor a probe of each kernel set measures.
@Suite struct KernelWidthTests {
  static let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl", "avx2", "fma"]

  @Test func aPinnedAVX2KernelSetOnAnAVX512CPUIsNarrower() {
    #expect(BLASKernels.widerCoreType(core: "Haswell", cpuFlags: Set(Self.avx512)) == "SkylakeX")
    #expect(BLASKernels.widerCoreType(core: "Zen", cpuFlags: Set(Self.avx512)) == "SkylakeX")
    #expect(BLASKernels.widerCoreType(core: "Cooperlake", cpuFlags: Set(Self.avx512)) == nil)
    #expect(BLASKernels.widerCoreType(core: "SkylakeX", cpuFlags: Set(Self.avx512)) == nil)
    #expect(BLASKernels.widerCoreType(core: "Haswell", cpuFlags: ["avx2", "fma"]) == nil)
  }

  /// This machine's CPU decides what is expected: with AVX-512, the pin is
  /// named with both measurements; without, nothing is said.
  @Test func topologyAndProfileSayWhatThePinCosts() throws {
    let flags = BLASKernels.cpuFlags(cpuinfo: (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? "")
    let hasAVX512 = Self.avx512.allSatisfy(flags.contains)
    let pinned = ["OPENBLAS_CORETYPE": "Haswell"]
    let text = try CommandRun(["topology"], environment: pinned)
    #expect(text.status == 0, "\(text.errors)")
    let line = "pins OpenBLAS to its Haswell (AVX2) kernels on a CPU with AVX-512"
    #expect(text.output.contains(line) == hasAVX512, "\(text.output)")
    let json = try CommandRun(["topology", "--json"], environment: pinned)
    let narrower = try json.json()["blas"]?["narrower_than_cpu"]
    if hasAVX512 {
      let factor = try #require(narrower?["factor"]?.doubleValue)
      #expect(factor > 0.2 && factor < 10, "\(factor)")
      #expect((narrower?["pinned_gflops"]?.doubleValue ?? 0) > 0)
    } else {
      #expect(narrower == .null)
    }
    let plain = try CommandRun(["topology"])
    #expect(!plain.output.contains(line))
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let profile = try CommandRun(
      ["train", "--data", data, "--model", "4-8-relu-3", "--epochs", "1", "--profile", "--quiet"], environment: pinned)
    #expect(profile.status == 0, "\(profile.errors)")
    #expect(profile.errors.contains(line) == hasAVX512, "\(profile.errors)")
    // The probe is not a command anyone is shown.
    #expect(!(try CommandRun(["--help"]).output.contains("blas-probe")))
  }
}
