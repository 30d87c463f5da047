/// A fully connected layer `y = x · Wᵀ + b`, with `W` stored `[outputs, inputs]`
/// row-major as PyTorch's `nn.Linear` stores it. Written in a model spec as
/// its width (`256`), in JSON as `{"dense": 256}`.
public struct Dense: Layer, Hashable {
  /// The number of input features.
  public let inputs: Int
  /// The number of outputs (units).
  public let outputs: Int

  /// A dense layer from `inputs` features to `outputs` units.
  public init(inputs: Int, outputs: Int) {
    self.inputs = inputs
    self.outputs = outputs
  }

  public static let jsonKey = "dense"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> Dense? {
    guard !token.isEmpty, token.allSatisfy({ $0.isASCII && $0.isNumber }) else { return nil }
    guard let outputs = Int(token) else { throw .invalid("layer width '\(token)' is too large") }
    guard outputs > 0 else { throw .invalid("layer width '\(token)' must be positive") }
    return Dense(inputs: input.count, outputs: outputs)
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> Dense {
    guard let outputs = json.integerValue, outputs > 0 else {
      throw .invalid("a dense layer's width must be a positive integer, as {\"dense\": 64}")
    }
    return Dense(inputs: input.count, outputs: outputs)
  }

  public var description: String { String(outputs) }

  public var jsonValue: JSONValue { .integer(outputs) }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    guard input.isFlat else {
      throw .invalid("a dense layer takes a flat input; put 'flatten' (or 'gap-flatten') before it")
    }
    guard inputs == input.count else {
      throw .invalid("a dense layer takes \(inputs) inputs but receives \(input.count)")
    }
    guard outputs > 0 else { throw .invalid("layer widths must be positive") }
    // Widths come from users and files: the product is checked here, once,
    // so that every later count (layout, buffers, FLOPs) fits an Int.
    let (weights, overflow) = inputs.multipliedReportingOverflow(by: outputs)
    guard !overflow, weights <= ModelSpec.maximumParameters, outputs <= ModelSpec.maximumParameters else {
      throw .invalid(
        "the model has more than \(ModelSpec.maximumParameters) parameters (2^40; a layer of \(inputs) × \(outputs) is too wide)"
      )
    }
    return Shape(flat: outputs)
  }

  public func parameterTensors(input: Shape) -> [ParameterTensor] {
    [ParameterTensor(name: "weight", shape: [outputs, inputs]), ParameterTensor(name: "bias", shape: [outputs])]
  }

  /// Where the bias starts, counted from the weights' start.
  private var biasOffset: Int { ParameterLayout.aligned(inputs * outputs) }

  public func initialize(
    _ parameters: UnsafeMutablePointer<Float>, input: Shape, initializer: Initializer, gain: Double,
    generator: inout SeededGenerator
  ) {
    initializer.drawWeights(
      parameters, count: inputs * outputs, fanIn: inputs, fanOut: outputs, gain: gain, generator: &generator)
    initializer.drawBias(parameters + biasOffset, count: outputs, fanIn: inputs, generator: &generator)
  }

  /// 2 per weight and bias in each pass (the field's 6·P convention).
  public func flops(input: Shape) -> LayerFLOPs {
    let perPass = 2 * (inputs + 1) * outputs
    return LayerFLOPs(forward: perPass, inputGradient: 2 * inputs * outputs, parameterGradient: perPass)
  }

  public var worksInPlace: Bool { false }
  public var backwardReadsOutput: Bool { false }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    let count = rows.count
    let bias = buffers.parameters + biasOffset
    // The bias is copied into each output row, then the product is added
    // onto it (beta = 1): one pass over the output instead of two.
    for row in 0..<count {
      (buffers.output + row * outputs).update(from: bias, count: outputs)
    }
    T.gemm(
      transposeA: false, transposeB: true, m: count, n: outputs, k: inputs,
      alpha: 1, a: buffers.input, lda: inputs, b: buffers.parameters, ldb: inputs,
      beta: 1, c: buffers.output, ldc: outputs)
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    // dX = dY · W.
    T.gemm(
      transposeA: false, transposeB: false, m: rows.count, n: inputs, k: outputs,
      alpha: 1, a: buffers.outputGradient, lda: outputs, b: buffers.parameters, ldb: inputs,
      beta: 0, c: buffers.inputGradient, ldc: inputs)
  }

  @_specialize(where T == Float)
  public func parameterGradient<T: TrainingScalar>(
    _ buffers: LayerBuffers<T>, rows: Int, units: Range<Int>, scale: T, into gradient: UnsafeMutablePointer<T>
  ) {
    precondition(units.lowerBound >= 0 && units.upperBound <= outputs, "units \(units) outside 0..<\(outputs)")
    guard !units.isEmpty else { return }
    let delta = UnsafePointer(buffers.outputGradient)
    // dW[units] = scale · dY[:, units]ᵀ · X, straight into the gradient (beta = 0).
    T.gemm(
      transposeA: true, transposeB: false, m: units.count, n: inputs, k: rows,
      alpha: scale, a: delta + units.lowerBound, lda: outputs, b: buffers.input, ldb: inputs,
      beta: 0, c: gradient + units.lowerBound * inputs, ldc: inputs)
    // db[units] = scale · column sums of dY[:, units], rows added in order.
    let biasGradient = gradient + biasOffset + units.lowerBound
    let first = delta + units.lowerBound
    biasGradient.update(from: first, count: units.count)
    for row in 1..<max(rows, 1) {
      let line = first + row * outputs
      for j in 0..<units.count { biasGradient[j] += line[j] }
    }
    if scale != 1 {
      for j in 0..<units.count { biasGradient[j] *= scale }
    }
  }
}
