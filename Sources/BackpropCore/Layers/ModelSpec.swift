/// The architecture of a sequential network: the shape of its input and its
/// layers.
///
/// The textual form starts with the input's width or image shape, then lists
/// the layers: widths with the activation after each layer, for example
/// `784-256-relu-128-relu-10`; `dropout0.2` (or `dropout`, for 0.5) inserts a
/// dropout layer; an image model such as
/// `1x28x28-conv32k5p2-relu-maxpool2-flatten-10` adds convolutions,
/// pooling, `gap`, `bn` and `flatten`. Each token is read by the first of
/// ``layerTypes`` that knows it. ``description`` gives the same form back.
public struct ModelSpec: Sendable, Hashable, CustomStringConvertible {
  /// The kinds of layer a spec may name, in the order their parsers are tried.
  public static let layerTypes: [any Layer.Type] = [
    Dense.self, Activation.self, Dropout.self, Convolution.self, MaxPool.self, AveragePool.self,
    GlobalAveragePool.self, Flatten.self, BatchNorm.self,
  ]

  /// The shape of one sample's features.
  public let inputShape: Shape
  /// The layers in order.
  public let layers: [any Layer]
  /// The shape each layer receives, then the network's output shape
  /// (`layers.count + 1` shapes).
  public let shapes: [Shape]

  /// Creates a spec from its layers, checking that shapes chain.
  ///
  /// - Throws: ``ModelSpecError`` if no layer has parameters, a layer cannot
  ///   take what the one before gives, or the model is too large.
  public init(inputShape: Shape, layers: [any Layer]) throws(ModelSpecError) {
    guard inputShape.channels > 0, inputShape.height > 0, inputShape.width > 0 else {
      throw .invalid("the input width must be positive")
    }
    var shapes = [inputShape]
    // Counts come from users and files: they are checked here, once, so
    // that every later count (layout, buffers, FLOPs) fits an Int.
    var total = 0
    for layer in layers {
      let input = shapes[shapes.count - 1]
      let output = try layer.outputShape(input: input)
      for tensor in layer.parameterTensors(input: input) {
        guard case (let sum, false) = total.addingReportingOverflow(ParameterLayout.aligned(tensor.count)),
          sum <= ModelSpec.maximumParameters
        else {
          throw .invalid("the model has more than \(ModelSpec.maximumParameters) parameters (2^40)")
        }
        total = sum
      }
      shapes.append(output)
    }
    guard zip(layers, shapes).contains(where: { $0.hasParameters(input: $1) }) else {
      throw .invalid("a model needs at least one layer after its input width")
    }
    self.inputShape = inputShape
    self.layers = layers
    self.shapes = shapes
  }

  /// Creates a spec for flat inputs of `inputWidth` features.
  public init(inputWidth: Int, layers: [any Layer]) throws(ModelSpecError) {
    try self.init(inputShape: Shape(flat: inputWidth), layers: layers)
  }

  /// The most parameters a model may have (2^40, 4 TiB of `Float`s), so that
  /// every size derived from the spec fits an `Int` with room to spare.
  public static let maximumParameters = 1 << 40

  /// Parses the textual form, such as `784-256-relu-128-relu-10`.
  ///
  /// - Throws: ``ModelSpecError`` naming the token that is wrong.
  public init(parsing text: String) throws(ModelSpecError) {
    let tokens = text.split(separator: "-", omittingEmptySubsequences: false).map {
      $0.trimmingWhitespace()
    }
    let input: Shape
    do throws(ModelSpecError) {
      guard let first = tokens.first, let shape = try Shape(parsing: first) else {
        throw ModelSpecError.invalid(
          "'\(text)' must start with the input width or image shape, as in 784-256-relu-10 or 1x28x28-conv32k5-relu-flatten-10"
        )
      }
      input = shape
    } catch { throw .invalid("\(error.message) in '\(text)'") }
    var layers: [any Layer] = []
    var shape = input
    for token in tokens.dropFirst() {
      guard !token.isEmpty else {
        throw .invalid("'\(text)' has an empty part (two dashes in a row, or one at an end)")
      }
      let layer: (any Layer)?
      do { layer = try ModelSpec.parse(token: token, input: shape) } catch {
        throw .invalid("\(error.message) in '\(text)'")
      }
      guard let layer else {
        throw .invalid(
          "unknown layer '\(token)' in '\(text)' (widths are integers; activations: sigmoid, tanh, relu, leakyrelu, gelu, identity; dropout0.2; conv32k5s1p2, maxpool2, avgpool2, gap, bn, flatten)"
        )
      }
      do { shape = try layer.outputShape(input: shape) } catch {
        throw .invalid("'\(token)' takes \(shape) values per sample: \(error.message), in '\(text)'")
      }
      layers.append(layer)
    }
    try self.init(inputShape: input, layers: layers)
  }

  /// The first of ``layerTypes`` that reads `token`, or `nil`.
  private static func parse(token: String, input: Shape) throws(ModelSpecError) -> (any Layer)? {
    for type in layerTypes {
      if let layer = try type.parse(token: token, input: input) { return layer }
    }
    return nil
  }

  /// The number of features each sample has.
  public var inputWidth: Int { inputShape.count }

  /// The width of the network's output.
  public var outputWidth: Int { shapes[shapes.count - 1].count }

  /// The most values any layer receives or produces per sample.
  public var maximumWidth: Int { shapes.map(\.count).max()! }

  /// The textual form, such as `784-256-relu-128-relu-10`.
  public var description: String {
    ([inputShape.description] + layers.map(\.description)).joined(separator: "-")
  }

  /// The index of the first layer with parameters: back-propagation stops
  /// there unless the gradient with respect to the input is asked for.
  public var firstLayerWithParameters: Int {
    layers.indices.first { layers[$0].hasParameters(input: shapes[$0]) }!
  }

  /// The floating-point operations of one training sample: forward, the
  /// parameter gradients, and the input gradients of every layer above the
  /// first with parameters (below it nothing needs them). For dense layers
  /// alone this is 6·P less the first layer's input gradient.
  public var trainingFLOPsPerSample: Int {
    let first = firstLayerWithParameters
    return layers.indices.reduce(0) { sum, index in
      let cost = layers[index].flops(input: shapes[index])
      return sum + cost.forward + cost.parameterGradient + (index > first ? cost.inputGradient : 0)
    }
  }

  /// The floating-point operations of scoring one sample (forward only).
  public var inferenceFLOPsPerSample: Int {
    layers.indices.reduce(0) { $0 + layers[$1].flops(input: shapes[$1]).forward }
  }

  // Two specs are the same model when their textual forms are: the form
  // names every layer and its settings.
  public static func == (lhs: ModelSpec, rhs: ModelSpec) -> Bool { lhs.description == rhs.description }
  public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

/// A model spec that cannot be built.
public enum ModelSpecError: Error, Sendable, Equatable, CustomStringConvertible {
  case invalid(String)

  public var description: String {
    switch self {
    case .invalid(let message): "invalid model spec: \(message)"
    }
  }

  /// The message without the "invalid model spec" prefix.
  var message: String {
    switch self {
    case .invalid(let message): message
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
