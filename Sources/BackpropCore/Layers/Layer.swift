/// One layer of a sequential network, as `torch.nn.Sequential` would list it:
/// a type that knows its shapes, its parameters, its cost, and how to run
/// forward and backward over raw buffers.
///
/// Layers hold no parameter values: a layer's tensors are views into the
/// network's one flat parameter vector (see ``ParameterLayout``), and every
/// buffer a pass reads or writes belongs to a ``Workspace``. The network
/// (``Network``) only walks the list; nothing outside a layer's own file
/// looks at what kind of layer it is. To add a kind: write one type that
/// conforms to this protocol, add it to ``ModelSpec/layerTypes``, and add it
/// to the gradient checks.
///
/// Backward comes in two halves so that data-parallel workers can split it:
/// ``inputGradient(_:rows:)`` by rows (each worker its shard), and
/// ``parameterGradient(_:rows:units:scale:into:)`` by output units (each
/// worker its slice of the parameters, over the whole batch).
public protocol Layer: Sendable, CustomStringConvertible {
  /// Reads the layer from its token in the textual model spec (such as `256`,
  /// `relu` or `dropout0.2`), given the shape it receives; `nil` when the
  /// token is not of this kind.
  ///
  /// - Throws: ``ModelSpecError`` when the token is of this kind but wrong.
  static func parse(token: String, input: Shape) throws(ModelSpecError) -> Self?

  /// The key of the layer's object in the JSON model spec (`"dense"`).
  static var jsonKey: String { get }

  /// Reads the layer from the value of its key in the JSON model spec.
  ///
  /// - Throws: ``ModelSpecError`` naming what is wrong (the caller adds the layer's index).
  static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> Self

  /// The token of the textual spec that ``parse(token:input:)`` reads back.
  var description: String { get }

  /// The value of ``jsonKey`` that ``parse(json:input:)`` reads back.
  var jsonValue: JSONValue { get }

  /// The shape of the layer's output for an input of `input`.
  ///
  /// - Throws: ``ModelSpecError`` when the layer cannot take that input.
  func outputShape(input: Shape) throws(ModelSpecError) -> Shape

  /// The layer's parameter tensors for an input of `input`, in the order of
  /// their `state_dict` (PyTorch's names after the layer's index, and
  /// shapes), buffers such as running statistics included. The first
  /// dimension of every trainable tensor is the layer's output unit, which
  /// ``parameterGradient(_:rows:units:scale:into:)`` splits on. Empty for a
  /// layer without parameters.
  func parameterTensors(input: Shape) -> [ParameterTensor]

  /// Draws the initial values of the layer's parameters (laid out as
  /// ``ParameterTensor/offsets(of:)`` says, from `parameters`).
  ///
  /// - Parameter gain: `torch.nn.init.calculate_gain` for the layer after
  ///   this one (see ``gainForPrecedingLayer``).
  func initialize(
    _ parameters: UnsafeMutablePointer<Float>, input: Shape, initializer: Initializer, gain: Double,
    generator: inout SeededGenerator)

  /// The gain an initialiser uses for the layer before this one
  /// (`torch.nn.init.calculate_gain`): √2 after ReLU, for example; 1 by default.
  var gainForPrecedingLayer: Double { get }

  /// The floating-point operations per sample of each pass, for an input of `input`.
  func flops(input: Shape) -> LayerFLOPs

  /// Whether the layer may overwrite its input with its output: its
  /// backward does not need the input values it would overwrite.
  var worksInPlace: Bool { get }

  /// Whether the layer's backward reads its own output; if not, the next
  /// layer may work in place over it.
  var backwardReadsOutput: Bool { get }

  /// Whether the gradient with respect to the layer's input may overwrite
  /// the one with respect to its output (an element-wise layer's may).
  var gradientWorksInPlace: Bool { get }

  /// Values of per-row scratch space the layer keeps between forward and
  /// backward (a dropout mask), for an input of `input`.
  func scratchCount(input: Shape) -> Int

  /// Values of working space a pass uses while it computes one row (a
  /// convolution's matrix of patches), kept by nothing: each worker has its
  /// own (``LayerBuffers/temporary``), small enough to stay in its cache.
  func temporaryCount(input: Shape) -> Int

  /// Forward over `rows` of the batch: reads `buffers.input`, writes `buffers.output`
  /// (and the scratch), only those rows.
  ///
  /// Each pass is required twice, for training in `Float` and for gradient
  /// checks in `Double`; a layer writes it once, as a generic method such as
  /// `func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode)`,
  /// which serves both and is compiled for each type (no dispatch on the
  /// type at run time: a tiny model's step is a microsecond).
  func forward(_ buffers: LayerBuffers<Float>, rows: Range<Int>, mode: Network.Mode)
  func forward(_ buffers: LayerBuffers<Double>, rows: Range<Int>, mode: Network.Mode)

  /// The gradient with respect to the layer's input over `rows`, from the
  /// gradient with respect to its output (`buffers.outputGradient`) into
  /// `buffers.inputGradient`, which may be the same memory for a layer
  /// whose ``gradientWorksInPlace``. Written once, generically, as forward is.
  func inputGradient(_ buffers: LayerBuffers<Float>, rows: Range<Int>)
  func inputGradient(_ buffers: LayerBuffers<Double>, rows: Range<Int>)

  /// Whether training needs statistics of the whole batch (batch
  /// normalisation): the passes then meet at the layer. Forward runs
  /// ``batchStatistics(_:rows:)`` over every worker's rows before any
  /// worker's ``forward(_:rows:mode:)``, which reads all rows' statistics
  /// (``LayerBuffers/batchScratch``); backward likewise runs
  /// ``gradientStatistics(_:rows:)`` before ``inputGradient(_:rows:)``.
  /// Statistics are kept per row and added in row order, so that results
  /// do not depend on how the batch is cut among workers.
  var usesBatchStatistics: Bool { get }

  /// Training, before forward: each of `rows`' statistics into its scratch.
  func batchStatistics(_ buffers: LayerBuffers<Float>, rows: Range<Int>)
  func batchStatistics(_ buffers: LayerBuffers<Double>, rows: Range<Int>)

  /// Training, before the input gradient: each of `rows`' gradient
  /// statistics into its scratch.
  func gradientStatistics(_ buffers: LayerBuffers<Float>, rows: Range<Int>)
  func gradientStatistics(_ buffers: LayerBuffers<Double>, rows: Range<Int>)

  /// The gradient of the parameters of output `units`, summed over the
  /// first `rows` rows of the batch and multiplied by `scale`, written (not
  /// added) to their places in `gradient`, the layer's part of the flat
  /// gradient vector. Nothing for a layer without parameters (the default).
  ///
  /// Here `buffers` points at row 0 of the batch: the sum runs over every
  /// worker's rows, so each gradient element has exactly one writer.
  func parameterGradient(
    _ buffers: LayerBuffers<Float>, rows: Int, units: Range<Int>, scale: Float,
    into gradient: UnsafeMutablePointer<Float>)
  func parameterGradient(
    _ buffers: LayerBuffers<Double>, rows: Int, units: Range<Int>, scale: Double,
    into gradient: UnsafeMutablePointer<Double>)
}

extension Layer {
  public var gainForPrecedingLayer: Double { 1 }
  public var backwardReadsOutput: Bool { true }
  public var gradientWorksInPlace: Bool { false }
  public func parameterTensors(input: Shape) -> [ParameterTensor] { [] }
  public func scratchCount(input: Shape) -> Int { 0 }
  public func temporaryCount(input: Shape) -> Int { 0 }
  public func initialize(
    _ parameters: UnsafeMutablePointer<Float>, input: Shape, initializer: Initializer, gain: Double,
    generator: inout SeededGenerator
  ) {}
  public func parameterGradient<T: TrainingScalar>(
    _ buffers: LayerBuffers<T>, rows: Int, units: Range<Int>, scale: T, into gradient: UnsafeMutablePointer<T>
  ) {}
  public var usesBatchStatistics: Bool { false }
  public func batchStatistics<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {}
  public func gradientStatistics<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {}

  /// Whether the layer has parameters.
  public func hasParameters(input: Shape) -> Bool { !parameterTensors(input: input).isEmpty }
}

/// One tensor of a layer's `state_dict`: its name after the layer's index
/// (`weight`, `bias`, `running_mean`), its shape, outermost first, and
/// whether the optimizer trains it.
public struct ParameterTensor: Sendable, Hashable {
  /// What a tensor holds, and so who changes it.
  public enum Kind: Sendable, Hashable {
    /// A parameter the optimizer trains (PyTorch's `parameters()`).
    case trainable
    /// A statistic the layer's own training forward keeps up to date
    /// (PyTorch's buffers, such as BatchNorm's `running_mean`); the optimizer
    /// never touches it, and when `nonNegative` (a variance) a file holding
    /// a negative value is damaged.
    case statistic(nonNegative: Bool)
    /// A count of training batches (BatchNorm's `num_batches_tracked`), a
    /// whole number kept as a `Float` (exact to 2^24) and saved as `I64`.
    case count
  }

  /// The name after the layer's index, such as `weight`.
  public let name: String
  /// The shape, outermost (the output unit) first; `[]` for a scalar.
  public let shape: [Int]
  /// Whether the optimizer trains it.
  public let kind: Kind

  /// A tensor named `name` of `shape`.
  public init(name: String, shape: [Int], kind: Kind = .trainable) {
    self.name = name
    self.shape = shape
    self.kind = kind
  }

  /// The number of elements.
  public var count: Int { shape.reduce(1, *) }

  /// Where each of `tensors` starts, counted from the first one's start:
  /// every tensor starts on a ``ParameterLayout/alignment`` boundary, as the
  /// flat vector lays them out.
  public static func offsets(of tensors: [ParameterTensor]) -> [Int] {
    var offsets: [Int] = []
    var offset = 0
    for tensor in tensors {
      offsets.append(offset)
      offset = ParameterLayout.aligned(offset + tensor.count)
    }
    return offsets
  }
}

/// The floating-point operations one sample costs in each pass of a layer.
public struct LayerFLOPs: Sendable, Hashable {
  /// Forward.
  public var forward: Int
  /// The gradient with respect to the input.
  public var inputGradient: Int
  /// The gradient of the parameters.
  public var parameterGradient: Int

  /// A cost of the given parts.
  public init(forward: Int, inputGradient: Int, parameterGradient: Int = 0) {
    self.forward = forward
    self.inputGradient = inputGradient
    self.parameterGradient = parameterGradient
  }
}

/// The memory one layer's pass works on: pointers at the first row of the
/// rows being computed, for its input and output, the gradients with
/// respect to them, its scratch space, and its parameters.
public struct LayerBuffers<T: TrainingScalar> {
  /// The layer's index in the network (dropout keys its masks on it).
  public let index: Int
  /// The shape of one row of the input.
  public let inputShape: Shape
  /// The shape of one row of the output.
  public let outputShape: Shape
  /// The input rows.
  public let input: UnsafePointer<T>
  /// The output rows (the same memory as the input for a layer in place).
  public let output: UnsafeMutablePointer<T>
  /// The gradient with respect to the output, by row.
  public let outputGradient: UnsafeMutablePointer<T>
  /// Where the gradient with respect to the input goes, by row (the same
  /// memory as ``outputGradient`` when the layer's gradient works in place;
  /// not used by the parameter gradient).
  public let inputGradient: UnsafeMutablePointer<T>
  /// The layer's per-row scratch space (``Layer/scratchCount(input:)`` per row).
  public let scratch: UnsafeMutablePointer<T>
  /// The layer's first parameter in the flat vector.
  public let parameters: UnsafePointer<T>
  /// The calling worker's working space (``Layer/temporaryCount(input:)``
  /// values), which the pass may overwrite freely.
  public let temporary: UnsafeMutablePointer<T>
  /// The layer's scratch space at the batch's first row: where a layer that
  /// uses batch statistics reads every row's.
  public let batchScratch: UnsafeMutablePointer<T>
  /// The number of rows in the batch.
  public let batchCount: Int
  /// Whether these rows start the batch: the one pass of a training step
  /// that updates the layer's running statistics.
  public let startsBatch: Bool

  /// Buffers for layer `index`, every pointer at the first row of the pass.
  public init(
    index: Int, inputShape: Shape, outputShape: Shape, input: UnsafePointer<T>, output: UnsafeMutablePointer<T>,
    outputGradient: UnsafeMutablePointer<T>, inputGradient: UnsafeMutablePointer<T>,
    scratch: UnsafeMutablePointer<T>, parameters: UnsafePointer<T>, temporary: UnsafeMutablePointer<T>,
    batchScratch: UnsafeMutablePointer<T>? = nil, batchCount: Int? = nil, startsBatch: Bool = true
  ) {
    self.index = index
    self.inputShape = inputShape
    self.outputShape = outputShape
    self.input = input
    self.output = output
    self.outputGradient = outputGradient
    self.inputGradient = inputGradient
    self.scratch = scratch
    self.parameters = parameters
    self.temporary = temporary
    self.batchScratch = batchScratch ?? scratch
    self.batchCount = batchCount ?? 0
    self.startsBatch = startsBatch
  }
}

// The passes for a scalar type chosen by generic code (the network's passes
// are generic over it): each calls the layer's requirement for its type.
extension Float {
  @inline(__always)
  public static func batchStatistics(_ layer: any Layer, _ buffers: LayerBuffers<Float>, rows: Range<Int>) {
    layer.batchStatistics(buffers, rows: rows)
  }
  @inline(__always)
  public static func gradientStatistics(_ layer: any Layer, _ buffers: LayerBuffers<Float>, rows: Range<Int>) {
    layer.gradientStatistics(buffers, rows: rows)
  }
  @inline(__always)
  public static func forward(_ layer: any Layer, _ buffers: LayerBuffers<Float>, rows: Range<Int>, mode: Network.Mode) {
    layer.forward(buffers, rows: rows, mode: mode)
  }
  @inline(__always)
  public static func inputGradient(_ layer: any Layer, _ buffers: LayerBuffers<Float>, rows: Range<Int>) {
    layer.inputGradient(buffers, rows: rows)
  }
  @inline(__always)
  public static func parameterGradient(
    _ layer: any Layer, _ buffers: LayerBuffers<Float>, rows: Int, units: Range<Int>, scale: Float,
    into gradient: UnsafeMutablePointer<Float>
  ) {
    layer.parameterGradient(buffers, rows: rows, units: units, scale: scale, into: gradient)
  }
}

extension Double {
  @inline(__always)
  public static func batchStatistics(_ layer: any Layer, _ buffers: LayerBuffers<Double>, rows: Range<Int>) {
    layer.batchStatistics(buffers, rows: rows)
  }
  @inline(__always)
  public static func gradientStatistics(_ layer: any Layer, _ buffers: LayerBuffers<Double>, rows: Range<Int>) {
    layer.gradientStatistics(buffers, rows: rows)
  }
  @inline(__always)
  public static func forward(_ layer: any Layer, _ buffers: LayerBuffers<Double>, rows: Range<Int>, mode: Network.Mode)
  {
    layer.forward(buffers, rows: rows, mode: mode)
  }
  @inline(__always)
  public static func inputGradient(_ layer: any Layer, _ buffers: LayerBuffers<Double>, rows: Range<Int>) {
    layer.inputGradient(buffers, rows: rows)
  }
  @inline(__always)
  public static func parameterGradient(
    _ layer: any Layer, _ buffers: LayerBuffers<Double>, rows: Int, units: Range<Int>, scale: Double,
    into gradient: UnsafeMutablePointer<Double>
  ) {
    layer.parameterGradient(buffers, rows: rows, units: units, scale: scale, into: gradient)
  }
}
