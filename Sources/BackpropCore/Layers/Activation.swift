/// An element-wise activation function and its derivative.
///
/// Each case's name in a model spec is given by ``Activation/specName``:
/// `sigmoid`, `tanh`, `relu`, `leakyrelu` (slope 0.01, or `leakyrelu0.2`),
/// `gelu` (the exact, erf-based form, as PyTorch's default) and `identity`;
/// in JSON, `{"activation": "relu"}`. As a layer it keeps the shape it
/// receives and works in place except for GELU, whose backward needs its input.
public enum Activation: Layer, Hashable {
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

// The layer: shapes, cost and the passes over a workspace's rows.
extension Activation {
  public static let jsonKey = "activation"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> Activation? {
    Activation(specName: token)
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> Activation {
    guard let name = json.stringValue, let activation = Activation(specName: name) else {
      throw .invalid(
        "an activation is one of sigmoid, tanh, relu, leakyrelu, gelu, identity, as {\"activation\": \"relu\"}")
    }
    return activation
  }

  public var description: String { specName }

  public var jsonValue: JSONValue { .string(specName) }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape { input }

  /// `torch.nn.init.calculate_gain`: √2 for ReLU, √(2 / (1 + slope²)) for
  /// leaky ReLU, 5/3 for tanh, 1 otherwise.
  public var gainForPrecedingLayer: Double {
    switch self {
    case .relu: 2.0.squareRoot()
    case .leakyReLU(let slope): (2 / (1 + Double(slope) * Double(slope))).squareRoot()
    case .tanh: 5.0 / 3.0
    case .sigmoid, .gelu, .identity: 1
    }
  }

  /// One operation per value each way (none for the identity).
  public func flops(input: Shape) -> LayerFLOPs {
    self == .identity
      ? LayerFLOPs(forward: 0, inputGradient: 0) : LayerFLOPs(forward: input.count, inputGradient: input.count)
  }

  /// Its backward needs only the output (sigmoid, tanh) or the output's
  /// sign (ReLU and leaky ReLU with a non-negative slope, whose outputs are
  /// positive exactly where their inputs are); GELU's needs its input.
  public var worksInPlace: Bool { self != .gelu }

  /// The gradient is multiplied by the derivative value by value.
  public var gradientWorksInPlace: Bool { true }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    forward(buffers.input, buffers.output, count: rows.count * buffers.inputShape.count)
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let count = rows.count * buffers.inputShape.count
    if buffers.inputGradient != buffers.outputGradient {
      buffers.inputGradient.update(from: buffers.outputGradient, count: count)
    }
    backward(input: buffers.input, output: buffers.output, gradient: buffers.inputGradient, count: count)
  }
}
