/// `C = alpha · op(A) · op(B) + beta · C` for tiny products, as plain loops.
///
/// For a product of a few hundred multiply-adds, a BLAS call costs more than
/// the arithmetic: OpenBLAS took 110–125 ns per call for a 4 × 8 × 2 product
/// on the project's machines (argument checks, a locked buffer allocation,
/// packing), and a training step of XOR makes five such calls. The loops
/// below take a few nanoseconds for that size. With `beta == 0`, `C` is not
/// read, as BLAS specifies.
@usableFromInline
enum SmallGEMM {
  /// Products with at most this many multiply-adds (`m · n · k`) go through
  /// ``multiply(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``.
  @usableFromInline static let largestProduct = 512

  /// The product, row-major, with the same arguments as BLAS `gemm`.
  ///
  /// - Complexity: O(`m · n · k`).
  @inlinable
  static func multiply<T: TrainingScalar>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: T, a: UnsafePointer<T>, lda: Int,
    b: UnsafePointer<T>, ldb: Int,
    beta: T, c: UnsafeMutablePointer<T>, ldc: Int
  ) {
    let (aRow, aColumn) = transposeA ? (1, lda) : (lda, 1)
    let (bRow, bColumn) = transposeB ? (1, ldb) : (ldb, 1)
    for i in 0..<m {
      for j in 0..<n {
        var sum: T = 0
        for p in 0..<k { sum += a[i * aRow + p * aColumn] * b[p * bRow + j * bColumn] }
        let product = alpha * sum
        c[i * ldc + j] = beta == 0 ? product : product + beta * c[i * ldc + j]
      }
    }
  }
}
