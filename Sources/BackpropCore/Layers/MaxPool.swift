/// 2-D max pooling, as PyTorch's `nn.MaxPool2d` (no padding, floor mode):
/// each output value is the largest of its window, the first one found
/// (row by row) when several tie, NaN when one is NaN. Written `maxpool2` or
/// `maxpool3s2` in a model spec, `{"maxpool": 2}` in JSON.
///
/// Forward keeps where each maximum was (its index in the channel's plane)
/// in the scratch space; backward sends each output's gradient there.
public struct MaxPool: Layer, Hashable {
  /// The side of the square window.
  public var kernel: Int { window.kernel }
  /// The step between windows.
  public var stride: Int { window.stride }
  private let window: PoolingWindow

  /// Max pooling over `kernel`×`kernel` windows, `stride` apart (`kernel` when not given).
  public init(kernel: Int, stride: Int? = nil) {
    window = PoolingWindow(kernel: kernel, stride: stride ?? kernel)
  }

  public static let jsonKey = "maxpool"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> MaxPool? {
    try PoolingWindow.parse(token: token, name: jsonKey).map { MaxPool(kernel: $0.kernel, stride: $0.stride) }
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> MaxPool {
    let window = try PoolingWindow.parse(json: json, name: jsonKey)
    return MaxPool(kernel: window.kernel, stride: window.stride)
  }

  public var description: String { window.description(name: Self.jsonKey) }
  public var jsonValue: JSONValue { window.jsonValue }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    let output = try window.outputShape(input: input, layer: "max pooling layer")
    // Positions are kept as values of the training type: Float counts exactly to 2^24.
    guard input.height * input.width <= 1 << 24 else {
      throw .invalid("max pooling takes images of at most 2^24 pixels per channel")
    }
    return output
  }

  /// A comparison per window value forward, an addition per output backward.
  public func flops(input: Shape) -> LayerFLOPs {
    let outputs = (try? outputShape(input: input).count) ?? 0
    return LayerFLOPs(forward: outputs * kernel * kernel, inputGradient: outputs)
  }

  public var worksInPlace: Bool { false }
  public var backwardReadsOutput: Bool { false }

  /// Where each output's maximum was.
  public func scratchCount(input: Shape) -> Int { (try? outputShape(input: input).count) ?? 0 }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    let (input, output) = (buffers.inputShape, buffers.outputShape)
    let plane = input.height * input.width
    for row in 0..<rows.count {
      for channel in 0..<input.channels {
        let image = buffers.input + (row * input.channels + channel) * plane
        let offset = (row * output.channels + channel) * output.height * output.width
        let (values, positions) = (buffers.output + offset, buffers.scratch + offset)
        if kernel == 2, stride == 2, T.self == Float.self {
          MaxPool.twoByTwo(
            UnsafeRawPointer(image).assumingMemoryBound(to: Float.self), width: input.width,
            into: UnsafeMutableRawPointer(values).assumingMemoryBound(to: Float.self),
            positions: UnsafeMutableRawPointer(positions).assumingMemoryBound(to: Float.self),
            outputHeight: output.height, outputWidth: output.width)
          continue
        }
        for y in 0..<output.height {
          for x in 0..<output.width {
            // Starting from the window's first value is PyTorch's start
            // (−∞ at the first position) for every value it can hold.
            let corner = (y * input.width + x) * stride
            var (best, position) = (image[corner], corner)
            for i in 0..<kernel {
              let line = corner + i * input.width
              for j in 0..<kernel {
                let value = image[line + j]
                // As PyTorch: a strictly larger value or a NaN takes the
                // place. Selects, not a branch: on real data a branch per
                // value is a coin toss.
                let takes = value > best || value != value
                best = takes ? value : best
                position = takes ? line + j : position
              }
            }
            values[y * output.width + x] = best
            positions[y * output.width + x] = T.storing(position: position)
          }
        }
      }
    }
  }

  /// The common 2×2 windows 2 apart over one channel, eight outputs at a
  /// time with vector selects: the compiler turns the scalar loop's select
  /// into a branch, which real data makes a coin toss. The same order and
  /// rule as the scalar loop: (0,0), (0,1), (1,0), (1,1); strictly larger or NaN wins.
  private static func twoByTwo(
    _ image: UnsafePointer<Float>, width: Int, into values: UnsafeMutablePointer<Float>,
    positions: UnsafeMutablePointer<Float>, outputHeight: Int, outputWidth: Int
  ) {
    let corners = SIMD8<Float>(0, 2, 4, 6, 8, 10, 12, 14)
    for y in 0..<outputHeight {
      let top = image + 2 * y * width
      var x = 0
      while x < outputWidth {
        // Eight outputs read 16 values of each row: 2·x + 16 ≤ 2·outputWidth ≤ width.
        // A last, shorter chunk reads only its own values (the rest are 0 and unused).
        let count = min(8, outputWidth - x)
        var upper = SIMD16<Float>(repeating: 0)
        var lower = SIMD16<Float>(repeating: 0)
        if count == 8 {
          upper = UnsafeRawPointer(top + 2 * x).loadUnaligned(as: SIMD16<Float>.self)
          lower = UnsafeRawPointer(top + width + 2 * x).loadUnaligned(as: SIMD16<Float>.self)
        } else {
          let bytes = 2 * count * MemoryLayout<Float>.stride
          withUnsafeMutableBytes(of: &upper) {
            $0.copyMemory(from: UnsafeRawBufferPointer(start: top + 2 * x, count: bytes))
          }
          withUnsafeMutableBytes(of: &lower) {
            $0.copyMemory(from: UnsafeRawBufferPointer(start: top + width + 2 * x, count: bytes))
          }
        }
        var best = upper.evenHalf
        var shift = SIMD8<Float>(repeating: 0)
        func consider(_ candidate: SIMD8<Float>, _ offset: Float) {
          let takes = (candidate .> best) .| (candidate .!= candidate)
          best.replace(with: candidate, where: takes)
          shift.replace(with: offset, where: takes)
        }
        consider(upper.oddHalf, 1)
        consider(lower.evenHalf, Float(width))
        consider(lower.oddHalf, Float(width + 1))
        let place = SIMD8<Float>(repeating: Float(2 * y * width + 2 * x)) + corners + shift
        if count == 8 {
          UnsafeMutableRawPointer(values + y * outputWidth + x).storeBytes(of: best, as: SIMD8<Float>.self)
          UnsafeMutableRawPointer(positions + y * outputWidth + x).storeBytes(of: place, as: SIMD8<Float>.self)
        } else {
          let bytes = count * MemoryLayout<Float>.stride
          withUnsafeBytes(of: best) {
            UnsafeMutableRawPointer(values + y * outputWidth + x).copyMemory(from: $0.baseAddress!, byteCount: bytes)
          }
          withUnsafeBytes(of: place) {
            UnsafeMutableRawPointer(positions + y * outputWidth + x).copyMemory(from: $0.baseAddress!, byteCount: bytes)
          }
        }
        x += count
      }
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let (input, output) = (buffers.inputShape, buffers.outputShape)
    let plane = input.height * input.width
    let outputPlane = output.height * output.width
    buffers.inputGradient.update(repeating: 0, count: rows.count * input.count)
    for row in 0..<rows.count {
      for channel in 0..<input.channels {
        let image = buffers.inputGradient + (row * input.channels + channel) * plane
        let offset = (row * output.channels + channel) * outputPlane
        for k in 0..<outputPlane {
          image[buffers.scratch[offset + k].position] += buffers.outputGradient[offset + k]
        }
      }
    }
  }
}
