import Backprop
import Testing
import _BackpropTestSupport

/// oneDNN's convolution kernels and im2col's, in `Float`, against im2col in
/// `Double` (which LayerTests checks against finite differences): the three
/// passes over strides, paddings, odd sizes, channel counts that are not
/// multiples of oneDNN's blocks, and a slice of units.
@Suite struct ConvolutionKernelsTests {
  /// (input shape, layer token): each pass of each is compared.
  static let cases: [(String, String)] = [
    ("1x12x12", "conv32k5p2"), ("3x9x7", "conv5k3s2p1"), ("16x8x8", "conv20k3p1"), ("32x14x14", "conv64k5p2"),
    ("2x6x6", "conv4k1"), ("4x11x11", "conv17k4s3p2"), ("24x5x5", "conv48k5"),
  ]

  /// One layer's buffers for `rows` samples, filled from `seed`.
  struct Pass<T: TrainingScalar & BinaryFloatingPoint> {
    let layer: Convolution
    let rows: Int
    let inputShape: Shape, outputShape: Shape
    var parameters: [T], input: [T], output: [T], outputGradient: [T], inputGradient: [T], gradient: [T]
    var temporary: [T]

    init(_ layer: Convolution, input shape: Shape, rows: Int, seed: UInt64) throws {
      self.layer = layer
      self.rows = rows
      inputShape = shape
      outputShape = try layer.outputShape(input: shape)
      var data = TestData(seed: seed)
      let tensors = layer.parameterTensors(input: shape)
      let count = ParameterTensor.offsets(of: tensors).last! + tensors.last!.count
      parameters = data.uniform(count).map { T($0) }
      input = data.uniform(rows * shape.count, -2, 2).map { T($0) }
      outputGradient = data.uniform(rows * outputShape.count).map { T($0) }
      output = [T](repeating: 0, count: rows * outputShape.count)
      inputGradient = [T](repeating: 0, count: input.count)
      gradient = [T](repeating: 0, count: count)
      // Left-over values in the working space must not matter.
      temporary = [T](repeating: .nan, count: layer.temporaryCount(input: shape))
    }

    /// Runs the three passes (the weight gradient over `units`, scaled by ½).
    mutating func run(units: Range<Int>) {
      let (layer, rows, inputShape, outputShape) = (self.layer, self.rows, self.inputShape, self.outputShape)
      parameters.withUnsafeBufferPointer { parameters in
        input.withUnsafeBufferPointer { input in
          output.withUnsafeMutableBufferPointer { output in
            outputGradient.withUnsafeMutableBufferPointer { outputGradient in
              inputGradient.withUnsafeMutableBufferPointer { inputGradient in
                gradient.withUnsafeMutableBufferPointer { gradient in
                  temporary.withUnsafeMutableBufferPointer { temporary in
                    let buffers = LayerBuffers(
                      index: 0, inputShape: inputShape, outputShape: outputShape, input: input.baseAddress!,
                      output: output.baseAddress!, outputGradient: outputGradient.baseAddress!,
                      inputGradient: inputGradient.baseAddress!, scratch: output.baseAddress!,
                      parameters: parameters.baseAddress!, temporary: temporary.baseAddress!)
                    layer.forward(buffers, rows: 0..<rows, mode: .inference)
                    layer.inputGradient(buffers, rows: 0..<rows)
                    layer.parameterGradient(
                      buffers, rows: rows, units: units, scale: 0.5, into: gradient.baseAddress!)
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// The largest difference between `values` and `reference`, relative to the reference's largest magnitude.
  static func difference(_ values: some Collection<Float>, _ reference: some Collection<Double>) -> Double {
    let scale = max(reference.map(abs).max() ?? 0, 1)
    return zip(values, reference).map { abs(Double($0) - $1) }.max().map { $0 / scale } ?? 0
  }

  @Test(arguments: ConvolutionKernelsTests.cases, [ConvolutionKernels.onednn, .im2col, .auto])
  func floatPassesMatchDoubleIm2col(layerCase: (String, String), kernels: ConvolutionKernels) throws {
    let (shape, token) = layerCase
    let inputShape = try #require(try Shape(parsing: shape))
    let layer = try #require(try Convolution.parse(token: token, input: inputShape))
    var reference = try Pass<Double>(layer.using(.im2col), input: inputShape, rows: 3, seed: 7)
    var float = try Pass<Float>(layer.using(kernels), input: inputShape, rows: 3, seed: 7)
    let all = 0..<layer.outputChannels
    reference.run(units: all)
    float.run(units: all)
    #expect(!float.output.contains { !$0.isFinite })
    #expect(Self.difference(float.output, reference.output) < 1e-5, "forward, \(kernels)")
    #expect(Self.difference(float.inputGradient, reference.inputGradient) < 1e-5, "input gradient, \(kernels)")
    #expect(Self.difference(float.gradient, reference.gradient) < 1e-5, "weight gradient, \(kernels)")

    // A slice of units (unit-slices' weight gradient) gives the same rows of it.
    let slice = 1..<max(2, layer.outputChannels / 2)
    var part = try Pass<Float>(layer.using(kernels), input: inputShape, rows: 3, seed: 7)
    part.run(units: slice)
    let patch = layer.inputChannels * layer.kernel * layer.kernel
    let weights = (slice.lowerBound * patch)..<(slice.upperBound * patch)
    #expect(Self.difference(part.gradient[weights], reference.gradient[weights]) < 1e-5, "a slice, \(kernels)")
  }

  @Test func profileNamesTheKernelsOfEachPass() throws {
    let layer = Convolution(inputChannels: 32, outputChannels: 64, kernel: 5, padding: 2)
    let shape = Shape(channels: 32, height: 14, width: 14)
    let im2col = layer.using(.im2col).kernelNames(input: shape)
    #expect([im2col.forward, im2col.inputGradient, im2col.parameterGradient] == ["im2col", "im2col", "im2col"])
    if ConvolutionKernels.oneDNNAvailable {
      let oneDNN = layer.using(.onednn).kernelNames(input: shape)
      for name in [oneDNN.forward, oneDNN.inputGradient, oneDNN.parameterGradient] {
        #expect(name.hasPrefix("oneDNN "), "\(name)")
      }
    }
  }
}
