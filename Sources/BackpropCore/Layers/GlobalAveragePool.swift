/// Global average pooling: each channel's mean over the whole image, as
/// PyTorch's `nn.AdaptiveAvgPool2d(1)`. The output is `C×1×1`, as there;
/// a `flatten` turns it into the `C` features a dense layer takes. Written
/// `gap` in a model spec, `{"gap": {}}` in JSON.
public struct GlobalAveragePool: Layer, Hashable {
  /// The layer (it has no settings).
  public init() {}

  public static let jsonKey = "gap"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> GlobalAveragePool? {
    token.lowercased() == jsonKey ? GlobalAveragePool() : nil
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> GlobalAveragePool {
    guard json == .object([]) || json == .bool(true) else {
      throw .invalid("global average pooling has no settings: write {\"gap\": {}}")
    }
    return GlobalAveragePool()
  }

  public var description: String { Self.jsonKey }
  public var jsonValue: JSONValue { .object([]) }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    guard !input.isFlat else {
      throw .invalid("global average pooling takes an image (channels × height × width), not a flat input")
    }
    return Shape(channels: input.channels, height: 1, width: 1)
  }

  /// An addition per value forward, a multiplication per value backward.
  public func flops(input: Shape) -> LayerFLOPs {
    LayerFLOPs(forward: input.count + input.channels, inputGradient: input.count)
  }

  public var worksInPlace: Bool { false }
  public var backwardReadsOutput: Bool { false }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    let plane = buffers.inputShape.height * buffers.inputShape.width
    for map in 0..<(rows.count * buffers.inputShape.channels) {
      let values = buffers.input + map * plane
      var sum = T.zero
      for k in 0..<plane { sum += values[k] }
      buffers.output[map] = sum / T(plane)
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let plane = buffers.inputShape.height * buffers.inputShape.width
    for map in 0..<(rows.count * buffers.inputShape.channels) {
      let share = buffers.outputGradient[map] / T(plane)
      (buffers.inputGradient + map * plane).update(repeating: share, count: plane)
    }
  }
}
