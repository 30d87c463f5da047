/// Turns each sample's `C×H×W` values into a flat vector of `C·H·W`
/// features, in the order `torch.flatten` gives (channel, row, column: the
/// order they are stored in, so the values do not move). Written `flatten`
/// in a model spec, `{"flatten": {}}` in JSON.
public struct Flatten: Layer, Hashable {
  /// The layer (it has no settings).
  public init() {}

  public static let jsonKey = "flatten"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> Flatten? {
    token.lowercased() == jsonKey ? Flatten() : nil
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> Flatten {
    guard json == .object([]) || json == .bool(true) else {
      throw .invalid("flatten has no settings: write {\"flatten\": {}}")
    }
    return Flatten()
  }

  public var description: String { Self.jsonKey }
  public var jsonValue: JSONValue { .object([]) }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape { Shape(flat: input.count) }

  public func flops(input: Shape) -> LayerFLOPs { LayerFLOPs(forward: 0, inputGradient: 0) }

  /// Values stay where they are: in place, forward and backward.
  public var worksInPlace: Bool { true }
  public var backwardReadsOutput: Bool { false }
  public var gradientWorksInPlace: Bool { true }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    if UnsafePointer(buffers.output) != buffers.input {
      buffers.output.update(from: buffers.input, count: rows.count * buffers.inputShape.count)
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    if buffers.inputGradient != buffers.outputGradient {
      buffers.inputGradient.update(from: buffers.outputGradient, count: rows.count * buffers.inputShape.count)
    }
  }
}
