/// 2-D average pooling, as PyTorch's `nn.AvgPool2d` (no padding, floor
/// mode): each output value is the mean of its window. Written `avgpool2`
/// or `avgpool3s2` in a model spec, `{"avgpool": 2}` in JSON.
public struct AveragePool: Layer, Hashable {
  /// The side of the square window.
  public var kernel: Int { window.kernel }
  /// The step between windows.
  public var stride: Int { window.stride }
  private let window: PoolingWindow

  /// Average pooling over `kernel`×`kernel` windows, `stride` apart (`kernel` when not given).
  public init(kernel: Int, stride: Int? = nil) {
    window = PoolingWindow(kernel: kernel, stride: stride ?? kernel)
  }

  public static let jsonKey = "avgpool"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> AveragePool? {
    try PoolingWindow.parse(token: token, name: jsonKey).map { AveragePool(kernel: $0.kernel, stride: $0.stride) }
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> AveragePool {
    let window = try PoolingWindow.parse(json: json, name: jsonKey)
    return AveragePool(kernel: window.kernel, stride: window.stride)
  }

  public var description: String { window.description(name: Self.jsonKey) }
  public var jsonValue: JSONValue { window.jsonValue }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    try window.outputShape(input: input, layer: "average pooling layer")
  }

  /// An addition per window value and a multiplication per output, each way.
  public func flops(input: Shape) -> LayerFLOPs {
    let outputs = (try? outputShape(input: input).count) ?? 0
    return LayerFLOPs(forward: outputs * (kernel * kernel + 1), inputGradient: outputs * (kernel * kernel + 1))
  }

  public var worksInPlace: Bool { false }
  public var backwardReadsOutput: Bool { false }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    let (input, output) = (buffers.inputShape, buffers.outputShape)
    let plane = input.height * input.width
    let area = T(kernel * kernel)
    for row in 0..<rows.count {
      for channel in 0..<input.channels {
        let image = buffers.input + (row * input.channels + channel) * plane
        let values = buffers.output + (row * output.channels + channel) * output.height * output.width
        for y in 0..<output.height {
          for x in 0..<output.width {
            var sum = T.zero
            for i in (y * stride)..<(y * stride + kernel) {
              for j in (x * stride)..<(x * stride + kernel) { sum += image[i * input.width + j] }
            }
            values[y * output.width + x] = sum / area
          }
        }
      }
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let (input, output) = (buffers.inputShape, buffers.outputShape)
    let plane = input.height * input.width
    let area = T(kernel * kernel)
    buffers.inputGradient.update(repeating: 0, count: rows.count * input.count)
    for row in 0..<rows.count {
      for channel in 0..<input.channels {
        let image = buffers.inputGradient + (row * input.channels + channel) * plane
        let gradient = buffers.outputGradient + (row * output.channels + channel) * output.height * output.width
        for y in 0..<output.height {
          for x in 0..<output.width {
            let share = gradient[y * output.width + x] / area
            for i in (y * stride)..<(y * stride + kernel) {
              for j in (x * stride)..<(x * stride + kernel) { image[i * input.width + j] += share }
            }
          }
        }
      }
    }
  }
}
