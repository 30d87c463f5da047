/// `exp`, `tanh`, the logistic function, `erf` and GELU on eight floats at a
/// time, for the activations of whole layers.
///
/// The C library's `expf` and `erff` are a call per element: in a model with
/// tanh and sigmoid layers of 512 units they and the loops around them took
/// 14% of a training step, with GELU layers 23%. These are plain polynomial
/// kernels (Cephes' `expf` reduction and polynomial; `erf` fitted here) in
/// additions, multiplications and bit operations only, which the compiler
/// keeps in vector registers even for the baseline x86-64 target. Against
/// double precision they are within 1 ulp (`exp`), 2 (`tanh`), 3
/// (`sigmoid`) and 2.5 (`erf`) of the exact results; the C library's are
/// within 1.
///
/// Every element goes through the same operations wherever it sits in the
/// buffer (a short tail is padded to a full vector), so results do not depend
/// on a batch's length or alignment. NaN stays NaN.
public enum VectorMath {
  /// e raised to each lane of `x`; inputs are clamped to [-87.3, 88.3], so
  /// results stay normal and finite (below e⁻⁸⁷ the result is e⁻⁸⁷·³, above,
  /// e⁸⁸·³), and NaN gives NaN.
  @inlinable
  public static func exp(_ x: SIMD8<Float>) -> SIMD8<Float> {
    var clamped = x
    clamped.replace(with: -87.33654, where: x .< -87.33654)
    clamped.replace(with: 88.37626, where: x .> 88.37626)
    // n = round(x / ln 2): adding 1.5·2²³ leaves n in the low bits of the sum.
    let magic = SIMD8<Float>(repeating: 12_582_912)
    let shifted = clamped * 1.442_695_04 + magic
    let n = shifted - magic
    // r = x − n·ln 2 in two parts (Cody–Waite), so r is nearly exact.
    var r = clamped - n * 0.693_359_375
    r = r - n * -2.121_944_4e-4
    var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
    p = p * r + 1.398_199_95e-3
    p = p * r + 8.333_451_9e-3
    p = p * r + 4.166_579_59e-2
    p = p * r + 1.666_666_55e-1
    p = p * r + 5.000_000_12e-1
    let y = p * (r * r) + r + 1
    // 2ⁿ from the exponent bits: n is within [-126, 127], so 2ⁿ is normal.
    let integer = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- unsafeBitCast(magic, to: SIMD8<Int32>.self)
    let scale = unsafeBitCast((integer &+ 127) &<< 23, to: SIMD8<Float>.self)
    var result = y * scale
    result.replace(with: x, where: x .!= x)
    return result
  }

  /// The hyperbolic tangent of each lane: a Taylor polynomial below 0.5 in
  /// magnitude, else 1 − 2 / (e^{2|x|} + 1), which has no cancellation there.
  @inlinable
  public static func tanh(_ x: SIMD8<Float>) -> SIMD8<Float> {
    let magnitude = x.replacing(with: -x, where: x .< 0)
    let large = 1 - 2 / (exp(2 * magnitude) + 1)
    // The Taylor series to x¹⁵: below 0.5 the next term is under 1e-8 of the result.
    let s = x * x
    var p = SIMD8<Float>(repeating: 929_569.0 / 638_512_875.0)
    p = p * s - 21_844.0 / 6_081_075.0
    p = p * s + 1_382.0 / 155_925.0
    p = p * s - 62.0 / 2_835.0
    p = p * s + 17.0 / 315.0
    p = p * s - 2.0 / 15.0
    p = p * s + 1.0 / 3.0
    var result = x - x * s * p
    result.replace(with: large.replacing(with: -large, where: x .< 0), where: .!(magnitude .< 0.5))
    result.replace(with: x, where: x .!= x)
    return result
  }

  /// The error function of each lane: u·P(u²) below 1 in magnitude, and
  /// 1 − e^(−u²)·Q(u) from 1 to 4, with sign, where P fits erf(u)/u and Q
  /// fits erfc(u)·e^(u²) (least squares for relative error on Chebyshev
  /// points, `tools/fit_erf.py`); beyond 4, erf rounds to ±1 in single
  /// precision. Within 2.5 ulp of the exact result (the C library's `erff`:
  /// 1).
  @inlinable
  public static func erf(_ x: SIMD8<Float>) -> SIMD8<Float> {
    erfAndGaussian(x).erf
  }

  /// erf(x) and e^(−x²) of each lane: `erf` needs the second from 1 up,
  /// and GELU's derivative needs both, so one `exp` serves the two.
  @inlinable
  static func erfAndGaussian(_ x: SIMD8<Float>) -> (erf: SIMD8<Float>, gaussian: SIMD8<Float>) {
    let magnitude = x.replacing(with: -x, where: x .< 0)
    let s = x * x
    var p = SIMD8<Float>(repeating: -0.000_562_539_9)
    p = p * s + 0.004_916_026_7
    p = p * s - 0.026_709_955
    p = p * s + 0.112_801_306
    p = p * s - 0.376_123_2
    p = p * s + 1.128_379_1
    let small = x * p
    // Q is fitted up to 4; beyond, e^(−x²)·Q(4) is below half an ulp of 1.
    let u = magnitude.replacing(with: 4, where: magnitude .> 4)
    let z = (u - 2.5) * (2.0 / 3.0)
    var q = SIMD8<Float>(repeating: 8.639_155_6e-05)
    q = q * z - 0.000_243_512_01
    q = q * z + 0.000_392_559_77
    q = q * z - 0.000_919_990_3
    q = q * z + 0.002_404_657
    q = q * z - 0.005_608_494_4
    q = q * z + 0.012_491_443
    q = q * z - 0.026_998_68
    q = q * z + 0.056_110_06
    q = q * z - 0.111_521_33
    q = q * z + 0.210_806_37
    let gaussian = exp(-(magnitude * magnitude))
    let large = 1 - gaussian * q
    var result = large.replacing(with: -large, where: x .< 0)
    result.replace(with: small, where: magnitude .< 1)
    result.replace(with: x, where: x .!= x)
    return (result, gaussian)
  }

  /// GELU, x·Φ(x) with Φ the standard normal distribution function
  /// (1 + erf(x/√2)) / 2, of each lane.
  @inlinable
  public static func gelu(_ x: SIMD8<Float>) -> SIMD8<Float> {
    x * (1 + erf(x * 0.707_106_77)) * 0.5
  }

  /// GELU's derivative Φ(x) + x·φ(x) of each lane, φ the standard normal
  /// density.
  @inlinable
  public static func geluDerivative(_ x: SIMD8<Float>) -> SIMD8<Float> {
    // One exp for both: e^(−x²/2) is e^(−u²) at u = x/√2.
    let (erf, gaussian) = erfAndGaussian(x * 0.707_106_77)
    return (1 + erf) * 0.5 + x * gaussian * 0.398_942_28
  }

  /// The logistic function 1 / (1 + e⁻ˣ) of each lane (exp's clamping keeps
  /// every step finite).
  @inlinable
  public static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
    1 / (1 + exp(-x))
  }

  /// `gradient[i] *= derivative(input[i])` for `i < count`, eight at a time.
  @inlinable
  public static func scale(
    _ gradient: UnsafeMutablePointer<Float>, by derivative: (SIMD8<Float>) -> SIMD8<Float>,
    at input: UnsafePointer<Float>, count: Int
  ) {
    forEachVector(count: count) { i, lanes in
      let d = derivative(load(input + i, lanes: lanes))
      store(load(gradient + i, lanes: lanes) * d, to: gradient + i, lanes: lanes)
    }
  }

  /// `output[i] = function(input[i])` for `i < count`, eight at a time.
  /// `input` and `output` may be the same buffer.
  @inlinable
  public static func map(
    _ input: UnsafePointer<Float>, _ output: UnsafeMutablePointer<Float>, count: Int,
    _ function: (SIMD8<Float>) -> SIMD8<Float>
  ) {
    forEachVector(count: count) { i, lanes in
      store(function(load(input + i, lanes: lanes)), to: output + i, lanes: lanes)
    }
  }

  /// Calls `body(i, lanes)` for the vectors of `count` elements: eight lanes
  /// each, and the last few through a zero-padded vector, so every element
  /// goes through the same operations wherever it sits.
  @inlinable
  static func forEachVector(count: Int, _ body: (_ start: Int, _ lanes: Int) -> Void) {
    var i = 0
    while i < count {
      body(i, min(8, count - i))
      i += 8
    }
  }

  /// The first `lanes` floats at `pointer`, the other lanes zero.
  @inlinable
  static func load(_ pointer: UnsafePointer<Float>, lanes: Int) -> SIMD8<Float> {
    if lanes == 8 { return UnsafeRawPointer(pointer).loadUnaligned(as: SIMD8<Float>.self) }
    var vector = SIMD8<Float>()
    for lane in 0..<lanes { vector[lane] = pointer[lane] }
    return vector
  }

  /// Writes the first `lanes` lanes of `vector` to `pointer`.
  @inlinable
  static func store(_ vector: SIMD8<Float>, to pointer: UnsafeMutablePointer<Float>, lanes: Int) {
    if lanes == 8 { return UnsafeMutableRawPointer(pointer).storeBytes(of: vector, as: SIMD8<Float>.self) }
    for lane in 0..<lanes { pointer[lane] = vector[lane] }
  }
}
