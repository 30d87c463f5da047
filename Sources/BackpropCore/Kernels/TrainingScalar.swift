#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A floating-point type the engine can train in.
///
/// Training runs in `Float`; `Double` exists so that gradient checks can run
/// the very same layer code in double precision against finite differences.
/// The elementary functions map to the C library, so results are the same as
/// a C program's on the same platform.
public protocol TrainingScalar: BinaryFloatingPoint, BitwiseCopyable, Sendable
where Self.RawSignificand: FixedWidthInteger {
  /// e raised to `x`.
  static func exp(_ x: Self) -> Self
  /// The natural logarithm of `x`.
  static func log(_ x: Self) -> Self
  /// `log(1 + x)`, accurate for small `x`.
  static func log1p(_ x: Self) -> Self

  /// `C = alpha * op(A) * op(B) + beta * C` on row-major matrices (BLAS `gemm`).
  ///
  /// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`,
  /// `ldc` are the row strides of the matrices as stored.
  static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Self, a: UnsafePointer<Self>, lda: Int,
    b: UnsafePointer<Self>, ldb: Int,
    beta: Self, c: UnsafeMutablePointer<Self>, ldc: Int)

  /// `gradient[i] = 0` wherever `input[i]` is not positive (NaN included),
  /// for `i < count`: ReLU's backward.
  static func zeroWhereNotPositive(_ gradient: UnsafeMutablePointer<Self>, _ input: UnsafePointer<Self>, count: Int)

  /// `output[i] = tanh(input[i])` for `i < count` (the buffers may be the same).
  static func tanh(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)
  /// `output[i] = 1 / (1 + exp(-input[i]))` for `i < count` (the buffers may be the same).
  static func sigmoid(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)
  /// `output[i] = gelu(input[i])` for `i < count` (the buffers may be the same).
  static func gelu(_ input: UnsafePointer<Self>, _ output: UnsafeMutablePointer<Self>, count: Int)
  /// `gradient[i] *= gelu′(input[i])` for `i < count`: GELU's backward.
  static func geluBackward(_ gradient: UnsafeMutablePointer<Self>, _ input: UnsafePointer<Self>, count: Int)

  /// A position kept as a value of this type (exact up to 2^24 in `Float`),
  /// converted without going through the generic integer conversion.
  static func storing(position: Int) -> Self
  /// The position a value made by ``storing(position:)`` holds.
  var position: Int { get }

  /// `layer`'s passes in this type (``Layer`` requires each per type).
  static func forward(_ layer: any Layer, _ buffers: LayerBuffers<Self>, rows: Range<Int>, mode: Network.Mode)
  static func inputGradient(_ layer: any Layer, _ buffers: LayerBuffers<Self>, rows: Range<Int>)
  static func batchStatistics(_ layer: any Layer, _ buffers: LayerBuffers<Self>, rows: Range<Int>)
  static func gradientStatistics(_ layer: any Layer, _ buffers: LayerBuffers<Self>, rows: Range<Int>)
  static func parameterGradient(
    _ layer: any Layer, _ buffers: LayerBuffers<Self>, rows: Int, units: Range<Int>, scale: Self,
    into gradient: UnsafeMutablePointer<Self>)
}

extension Float: TrainingScalar {
  @inlinable public static func storing(position: Int) -> Self { Self(Int32(truncatingIfNeeded: position)) }
  @inlinable public var position: Int { Int(Int32(self)) }
  @inlinable public static func exp(_ x: Float) -> Float { expf(x) }
  @inlinable public static func log(_ x: Float) -> Float { logf(x) }
  @inlinable public static func log1p(_ x: Float) -> Float { log1pf(x) }
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    if m * n * k <= SmallGEMM.largestProduct {
      return SmallGEMM.multiply(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
        alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    BLAS.sgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
      alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }

  // Explicit vectors: signs are random, so a branch per element mispredicts
  // half the time, and the compiler turns a plain loop's select back into
  // such a branch (a conditional store). Comparisons on SIMD types are only
  // single instructions for a concrete scalar, hence a member of Float.
  @inlinable
  public static func zeroWhereNotPositive(
    _ gradient: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, count: Int
  ) {
    var i = 0
    while i + 8 <= count {
      let x = UnsafeRawPointer(input + i).loadUnaligned(as: SIMD8<Float>.self)
      var g = UnsafeRawPointer(gradient + i).loadUnaligned(as: SIMD8<Float>.self)
      g.replace(with: 0, where: .!(x .> 0))
      UnsafeMutableRawPointer(gradient + i).storeBytes(of: g, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      if !(input[i] > 0) { gradient[i] = 0 }
      i += 1
    }
  }

  /// Eight at a time (``VectorMath``): a call of `expf` per element was
  /// most of a tanh or sigmoid layer's cost.
  @inlinable
  public static func tanh(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
    VectorMath.map(input, output, count: count, VectorMath.tanh)
  }

  /// Eight at a time (``VectorMath``).
  @inlinable
  public static func sigmoid(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
    VectorMath.map(input, output, count: count, VectorMath.sigmoid)
  }

  /// Eight at a time (``VectorMath``): a call of `erff` per element was
  /// most of a GELU layer's cost.
  @inlinable
  public static func gelu(_ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int) {
    VectorMath.map(input, output, count: count, VectorMath.gelu)
  }

  /// Eight at a time (``VectorMath``).
  @inlinable
  public static func geluBackward(_ gradient: UnsafeMutablePointer<Float>, _ input: UnsafePointer<Float>, count: Int) {
    VectorMath.scale(gradient, by: VectorMath.geluDerivative, at: input, count: count)
  }
}

extension Double: TrainingScalar {
  @inlinable public static func storing(position: Int) -> Self { Self(Int32(truncatingIfNeeded: position)) }
  @inlinable public var position: Int { Int(Int32(self)) }
  @inlinable public static func exp(_ x: Double) -> Double { _cExp(x) }
  @inlinable public static func log(_ x: Double) -> Double { _cLog(x) }
  @inlinable public static func log1p(_ x: Double) -> Double { _cLog1p(x) }
  public static func gemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
    alpha: Double, a: UnsafePointer<Double>, lda: Int,
    b: UnsafePointer<Double>, ldb: Int,
    beta: Double, c: UnsafeMutablePointer<Double>, ldc: Int
  ) {
    if m * n * k <= SmallGEMM.largestProduct {
      return SmallGEMM.multiply(
        transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
        alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    BLAS.dgemm(
      transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
      alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
  }

  // Double only serves gradient checks: the plain loop will do.
  @inlinable
  public static func zeroWhereNotPositive(
    _ gradient: UnsafeMutablePointer<Double>, _ input: UnsafePointer<Double>, count: Int
  ) {
    for i in 0..<count where !(input[i] > 0) { gradient[i] = 0 }
  }

  // Gradient checks want the C library's accuracy: one call per element.
  @inlinable
  public static func tanh(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
    for i in 0..<count { output[i] = _cTanh(input[i]) }
  }

  @inlinable
  public static func sigmoid(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
    for i in 0..<count { output[i] = Activation.sigmoid(input[i]) }
  }

  @inlinable
  public static func gelu(_ input: UnsafePointer<Double>, _ output: UnsafeMutablePointer<Double>, count: Int) {
    let invSqrt2 = 0.70710678118654752440
    for i in 0..<count {
      let x = input[i]
      output[i] = x * (1 + _cErf(x * invSqrt2)) / 2
    }
  }

  @inlinable
  public static func geluBackward(
    _ gradient: UnsafeMutablePointer<Double>, _ input: UnsafePointer<Double>, count: Int
  ) {
    let invSqrt2 = 0.70710678118654752440
    let invSqrt2Pi = 0.39894228040143267794
    for i in 0..<count {
      let x = input[i]
      let cdf = (1 + _cErf(x * invSqrt2)) / 2
      let pdf = invSqrt2Pi * _cExp(-x * x / 2)
      gradient[i] *= cdf + x * pdf
    }
  }
}

// File-scope names for the C library's double functions: inside `extension
// Double` the bare names would resolve to the static members above.
@usableFromInline func _cExp(_ x: Double) -> Double { exp(x) }
@usableFromInline func _cLog(_ x: Double) -> Double { log(x) }
@usableFromInline func _cLog1p(_ x: Double) -> Double { log1p(x) }
@usableFromInline func _cTanh(_ x: Double) -> Double { tanh(x) }
@usableFromInline func _cErf(_ x: Double) -> Double { erf(x) }
@usableFromInline func _cCos(_ x: Double) -> Double { cos(x) }
@usableFromInline func _cPow(_ x: Double, _ y: Double) -> Double { pow(x, y) }
