// The one file that talks to BLAS: OpenBLAS on Linux, Accelerate on Apple.
#if canImport(Accelerate)
  import Accelerate
#else
  import CBLAS
#endif

/// The matrix products the engine needs, over row-major buffers.
///
/// BLAS runs single-threaded: parallelism comes from Backprop's own workers,
/// and a BLAS that spawns threads inside each worker would oversubscribe the
/// cores. ``BLAS/useSingleThread()`` tells OpenBLAS so; it is called before
/// any training.
public enum BLAS {
  /// Tells the BLAS library to run every call on the calling thread only.
  ///
  /// Safe to call more than once.
  public static func useSingleThread() {
    #if !canImport(Accelerate)
      openblas_set_num_threads(1)
    #endif
  }

  /// Single-precision `C = alpha * op(A) * op(B) + beta * C`, row-major.
  ///
  /// With `beta == 0`, `C` is overwritten and never read, so it needs no
  /// zeroing beforehand.
  ///
  /// - Complexity: 2·m·n·k floating-point operations.
  public static func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    guard m > 0, n > 0 else { return }
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
      transposeB ? CblasTrans : CblasNoTrans,
      blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb),
      beta, c, blasInt(ldc))
  }

  /// Double-precision `C = alpha * op(A) * op(B) + beta * C`, row-major.
  ///
  /// Used by gradient checks; training runs in single precision.
  public static func dgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int,
    b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    guard m > 0, n > 0 else { return }
    cblas_dgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans,
      transposeB ? CblasTrans : CblasNoTrans,
      blasInt(m), blasInt(n), blasInt(k), alpha, a, blasInt(lda), b, blasInt(ldb),
      beta, c, blasInt(ldc))
  }

  @inline(__always)
  private static func blasInt(_ value: Int) -> Int32 { Int32(truncatingIfNeeded: value) }
}
