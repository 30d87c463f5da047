/// An element-wise activation function and its derivative.
///
/// Each case's name in a model spec is given by ``Activation/specName``:
/// `sigmoid`, `tanh`, `relu`, `leakyrelu` (slope 0.01, or `leakyrelu0.2`),
/// `gelu` (the exact, erf-based form, as PyTorch's default) and `identity`.
public enum Activation: Sendable, Hashable {
  case sigmoid
  case tanh
  case relu
  /// `x` for `x > 0`, else `slope · x`.
  case leakyReLU(slope: Float)
  /// `x · Φ(x)` with Φ the standard normal distribution function.
  case gelu
  case identity

  /// The name used in model specs and weight files.
  public var specName: String {
    switch self {
    case .sigmoid: "sigmoid"
    case .tanh: "tanh"
    case .relu: "relu"
    case .leakyReLU(let slope): slope == 0.01 ? "leakyrelu" : "leakyrelu\(slope)"
    case .gelu: "gelu"
    case .identity: "identity"
    }
  }

  /// Parses a spec name such as `relu` or `leakyrelu0.2`; `nil` if unknown.
  public init?(specName: String) {
    switch specName.lowercased() {
    case "sigmoid": self = .sigmoid
    case "tanh": self = .tanh
    case "relu": self = .relu
    case "gelu": self = .gelu
    case "identity", "linear": self = .identity
    case "leakyrelu", "leaky_relu", "lrelu": self = .leakyReLU(slope: 0.01)
    case let name where name.hasPrefix("leakyrelu"):
      guard let slope = Float(name.dropFirst("leakyrelu".count)), slope.isFinite, slope >= 0
      else { return nil }
      self = .leakyReLU(slope: slope)
    default: return nil
    }
  }

  /// Applies the function to `count` values from `input` into `output`.
  ///
  /// `input` and `output` may be the same buffer.
  /// - Complexity: O(`count`).
  @inlinable
  public func forward<T: TrainingScalar>(
    _ input: UnsafePointer<T>, _ output: UnsafeMutablePointer<T>, count: Int
  ) {
    switch self {
    case .identity:
      if UnsafePointer(output) != input { output.update(from: input, count: count) }
    case .relu:
      for i in 0..<count { output[i] = max(input[i], 0) }
    case .leakyReLU(let slope):
      let s = T(slope)
      for i in 0..<count { let x = input[i]; output[i] = x > 0 ? x : s * x }
    case .sigmoid:
      T.sigmoid(input, output, count: count)
    case .tanh:
      T.tanh(input, output, count: count)
    case .gelu:
      T.gelu(input, output, count: count)
    }
  }

  /// Multiplies `gradient` in place by the derivative at each point.
  ///
  /// The derivative is taken from the layer's `input` or, where that is
  /// cheaper, its `output` (sigmoid and tanh); both are what ``forward(_:_:count:)`` saw
  /// and produced.
  /// - Complexity: O(`count`).
  @inlinable
  public func backward<T: TrainingScalar>(
    input: UnsafePointer<T>, output: UnsafePointer<T>,
    gradient: UnsafeMutablePointer<T>, count: Int
  ) {
    switch self {
    case .identity:
      return
    case .relu:
      // The derivative at 0 is taken as 0, as PyTorch does.
      T.zeroWhereNotPositive(gradient, input, count: count)
    case .leakyReLU(let slope):
      let s = T(slope)
      for i in 0..<count { gradient[i] *= input[i] > 0 ? 1 : s }
    case .sigmoid:
      for i in 0..<count { let y = output[i]; gradient[i] *= y * (1 - y) }
    case .tanh:
      for i in 0..<count { let y = output[i]; gradient[i] *= 1 - y * y }
    case .gelu:
      T.geluBackward(gradient, input, count: count)
    }
  }

  /// The logistic function, written so that `exp` never overflows.
  @inlinable
  public static func sigmoid<T: TrainingScalar>(_ x: T) -> T {
    if x >= 0 {
      return 1 / (1 + T.exp(-x))
    } else {
      let e = T.exp(x)
      return e / (1 + e)
    }
  }
}
