/// A quick measure of single-threaded SGEMM speed: square products of 512
/// (the size of a hidden layer's products), repeated for about a tenth of a
/// second, the best round kept. What `topology` and `--profile` compare
/// kernel sets with, one process per set (OpenBLAS picks its kernels once,
/// when it loads).
public enum SGEMMProbe {
  /// The products' size by default.
  public static let size = 512

  /// GFLOP/s of this process's BLAS on one thread.
  public static func gigaflops(size: Int = SGEMMProbe.size, seconds: Double = 0.1) -> Double {
    let count = size * size
    let a = AlignedBuffer<Float>(count: count)
    let b = AlignedBuffer<Float>(count: count)
    let c = AlignedBuffer<Float>(count: count)
    for i in 0..<count {
      a.base[i] = Float(i % 17) / 17
      b.base[i] = Float(i % 13) / 13
    }
    func product() {
      BLAS.sgemm(
        transposeA: false, transposeB: false, m: size, n: size, k: size, alpha: 1, a: a.base, lda: size, b: b.base,
        ldb: size, beta: 0, c: c.base, ldc: size)
    }
    product()  // warm: pages touched, kernels' buffers made
    var best = Double.infinity
    let started = monotonicSeconds()
    repeat {
      let start = monotonicSeconds()
      product()
      best = min(best, monotonicSeconds() - start)
    } while monotonicSeconds() - started < seconds
    return 2 * Double(size * size * size) / best / 1e9
  }
}
