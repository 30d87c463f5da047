import Backprop
import Testing
import _BackpropTestSupport

/// Every kind of layer on its own: its passes against finite differences, its
/// parameter gradient cut by units, and its place in both forms of the spec.
@Suite struct LayerTests {
  /// One line per kind of layer (and per variant whose backward differs).
  static let layers: [any Layer] = [
    Dense(inputs: 5, outputs: 19),
    Activation.sigmoid, Activation.tanh, Activation.relu, Activation.leakyReLU(slope: 0.2), Activation.gelu,
    Activation.identity,
    Dropout(rate: 0.3),
  ]

  static let input = Shape(flat: 5)

  /// The layer's buffers over `rows` rows, in double precision.
  final class Buffers {
    let layer: any Layer
    let rows: Int
    let outputShape: Shape
    var parameters: [Double]
    var input: [Double]
    var output: [Double]
    var outputGradient: [Double]
    var inputGradient: [Double]
    var scratch: [Double]

    init(_ layer: any Layer, rows: Int, seed: UInt64) throws {
      self.layer = layer
      self.rows = rows
      outputShape = try layer.outputShape(input: LayerTests.input)
      var data = TestData(seed: seed)
      let tensors = layer.parameterTensors(input: LayerTests.input)
      let count = tensors.last.map { ParameterTensor.offsets(of: tensors).last! + $0.count } ?? 0
      parameters = data.uniform(count)
      // Away from ReLU's kink, where finite differences are meaningless.
      input = data.uniform(rows * LayerTests.input.count, -2, 2).map { abs($0) < 1e-2 ? 0.5 : $0 }
      output = [Double](repeating: 0, count: rows * outputShape.count)
      outputGradient = data.uniform(rows * outputShape.count)
      inputGradient = [Double](repeating: 0, count: input.count)
      scratch = [Double](repeating: 0, count: rows * layer.scratchCount(input: LayerTests.input))
    }

    /// Runs `body` with the buffers of all rows.
    func with<R>(_ body: (LayerBuffers<Double>) -> R) -> R {
      parameters.withUnsafeBufferPointer { parameters in
        input.withUnsafeBufferPointer { input in
          output.withUnsafeMutableBufferPointer { output in
            outputGradient.withUnsafeMutableBufferPointer { outputGradient in
              inputGradient.withUnsafeMutableBufferPointer { inputGradient in
                scratch.withUnsafeMutableBufferPointer { scratch in
                  body(
                    LayerBuffers(
                      index: 2, inputShape: LayerTests.input, outputShape: outputShape, input: input.baseAddress!,
                      output: output.baseAddress!, outputGradient: outputGradient.baseAddress!,
                      inputGradient: inputGradient.baseAddress!, scratch: scratch.baseAddress ?? output.baseAddress!,
                      parameters: parameters.baseAddress ?? input.baseAddress!))
                }
              }
            }
          }
        }
      }
    }

    /// Σ output · upstream after a forward pass with these parameters and input.
    func objective(upstream: [Double]) -> Double {
      with { layer.forward($0, rows: 0..<rows, mode: .training(seed: 3, step: 1)) }
      return zip(output, upstream).reduce(0) { $0 + $1.0 * $1.1 }
    }
  }

  @Test(arguments: layers.indices)
  func gradientsMatchFiniteDifferences(_ index: Int) throws {
    let layer = Self.layers[index]
    let buffers = try Buffers(layer, rows: 4, seed: UInt64(index))
    let upstream = buffers.outputGradient
    _ = buffers.objective(upstream: upstream)
    buffers.with { layer.inputGradient($0, rows: 0..<4) }
    let numericInput = FiniteDifferences.gradient(
      of: { x in
        buffers.input = x; return buffers.objective(upstream: upstream)
      }, at: buffers.input)
    #expect(FiniteDifferences.worstMismatch(buffers.inputGradient, numericInput) < 1e-5, "\(layer)")

    let tensors = layer.parameterTensors(input: Self.input)
    guard !tensors.isEmpty else { return }
    let input = buffers.input
    buffers.input = input
    _ = buffers.objective(upstream: upstream)
    buffers.outputGradient = upstream
    var gradient = [Double](repeating: 0, count: buffers.parameters.count)
    let units = tensors[0].shape[0]
    buffers.with { layer.parameterGradient($0, rows: 4, units: 0..<units, scale: 1, into: &gradient) }
    let real = zip(ParameterTensor.offsets(of: tensors), tensors).flatMap { $0..<($0 + $1.count) }
    let numeric = FiniteDifferences.gradient(
      of: { p in
        buffers.parameters = p; return buffers.objective(upstream: upstream)
      },
      at: buffers.parameters, indices: real)
    #expect(FiniteDifferences.worstMismatch(gradient, numeric) < 1e-5, "\(layer)")

    // The same gradient cut into runs of units, each written by its own call.
    var pieces = [Double](repeating: 0, count: gradient.count)
    for start in stride(from: 0, to: units, by: 7) {
      buffers.with {
        layer.parameterGradient($0, rows: 4, units: start..<min(units, start + 7), scale: 1, into: &pieces)
      }
    }
    #expect(pieces == gradient)
  }

  @Test(arguments: layers.indices)
  func everyLayerRoundTripsThroughBothFormsOfTheSpec(_ index: Int) throws {
    let layer = Self.layers[index]
    let head = layer.hasParameters(input: Self.input) ? [] : [Dense(inputs: 5, outputs: 5) as any Layer]
    let spec = try ModelSpec(inputShape: Self.input, layers: head + [layer])
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
