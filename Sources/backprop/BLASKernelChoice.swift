import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Makes sure OpenBLAS runs the fastest kernels this CPU supports (see
/// ``BLASKernels``), and says which it runs.
enum BLASKernelChoice {
  /// Set in the started-again process: the kernels OpenBLAS had chosen on its
  /// own, for the report.
  static let replacedVariable = "BACKPROP_OPENBLAS_REPLACED_CORE"

  /// When OpenBLAS chose slow kernels and `OPENBLAS_CORETYPE` is unset, runs
  /// this program again in the same process (same arguments, same process id,
  /// so signals and exit statuses are unchanged) with it naming faster ones.
  /// OpenBLAS reads the variable only when it loads, so this must happen
  /// before any work. Returns when nothing needs doing, or when the restart
  /// failed; the variable being set stops a second restart.
  static func restartIfSlow() {
    let kernels = BLASKernels.current
    guard let faster = kernels.fasterCoreType, getenv("OPENBLAS_CORETYPE") == nil else { return }
    setenv("OPENBLAS_CORETYPE", faster, 1)
    setenv(replacedVariable, kernels.core, 1)
    execv("/proc/self/exe", CommandLine.unsafeArgv)
    // The restart failed: go on with the kernels there are (the warning says so).
    unsetenv("OPENBLAS_CORETYPE")
    unsetenv(replacedVariable)
  }

  /// A warning when the kernels are still slow ones (the user set
  /// `OPENBLAS_CORETYPE`, the restart failed, or this OpenBLAS has no faster
  /// kernels to switch to), else `nil`.
  static var warning: String? {
    let kernels = BLASKernels.current
    guard let faster = kernels.fasterCoreType else { return nil }
    if getenv(replacedVariable) != nil, let asked = getenv("OPENBLAS_CORETYPE") {
      return "OpenBLAS runs its \(kernels.core) kernels, a fraction of this CPU's speed, and this build of it "
        + "has no faster ones (OPENBLAS_CORETYPE=\(String(cString: asked)) changed nothing): "
        + "an OpenBLAS built for this CPU would be faster"
    }
    return "OpenBLAS runs its \(kernels.core) kernels, a fraction of this CPU's speed: "
      + "OPENBLAS_CORETYPE=\(faster) selects faster ones"
  }

  /// The library, its kernels and how they were chosen, for `--profile` and
  /// `topology`.
  static var description: String {
    let kernels = BLASKernels.current
    var text = "\(kernels.configuration); \(kernels.core) kernels"
    if let faster = kernels.fasterCoreType {
      text += " (slow on this CPU: OPENBLAS_CORETYPE=\(faster) selects faster ones where OpenBLAS has them)"
    } else if let replaced = getenv(replacedVariable) {
      text += " (OPENBLAS_CORETYPE set by backprop: OpenBLAS had chosen \(String(cString: replaced)), slow on this CPU)"
    }
    return text
  }
}
