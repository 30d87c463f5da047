/// One layer of a sequential network, as `torch.nn.Sequential` would list it.
///
/// Layers hold no parameters themselves: a dense layer's weights and bias are
/// views into the network's one flat parameter vector (see ``ParameterLayout``).
public enum Layer: Sendable, Hashable {
  /// A fully connected layer `y = x · Wᵀ + b`, with `W` stored `[outputs, inputs]`
  /// row-major as PyTorch's `nn.Linear` stores it.
  case dense(inputs: Int, outputs: Int)
  /// An element-wise activation.
  case activation(Activation)
  /// Inverted dropout: while training, each value is zeroed with probability
  /// `rate` and the rest are scaled by `1 / (1 - rate)`; the identity otherwise.
  case dropout(rate: Float)

  /// Whether the layer may overwrite its input with its output: its backward
  /// needs only the output (sigmoid, tanh), the output's sign (ReLU and
  /// leaky ReLU with a non-negative slope, whose outputs are positive exactly
  /// where their inputs are), or its own mask (dropout); GELU's needs its input.
  public var worksInPlace: Bool {
    switch self {
    case .dense, .activation(.gelu): false
    case .activation, .dropout: true
    }
  }

  /// How many parameters the layer owns (weights then bias).
  public var parameterCount: Int {
    if case .dense(let inputs, let outputs) = self { return inputs * outputs + outputs }
    return 0
  }
}

/// The architecture of a sequential network: its input width and its layers.
///
/// The textual form lists layer widths with the activation after each layer,
/// for example `784-256-relu-128-relu-10`; `dropout0.2` (or `dropout`, for 0.5)
/// inserts a dropout layer. ``description`` gives the same form back.
public struct ModelSpec: Sendable, Hashable, CustomStringConvertible {
  /// The number of features each sample has.
  public let inputWidth: Int
  /// The layers in order.
  public let layers: [Layer]

  /// Creates a spec from its layers, checking that widths chain.
  ///
  /// - Throws: ``ModelSpecError`` if there is no dense layer or widths do not chain.
  public init(inputWidth: Int, layers: [Layer]) throws(ModelSpecError) {
    guard inputWidth > 0 else { throw .invalid("the input width must be positive") }
    var width = inputWidth
    for layer in layers {
      switch layer {
      case .dense(let inputs, let outputs):
        guard inputs == width else {
          throw .invalid("a dense layer takes \(inputs) inputs but receives \(width)")
        }
        guard outputs > 0 else { throw .invalid("layer widths must be positive") }
        width = outputs
      case .dropout(let rate):
        guard rate >= 0, rate < 1 else {
          throw .invalid("dropout rate \(rate) is not in [0, 1)")
        }
      case .activation: break
      }
    }
    guard layers.contains(where: { if case .dense = $0 { true } else { false } }) else {
      throw .invalid("a model needs at least one layer after its input width")
    }
    // Widths come from users and files: their products are checked here,
    // once, so that every later count (layout, buffers, FLOPs) fits an Int.
    var total = 0
    for case .dense(let inputs, let outputs) in layers {
      guard let count = ModelSpec.checkedParameters(inputs: inputs, outputs: outputs),
        case (let sum, false) = total.addingReportingOverflow(count), sum <= ModelSpec.maximumParameters
      else {
        throw .invalid(
          "the model has more than \(ModelSpec.maximumParameters) parameters (2^40; a layer of \(inputs) × \(outputs) is too wide)"
        )
      }
      total = sum
    }
    self.inputWidth = inputWidth
    self.layers = layers
  }

  /// The most parameters a model may have (2^40, 4 TiB of `Float`s), so that
  /// every size derived from the spec fits an `Int` with room to spare.
  public static let maximumParameters = 1 << 40

  /// `inputs × outputs + outputs`, padded to the layout's alignment; `nil`
  /// when it overflows.
  static func checkedParameters(inputs: Int, outputs: Int) -> Int? {
    let (weights, overflow) = inputs.multipliedReportingOverflow(by: outputs)
    guard !overflow, weights <= maximumParameters, outputs <= maximumParameters else { return nil }
    return ParameterLayout.aligned(weights) + ParameterLayout.aligned(outputs)
  }

  /// Parses the textual form, such as `784-256-relu-128-relu-10`.
  ///
  /// - Throws: ``ModelSpecError`` naming the token that is wrong.
  public init(parsing text: String) throws(ModelSpecError) {
    let tokens = text.split(separator: "-", omittingEmptySubsequences: false).map {
      $0.trimmingWhitespace()
    }
    guard let first = tokens.first, let input = Int(first), input > 0 else {
      throw .invalid("'\(text)' must start with the input width, as in 784-256-relu-10")
    }
    var layers: [Layer] = []
    var width = input
    for token in tokens.dropFirst() {
      if token.isEmpty {
        throw .invalid("'\(text)' has an empty part (two dashes in a row, or one at an end)")
      } else if !token.isEmpty, token.allSatisfy({ $0.isASCII && $0.isNumber }), Int(token) == nil {
        throw .invalid("layer width '\(token)' in '\(text)' is too large")
      } else if let outputs = Int(token) {
        guard outputs > 0 else { throw .invalid("layer width '\(token)' in '\(text)' must be positive") }
        layers.append(.dense(inputs: width, outputs: outputs))
        width = outputs
      } else if let activation = Activation(specName: token) {
        layers.append(.activation(activation))
      } else if token.lowercased().hasPrefix("dropout") {
        let rest = token.dropFirst("dropout".count)
        guard let rate = rest.isEmpty ? 0.5 : Float(rest), rate >= 0, rate < 1 else {
          throw .invalid("'\(token)' in '\(text)': a dropout rate must be in [0, 1), as in dropout0.2")
        }
        layers.append(.dropout(rate: rate))
      } else {
        throw .invalid(
          "unknown layer '\(token)' in '\(text)' (widths are integers; activations: sigmoid, tanh, relu, leakyrelu, gelu, identity; dropout0.2)"
        )
      }
    }
    try self.init(inputWidth: input, layers: layers)
  }

  /// The width of the network's output.
  public var outputWidth: Int {
    var width = inputWidth
    for case .dense(_, let outputs) in layers { width = outputs }
    return width
  }

  /// The widest activation any layer produces (the input included).
  public var maximumWidth: Int {
    layers.reduce(inputWidth) { width, layer in
      if case .dense(_, let outputs) = layer { return max(width, outputs) }
      return width
    }
  }

  /// The textual form, such as `784-256-relu-128-relu-10`.
  public var description: String {
    var parts = [String(inputWidth)]
    for layer in layers {
      switch layer {
      case .dense(_, let outputs): parts.append(String(outputs))
      case .activation(let activation): parts.append(activation.specName)
      case .dropout(let rate): parts.append("dropout\(rate)")
      }
    }
    return parts.joined(separator: "-")
  }

  /// Whether any layer behaves differently in training (dropout).
  public var hasDropout: Bool {
    layers.contains { if case .dropout = $0 { return true } else { return false } }
  }
}

/// A model spec that cannot be built.
public enum ModelSpecError: Error, Sendable, Equatable, CustomStringConvertible {
  case invalid(String)

  public var description: String {
    switch self {
    case .invalid(let message): "invalid model spec: \(message)"
    }
  }
}

extension Substring {
  func trimmingWhitespace() -> String {
    var view = self[...]
    while let c = view.first, c.isWhitespace { view = view.dropFirst() }
    while let c = view.last, c.isWhitespace { view = view.dropLast() }
    return String(view)
  }
}
