import Backprop
import Testing
import _BackpropTestSupport

/// Every kind of layer on its own: its passes against finite differences, its
/// parameter gradient cut by units, and its place in both forms of the spec.
@Suite struct LayerTests {
  /// One line per kind of layer (and per variant whose backward differs),
  /// with the shape it receives: odd sizes, strides and padding.
  static let cases: [(layer: any Layer, input: Shape)] = [
    (Dense(inputs: 5, outputs: 19), Shape(flat: 5)),
    (Activation.sigmoid, Shape(flat: 5)), (Activation.tanh, Shape(flat: 5)), (Activation.relu, Shape(flat: 5)),
    (Activation.leakyReLU(slope: 0.2), Shape(flat: 5)), (Activation.gelu, Shape(flat: 5)),
    (Activation.identity, Shape(flat: 5)), (Activation.relu, Shape(channels: 2, height: 3, width: 3)),
    (Dropout(rate: 0.3), Shape(flat: 5)),
    (Convolution(inputChannels: 2, outputChannels: 9, kernel: 3, padding: 1), Shape(channels: 2, height: 5, width: 6)),
    (Convolution(inputChannels: 2, outputChannels: 3, kernel: 3, stride: 2), Shape(channels: 2, height: 7, width: 6)),
    (
      Convolution(inputChannels: 3, outputChannels: 2, kernel: 2, stride: 2, padding: 1),
      Shape(channels: 3, height: 5, width: 4)
    ),
    (
      Convolution(inputChannels: 1, outputChannels: 4, kernel: 5, stride: 3, padding: 2),
      Shape(channels: 1, height: 7, width: 8)
    ),
    (Convolution(inputChannels: 3, outputChannels: 2, kernel: 1), Shape(channels: 3, height: 3, width: 2)),
    (MaxPool(kernel: 2), Shape(channels: 3, height: 6, width: 5)),
    (MaxPool(kernel: 3, stride: 2), Shape(channels: 2, height: 7, width: 6)),
    (MaxPool(kernel: 2, stride: 1), Shape(channels: 1, height: 4, width: 3)),
    (AveragePool(kernel: 2), Shape(channels: 3, height: 5, width: 4)),
    (AveragePool(kernel: 3, stride: 2), Shape(channels: 2, height: 7, width: 6)),
    (GlobalAveragePool(), Shape(channels: 3, height: 4, width: 5)),
    (Flatten(), Shape(channels: 2, height: 3, width: 4)),
    (BatchNorm(features: 3), Shape(channels: 3, height: 2, width: 3)),
    (BatchNorm(features: 5), Shape(flat: 5)),
  ]

  /// The layer's buffers over `rows` rows, in double precision.
  final class Buffers {
    let layer: any Layer
    let rows: Int
    let inputShape: Shape
    let outputShape: Shape
    var parameters: [Double]
    var input: [Double]
    var output: [Double]
    var outputGradient: [Double]
    var inputGradient: [Double]
    var scratch: [Double]
    var temporary: [Double]

    init(_ layer: any Layer, input shape: Shape, rows: Int, seed: UInt64) throws {
      self.layer = layer
      self.rows = rows
      inputShape = shape
      outputShape = try layer.outputShape(input: shape)
      var data = TestData(seed: seed)
      let tensors = layer.parameterTensors(input: shape)
      let count = tensors.last.map { ParameterTensor.offsets(of: tensors).last! + $0.count } ?? 0
      parameters = data.uniform(count)
      // Away from ReLU's kink, where finite differences are meaningless.
      input = data.uniform(rows * shape.count, -2, 2).map { abs($0) < 1e-2 ? 0.5 : $0 }
      output = [Double](repeating: 0, count: rows * outputShape.count)
      outputGradient = data.uniform(rows * outputShape.count)
      inputGradient = [Double](repeating: 0, count: input.count)
      scratch = [Double](repeating: 0, count: rows * layer.scratchCount(input: shape))
      temporary = [Double](repeating: .nan, count: layer.temporaryCount(input: shape) + 1)
    }

    /// Runs `body` with the buffers of all rows.
    func with<R>(_ body: (LayerBuffers<Double>) -> R) -> R {
      parameters.withUnsafeMutableBufferPointer { parameters in
        input.withUnsafeBufferPointer { input in
          output.withUnsafeMutableBufferPointer { output in
            outputGradient.withUnsafeMutableBufferPointer { outputGradient in
              inputGradient.withUnsafeMutableBufferPointer { inputGradient in
                scratch.withUnsafeMutableBufferPointer { scratch in
                  temporary.withUnsafeMutableBufferPointer { temporary in
                    body(
                      LayerBuffers(
                        index: 2, inputShape: inputShape, outputShape: outputShape, input: input.baseAddress!,
                        output: output.baseAddress!, outputGradient: outputGradient.baseAddress!,
                        inputGradient: inputGradient.baseAddress!, scratch: scratch.baseAddress ?? output.baseAddress!,
                        parameters: UnsafePointer(parameters.baseAddress) ?? input.baseAddress!,
                        temporary: temporary.baseAddress!,
                        batchCount: rows))
                  }
                }
              }
            }
          }
        }
      }
    }

    /// Σ output · upstream after a forward pass with these parameters and input.
    func objective(upstream: [Double]) -> Double {
      with {
        layer.batchStatistics($0, rows: 0..<rows)
        layer.forward($0, rows: 0..<rows, mode: .training(seed: 3, step: 1))
      }
      return zip(output, upstream).reduce(0) { $0 + $1.0 * $1.1 }
    }
  }

  /// Each layer with a batch of 4 and of 1.
  static let checks = cases.indices.flatMap { [($0, 4), ($0, 1)] }

  @Test(arguments: checks)
  func gradientsMatchFiniteDifferences(_ index: Int, rows: Int) throws {
    let (layer, shape) = Self.cases[index]
    let buffers = try Buffers(layer, input: shape, rows: rows, seed: UInt64(index))
    let upstream = buffers.outputGradient
    _ = buffers.objective(upstream: upstream)
    buffers.with {
      layer.gradientStatistics($0, rows: 0..<rows)
      layer.inputGradient($0, rows: 0..<rows)
    }
    let numericInput = FiniteDifferences.gradient(
      of: { x in
        buffers.input = x; return buffers.objective(upstream: upstream)
      }, at: buffers.input)
    #expect(FiniteDifferences.worstMismatch(buffers.inputGradient, numericInput) < 1e-5, "\(layer) on \(shape)")

    let tensors = layer.parameterTensors(input: shape)
    guard !tensors.isEmpty else { return }
    let input = buffers.input
    buffers.input = input
    _ = buffers.objective(upstream: upstream)
    buffers.outputGradient = upstream
    buffers.with { layer.gradientStatistics($0, rows: 0..<rows) }
    var gradient = [Double](repeating: 0, count: buffers.parameters.count)
    let units = tensors[0].shape[0]
    buffers.with { layer.parameterGradient($0, rows: rows, units: 0..<units, scale: 1, into: &gradient) }
    let real = zip(ParameterTensor.offsets(of: tensors), tensors).flatMap { $0..<($0 + $1.count) }
    let numeric = FiniteDifferences.gradient(
      of: { p in
        buffers.parameters = p; return buffers.objective(upstream: upstream)
      },
      at: buffers.parameters, indices: real)
    #expect(FiniteDifferences.worstMismatch(gradient, numeric) < 1e-5, "\(layer) on \(shape)")

    // The same gradient cut into runs of units, each written by its own call.
    var pieces = [Double](repeating: 0, count: gradient.count)
    for start in stride(from: 0, to: units, by: 7) {
      buffers.with {
        layer.parameterGradient($0, rows: rows, units: start..<min(units, start + 7), scale: 1, into: &pieces)
      }
    }
    #expect(pieces == gradient)
  }

  @Test(arguments: cases.indices)
  func everyLayerRoundTripsThroughBothFormsOfTheSpec(_ index: Int) throws {
    let (layer, shape) = Self.cases[index]
    let output = try layer.outputShape(input: shape)
    // Images end in flatten and a dense layer, so that every spec has parameters.
    let tail: [any Layer] = (output.isFlat ? [] : [Flatten()]) + [Dense(inputs: output.count, outputs: 2)]
    let spec = try ModelSpec(inputShape: shape, layers: [layer] + tail)
    #expect(try ModelSpec(parsing: spec.description) == spec)
    let json = try ModelSpec(json: JSONValue.parse(Array(spec.json.serialized().utf8)))
    #expect(json == spec)
  }

  @Test func costsComeFromTheLayers() throws {
    // 784-256-relu-10: forward 2·785·256 + 256 + 2·257·10; parameter
    // gradients the same less relu; input gradients of relu and the last layer.
    let spec = try ModelSpec(parsing: "784-256-relu-10")
    #expect(spec.inferenceFLOPsPerSample == 2 * 785 * 256 + 256 + 2 * 257 * 10)
    #expect(
      spec.trainingFLOPsPerSample
        == spec.inferenceFLOPsPerSample + 2 * 785 * 256 + 2 * 257 * 10 + 256 + 2 * 256 * 10)
  }
}

/// Max pooling's vector path for 2×2 windows (training's `Float`) against a
/// plain reading of PyTorch's rule: ties keep the first position, a NaN wins.
@Suite struct MaxPoolFloatTests {
  @Test(arguments: [(3, 6, 20), (1, 5, 17), (2, 4, 34), (1, 2, 2)])
  func twoByTwoWindowsAgreeWithThePlainRule(channels: Int, height: Int, width: Int) throws {
    let shape = Shape(channels: channels, height: height, width: width)
    let layer = MaxPool(kernel: 2)
    let output = try layer.outputShape(input: shape)
    var data = TestData(seed: UInt64(width))
    // Few distinct values: many ties; and a NaN.
    var input = data.uniform(2 * shape.count).prefix(2 * shape.count).map { Float(($0 * 3).rounded()) }
    input[7] = .nan
    var values = [Float](repeating: 0, count: 2 * output.count)
    var positions = [Float](repeating: 0, count: 2 * output.count)
    var unused = [Float](repeating: 0, count: 2 * shape.count)
    var temporary: [Float] = [0]
    input.withUnsafeBufferPointer { input in
      values.withUnsafeMutableBufferPointer { values in
        positions.withUnsafeMutableBufferPointer { positions in
          unused.withUnsafeMutableBufferPointer { unused in
            temporary.withUnsafeMutableBufferPointer { temporary in
              layer.forward(
                LayerBuffers(
                  index: 0, inputShape: shape, outputShape: output, input: input.baseAddress!,
                  output: values.baseAddress!, outputGradient: unused.baseAddress!, inputGradient: unused.baseAddress!,
                  scratch: positions.baseAddress!, parameters: input.baseAddress!, temporary: temporary.baseAddress!),
                rows: 0..<2, mode: .inference)
            }
          }
        }
      }
    }
    for map in 0..<(2 * channels) {
      for y in 0..<output.height {
        for x in 0..<output.width {
          var (best, at) = (-Float.infinity, 2 * y * width + 2 * x)
          for (i, j) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
            let position = (2 * y + i) * width + 2 * x + j
            let value = input[map * height * width + position]
            if value > best || value.isNaN { (best, at) = (value, position) }
          }
          let k = map * output.height * output.width + y * output.width + x
          #expect(values[k] == best || (values[k].isNaN && best.isNaN), "map \(map) (\(y), \(x))")
          #expect(positions[k] == Float(at), "map \(map) (\(y), \(x))")
        }
      }
    }
  }
}
