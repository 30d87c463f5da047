#if canImport(Accelerate)
  import Accelerate
#else
  import CBLAS
#endif

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Which kernels the BLAS library runs on this CPU, and whether faster ones
/// that the CPU supports were passed over.
///
/// OpenBLAS built for many CPUs (as Debian's is) chooses its kernels once,
/// when it loads, from the CPU's model number. A CPU newer than the library
/// is missing from its table, and it then falls back to old SSE kernels
/// (seen: OpenBLAS 0.3.21 chose its Prescott kernels on an Emerald Rapids
/// Xeon, and the small model trained at 19,700 samples/s on one thread
/// against 94,000–101,000 with the AVX-512 ones). The environment variable
/// `OPENBLAS_CORETYPE` overrides the choice, but only before the library
/// loads, which is why the `backprop` command starts itself again with it
/// set (see ``fasterCoreType``).
public struct BLASKernels: Sendable, Equatable {
  /// The library and how it was built, such as
  /// `OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64`.
  public let configuration: String
  /// The kernels it runs, as the library names them (`Zen`, `Haswell`,
  /// `SkylakeX`, `Prescott` …; `Accelerate` on Apple's systems).
  public let core: String
  /// An `OPENBLAS_CORETYPE` value that selects faster kernels this CPU
  /// supports, or `nil` when the library already runs fast ones.
  public let fasterCoreType: String?
  /// The AVX-512 kernels this CPU could run when the library runs AVX2 ones
  /// because `OPENBLAS_CORETYPE` asked for them (`Haswell` on a Zen 4 or 5,
  /// or on an AVX-512 Xeon): fast kernels, but narrower than the CPU's.
  public var widerCoreType: String? = nil

  /// The kernels of the BLAS library this process loaded.
  public static let current: BLASKernels = {
    #if canImport(Accelerate)
      return BLASKernels(configuration: "Accelerate", core: "Accelerate", fasterCoreType: nil)
    #else
      let configuration = openblas_get_config().map { String(cString: $0) } ?? "OpenBLAS"
      let core = openblas_get_corename().map { String(cString: $0) } ?? "unknown"
      let flags = cpuFlags(cpuinfo: CPUInfo.text)
      var kernels = BLASKernels(
        configuration: configuration, core: core, fasterCoreType: fasterCoreType(core: core, cpuFlags: flags))
      if getenv("OPENBLAS_CORETYPE") != nil { kernels.widerCoreType = widerCoreType(core: core, cpuFlags: flags) }
      return kernels
    #endif
  }()

  /// OpenBLAS kernels written for AVX2 or AVX-512: any of these is fast.
  static let modernCores: Set<String> = ["haswell", "zen", "excavator", "skylakex", "cooperlake", "sapphirerapids"]

  /// The `OPENBLAS_CORETYPE` that gives a CPU with `cpuFlags` (as
  /// `/proc/cpuinfo` lists them) faster kernels than `core`, the ones the
  /// library chose; `nil` when `core` is already an AVX2 or AVX-512 kernel
  /// set, or when the CPU has neither.
  public static func fasterCoreType(core: String, cpuFlags: Set<String>) -> String? {
    guard !modernCores.contains(core.lowercased()) else { return nil }
    let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    if avx512.allSatisfy(cpuFlags.contains) { return "SkylakeX" }
    if cpuFlags.contains("avx2") && cpuFlags.contains("fma") { return "Haswell" }
    return nil
  }

  /// OpenBLAS's AVX2 kernel sets.
  static let avx2Cores: Set<String> = ["haswell", "zen", "excavator"]

  /// The AVX-512 kernels (`SkylakeX`) for a CPU with `cpuFlags` whose
  /// library runs `core`, an AVX2 kernel set; `nil` when `core` is not one,
  /// or the CPU has no AVX-512.
  public static func widerCoreType(core: String, cpuFlags: Set<String>) -> String? {
    guard avx2Cores.contains(core.lowercased()) else { return nil }
    let avx512 = ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"]
    return avx512.allSatisfy(cpuFlags.contains) ? "SkylakeX" : nil
  }

  /// The instruction-set flags of the first processor listed in `cpuinfo`
  /// (the text of Linux's `/proc/cpuinfo`).
  public static func cpuFlags(cpuinfo: String) -> Set<String> {
    for line in cpuinfo.split(separator: "\n") where line.hasPrefix("flags") {
      guard let colon = line.firstIndex(of: ":") else { continue }
      return Set(line[line.index(after: colon)...].split(separator: " ").map(String.init))
    }
    return []
  }
}

/// The text of `/proc/cpuinfo`.
enum CPUInfo {
  /// The file's text, or empty where there is none.
  static var text: String { ProcFile.text("/proc/cpuinfo") }
}
