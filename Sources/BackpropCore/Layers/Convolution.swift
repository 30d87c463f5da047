/// A 2-D convolution with bias over images stored channel-major (NCHW), as
/// PyTorch's `nn.Conv2d`: square kernel, stride, zero padding. Written in a
/// model spec as `conv<C>k<K>[s<S>][p<P>]` (`conv32k5p2`: 32 output channels,
/// 5×5 kernels, stride 1, 2 zeros of padding), in JSON as
/// `{"conv": {"channels": 32, "kernel": 5, "stride": 1, "padding": 2}}`.
///
/// Each sample runs on oneDNN's kernels or as im2col and one matrix product
/// (``ConvolutionKernels``; `Double` always takes im2col). Under im2col its
/// input is unrolled into a `(C·K·K) × (H′·W′)` matrix of patches in the
/// worker's working space, and `W [out, C·K·K]` times it gives the output.
/// The weight gradient unrolls the sample again (a matrix that stays in cache
/// costs less than one kept for the whole batch, and nothing is kept per
/// sample); the input gradient goes back through the same space (col2im).
public struct Convolution: Layer, Hashable {
  /// The input's channels.
  public let inputChannels: Int
  /// The output's channels (the layer's units).
  public let outputChannels: Int
  /// The side of the square kernel.
  public let kernel: Int
  /// The step between windows.
  public let stride: Int
  /// The zeros added at each side of the input.
  public let padding: Int
  /// The kernels this layer runs in `Float`, or nil to follow
  /// ``ConvolutionKernels/selected`` (as layers from a spec do).
  public private(set) var kernels: ConvolutionKernels?

  /// A convolution from `inputChannels` to `outputChannels`.
  public init(inputChannels: Int, outputChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0) {
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
  }

  /// This layer running `kernels` whatever the process selects.
  public func using(_ kernels: ConvolutionKernels) -> Convolution {
    var layer = self
    layer.kernels = kernels
    return layer
  }

  private var window: Window { Window(kernel: kernel, stride: stride, padding: padding) }

  public static let jsonKey = "conv"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> Convolution? {
    guard
      let parts = try LayerToken.parse(token, kind: "conv", letters: ["k", "s", "p"], example: "conv32k5s1p2")
    else { return nil }
    guard let kernel = parts.fields["k"] else {
      throw .invalid("'\(token)': a convolution needs its kernel size, as in conv32k5 (32 channels, 5×5)")
    }
    return Convolution(
      inputChannels: input.channels, outputChannels: parts.lead, kernel: kernel, stride: parts.fields["s"] ?? 1,
      padding: parts.fields["p"] ?? 0)
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> Convolution {
    let example = "{\"conv\": {\"channels\": 32, \"kernel\": 5, \"stride\": 1, \"padding\": 2}}"
    guard case .object(let members) = json else { throw .invalid("a convolution is written as \(example)") }
    let keys = ["channels", "kernel", "stride", "padding"]
    if let unknown = members.first(where: { !keys.contains($0.0) }) {
      throw .invalid("unknown key \"\(unknown.0)\" in a convolution (it takes \(keys.joined(separator: ", ")))")
    }
    func number(_ key: String, default value: Int?) throws(ModelSpecError) -> Int {
      guard let given = json[key] else {
        guard let value else { throw .invalid("a convolution needs \"\(key)\", as \(example)") }
        return value
      }
      guard let number = given.integerValue, number >= 0 else {
        throw .invalid("a convolution's \"\(key)\" must be a whole number, as \(example)")
      }
      return number
    }
    return Convolution(
      inputChannels: input.channels, outputChannels: try number("channels", default: nil),
      kernel: try number("kernel", default: nil), stride: try number("stride", default: 1),
      padding: try number("padding", default: 0))
  }

  public var description: String {
    "conv\(outputChannels)k\(kernel)" + (stride == 1 ? "" : "s\(stride)") + (padding == 0 ? "" : "p\(padding)")
  }

  public var jsonValue: JSONValue {
    .object([
      ("channels", .integer(outputChannels)), ("kernel", .integer(kernel)), ("stride", .integer(stride)),
      ("padding", .integer(padding)),
    ])
  }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    guard outputChannels > 0 else { throw .invalid("a convolution needs at least 1 output channel") }
    let (height, width) = try window.outputSize(input: input, layer: "convolution")
    guard input.channels == inputChannels else {
      throw .invalid("a convolution made for \(inputChannels) channels receives \(input.channels)")
    }
    // Sizes come from users and files: the products are checked here, once.
    let limit = ModelSpec.maximumParameters
    let sizes = [inputChannels, kernel, kernel, outputChannels, height, width]
    guard sizes.allSatisfy({ $0 <= limit }),
      case (let patch, false) = inputChannels.multipliedReportingOverflow(by: kernel * kernel), patch <= limit,
      case (let weights, false) = patch.multipliedReportingOverflow(by: outputChannels), weights <= limit,
      case (let columns, false) = patch.multipliedReportingOverflow(by: height * width), columns <= limit / 2,
      case (let outputs, false) = outputChannels.multipliedReportingOverflow(by: height * width), outputs <= limit
    else {
      throw .invalid("the convolution is too large (more than 2^40 weights or values per sample)")
    }
    return Shape(channels: outputChannels, height: height, width: width)
  }

  public func parameterTensors(input: Shape) -> [ParameterTensor] {
    [
      ParameterTensor(name: "weight", shape: [outputChannels, inputChannels, kernel, kernel]),
      ParameterTensor(name: "bias", shape: [outputChannels]),
    ]
  }

  /// The length of one kernel (a row of the weight matrix, a column of patches).
  private var patchSize: Int { inputChannels * kernel * kernel }

  /// Where the bias starts, counted from the weights' start.
  private var biasOffset: Int { ParameterLayout.aligned(patchSize * outputChannels) }

  public func initialize(
    _ parameters: UnsafeMutablePointer<Float>, input: Shape, initializer: Initializer, gain: Double,
    generator: inout SeededGenerator
  ) {
    // PyTorch's fans for a convolution: channels × the kernel's area.
    initializer.drawWeights(
      parameters, count: patchSize * outputChannels, fanIn: patchSize, fanOut: outputChannels * kernel * kernel,
      gain: gain, generator: &generator)
    initializer.drawBias(parameters + biasOffset, count: outputChannels, fanIn: patchSize, generator: &generator)
  }

  /// 2 per multiply-add of the product in each pass, and the bias.
  public func flops(input: Shape) -> LayerFLOPs {
    let positions = (window.positions(over: input.height) ?? 0) * (window.positions(over: input.width) ?? 0)
    let product = 2 * patchSize * outputChannels * positions
    return LayerFLOPs(
      forward: product + outputChannels * positions, inputGradient: product,
      parameterGradient: product + outputChannels * positions)
  }

  public var worksInPlace: Bool { false }
  public var backwardReadsOutput: Bool { false }

  /// One sample's patch matrix, or its gradient; or oneDNN's copies of one sample.
  public func temporaryCount(input: Shape) -> Int {
    let patches = patchSize * (window.positions(over: input.height) ?? 0) * (window.positions(over: input.width) ?? 0)
    return max(patches, oneDNN(input: input)?.temporaryFloats ?? 0)
  }

  /// oneDNN's primitives for this layer over `input`, where oneDNN runs it.
  /// The working space counts them whatever the selection, which may change
  /// after a workspace is made.
  private func oneDNN(input: Shape) -> OneDNNConvolution? {
    #if canImport(CDNNL)
      return OneDNNConvolution.plan(for: self, input: input)
    #else
      return nil
    #endif
  }

  /// The kernels of each pass over `input` under the selected
  /// ``ConvolutionKernels``: `im2col`, or oneDNN's name for its kernel (such
  /// as `jit:avx512_core`). For `--profile`.
  public func kernelNames(input: Shape) -> (forward: String, inputGradient: String, parameterGradient: String) {
    let selected = kernels ?? ConvolutionKernels.selected
    #if canImport(CDNNL)
      if let plan = oneDNN(input: input) {
        func name(_ pass: OneDNNConvolution.Pass) -> String {
          plan.runs(pass, under: selected) ? "oneDNN " + plan.implementations[pass.rawValue] : "im2col"
        }
        return (name(.forward), name(.inputGradient), name(.parameterGradient))
      }
    #endif
    return ("im2col", "im2col", "im2col")
  }

  /// oneDNN's plan and the worker's lane where `pass` runs there for these buffers.
  private func oneDNN<T>(_ pass: OneDNNConvolution.Pass, _ buffers: LayerBuffers<T>) -> (
    OneDNNConvolution, OneDNNConvolution.Lane, LayerBuffers<Float>
  )? {
    #if canImport(CDNNL)
      guard T.self == Float.self, let plan = oneDNN(input: buffers.inputShape),
        plan.runs(pass, under: kernels ?? ConvolutionKernels.selected),
        let lane = plan.lane(for: UnsafeMutableRawPointer(buffers.temporary).assumingMemoryBound(to: Float.self))
      else { return nil }
      return (plan, lane, unsafeBitCast(buffers, to: LayerBuffers<Float>.self))
    #else
      return nil
    #endif
  }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    if let (plan, lane, floats) = oneDNN(.forward, buffers),
      plan.forward(floats, rows: rows.count, lane: lane, biasOffset: biasOffset)
    {
      return
    }
    let geometry = Geometry(self, buffers)
    let bias = buffers.parameters + biasOffset
    for row in 0..<rows.count {
      let patches = buffers.temporary
      geometry.unroll(buffers.input + row * geometry.inputCount, into: patches)
      let output = buffers.output + row * geometry.outputCount
      for channel in 0..<outputChannels {
        (output + channel * geometry.positions).update(repeating: bias[channel], count: geometry.positions)
      }
      T.gemm(
        transposeA: false, transposeB: false, m: outputChannels, n: geometry.positions, k: patchSize,
        alpha: 1, a: buffers.parameters, lda: patchSize, b: patches, ldb: geometry.positions,
        beta: 1, c: output, ldc: geometry.positions)
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    if let (plan, lane, floats) = oneDNN(.inputGradient, buffers),
      plan.inputGradient(floats, rows: rows.count, lane: lane)
    {
      return
    }
    let geometry = Geometry(self, buffers)
    for row in 0..<rows.count {
      // dPatches = Wᵀ · dY, then each patch value goes back to its pixel.
      let patchGradient = buffers.temporary
      T.gemm(
        transposeA: true, transposeB: false, m: patchSize, n: geometry.positions, k: outputChannels,
        alpha: 1, a: buffers.parameters, lda: patchSize,
        b: buffers.outputGradient + row * geometry.outputCount, ldb: geometry.positions,
        beta: 0, c: patchGradient, ldc: geometry.positions)
      geometry.fold(patchGradient, into: buffers.inputGradient + row * geometry.inputCount)
    }
  }

  @_specialize(where T == Float)
  public func parameterGradient<T: TrainingScalar>(
    _ buffers: LayerBuffers<T>, rows: Int, units: Range<Int>, scale: T, into gradient: UnsafeMutablePointer<T>
  ) {
    precondition(
      units.lowerBound >= 0 && units.upperBound <= outputChannels, "units \(units) outside 0..<\(outputChannels)")
    guard !units.isEmpty else { return }
    // oneDNN computes every unit's gradient at once: a slice of them stays with im2col.
    if units == 0..<outputChannels, let (plan, lane, floats) = oneDNN(.parameterGradient, buffers),
      plan.parameterGradient(
        floats, rows: rows, scale: unsafeBitCast(scale, to: Float.self),
        weights: UnsafeMutableRawPointer(gradient).assumingMemoryBound(to: Float.self),
        bias: UnsafeMutableRawPointer(gradient + biasOffset).assumingMemoryBound(to: Float.self), lane: lane)
    {
      return
    }
    let geometry = Geometry(self, buffers)
    let positions = geometry.positions
    let weights = gradient + units.lowerBound * patchSize
    let biasGradient = gradient + biasOffset + units.lowerBound
    weights.update(repeating: 0, count: units.count * patchSize)
    biasGradient.update(repeating: 0, count: units.count)
    // dW[units] = scale · Σ_samples dY[units] · patchesᵀ, samples added in order.
    for row in 0..<rows {
      geometry.unroll(buffers.input + row * geometry.inputCount, into: buffers.temporary)
      let delta = UnsafePointer(buffers.outputGradient + row * geometry.outputCount + units.lowerBound * positions)
      T.gemm(
        transposeA: false, transposeB: true, m: units.count, n: patchSize, k: positions,
        alpha: scale, a: delta, lda: positions, b: buffers.temporary, ldb: positions,
        beta: 1, c: weights, ldc: patchSize)
      for unit in 0..<units.count {
        var sum = T.zero
        for position in 0..<positions { sum += delta[unit * positions + position] }
        biasGradient[unit] += sum
      }
    }
    if scale != 1 {
      for unit in 0..<units.count { biasGradient[unit] *= scale }
    }
  }

  /// The sizes of one pass, and the moves between an image and its patches.
  private struct Geometry {
    let channels: Int, height: Int, width: Int
    let outputHeight: Int, outputWidth: Int
    let kernel: Int, stride: Int, padding: Int
    var positions: Int { outputHeight * outputWidth }
    var inputCount: Int { channels * height * width }
    let outputCount: Int

    init<T>(_ layer: Convolution, _ buffers: LayerBuffers<T>) {
      (channels, height, width) = (buffers.inputShape.channels, buffers.inputShape.height, buffers.inputShape.width)
      (outputHeight, outputWidth) = (buffers.outputShape.height, buffers.outputShape.width)
      (kernel, stride, padding) = (layer.kernel, layer.stride, layer.padding)
      outputCount = buffers.outputShape.count
    }

    /// The output columns `first..<end` whose input column `o·stride − padding + offset` lies in the image.
    @inline(__always)
    private func validColumns(offset: Int) -> Range<Int> {
      let shift = offset - padding
      let first = shift >= 0 ? 0 : (-shift + stride - 1) / stride
      let end = width - 1 - shift < 0 ? 0 : min(outputWidth, (width - 1 - shift) / stride + 1)
      return first..<max(first, end)
    }

    /// im2col: row `(c·K + i)·K + j` of the patches holds input channel `c`
    /// shifted by `(i, j)` at every output position (0 in the padding).
    @inline(__always)
    func unroll<T: TrainingScalar>(_ image: UnsafePointer<T>, into patches: UnsafeMutablePointer<T>) {
      var line = patches
      for channel in 0..<channels {
        let plane = image + channel * height * width
        for i in 0..<kernel {
          for j in 0..<kernel {
            let columns = validColumns(offset: j)
            // Plain loops, not memset and memcpy: rows are a few dozen values.
            for y in 0..<outputHeight {
              let out = line + y * outputWidth
              let source = y * stride - padding + i
              guard source >= 0, source < height, !columns.isEmpty else {
                for x in 0..<outputWidth { out[x] = 0 }
                continue
              }
              for x in 0..<columns.lowerBound { out[x] = 0 }
              // Output column x reads input column x·stride − padding + j.
              let from = plane + source * width - padding + j
              if stride == 1 {
                for x in columns { out[x] = from[x] }
              } else {
                for x in columns { out[x] = from[x * stride] }
              }
              for x in columns.upperBound..<outputWidth { out[x] = 0 }
            }
            line += positions
          }
        }
      }
    }

    /// col2im: the image's gradient as the sum of each patch value's
    /// gradient at the pixel it was read from (padding dropped).
    @inline(__always)
    func fold<T: TrainingScalar>(_ patches: UnsafePointer<T>, into image: UnsafeMutablePointer<T>) {
      image.update(repeating: 0, count: inputCount)
      var line = patches
      for channel in 0..<channels {
        let plane = image + channel * height * width
        for i in 0..<kernel {
          for j in 0..<kernel {
            let columns = validColumns(offset: j)
            for y in 0..<outputHeight {
              let target = y * stride - padding + i
              guard target >= 0, target < height else { continue }
              let from = line + y * outputWidth
              let to = plane + target * width - padding + j
              if stride == 1 {
                for x in columns { to[x] += from[x] }
              } else {
                for x in columns { to[x * stride] += from[x] }
              }
            }
            line += positions
          }
        }
      }
    }
  }
}
