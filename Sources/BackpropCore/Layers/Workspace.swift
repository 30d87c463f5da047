/// Everything the passes over a batch write: its input rows, every layer's
/// output and scratch space (dropout masks), and the gradients with respect
/// to the layers' outputs.
///
/// Allocated once for the largest batch; a training step only reuses it.
/// Rows are independent in the forward pass and in back-propagating the
/// gradients through the layers, so data-parallel workers share one
/// workspace and each writes only the rows of its shard; the parameter
/// gradients then read the whole batch (see
/// ``Network/parameterGradients(workspace:rows:layer:units:scale:into:)``).
public final class Workspace<T: TrainingScalar>: @unchecked Sendable {
  // @unchecked Sendable: workers write disjoint row ranges, and read other
  // workers' rows only after a barrier.

  /// The largest number of rows (samples) a pass may use.
  public let capacity: Int
  /// The input rows, `capacity × inputWidth`, filled by the caller.
  public let input: AlignedBuffer<T>
  /// The targets of the rows, `capacity × targetWidth`, filled by the caller.
  public let targets: AlignedBuffer<Float>
  /// Each layer's output, `capacity ×` its output's size (the same buffer as
  /// the layer before's for a layer in place).
  let outputs: [AlignedBuffer<T>]
  /// Each layer's scratch space (``Layer/scratchCount(input:)`` per row).
  let scratch: [AlignedBuffer<T>]
  /// The gradient with respect to each layer's output, `capacity ×` its
  /// output's size: the same buffer down through layers that work in
  /// place, a new one below each layer that does not.
  let gradients: [AlignedBuffer<T>]
  /// The number of target values per row.
  let targetWidth: Int
  /// Each lane's working space (the most any layer's pass needs): workers
  /// sharing the workspace each pass their own lane.
  let temporaries: [AlignedBuffer<T>]
  /// For a batch spread over several processes (empty otherwise): per
  /// layer that uses batch statistics, room for the per-row statistics of
  /// the whole batch, this process's rows and the others', which that layer
  /// then combines instead of this workspace's rows alone (see
  /// ``spanProcesses(wholeBatch:layers:)``).
  public private(set) var wholeBatchScratch: [AlignedBuffer<T>?] = []
  /// The rows of the current step's whole batch, when ``wholeBatchScratch``
  /// is in use; set before the step starts.
  public var wholeBatchRows = 0

  /// Allocates a workspace for `spec` and up to `capacity` rows.
  ///
  /// - Parameters:
  ///   - targetWidth: how many target values each row has (1 for class labels).
  ///   - zeroed: `false` leaves the memory untouched, for workers that each
  ///     first touch their own rows with ``touch(rows:)`` (so the pages land
  ///     on their NUMA nodes).
  ///   - lanes: how many workers run passes over it at once, each with its
  ///     own working space (see ``Layer/temporaryCount(input:)``).
  public init(spec: ModelSpec, capacity: Int, targetWidth: Int = 1, zeroed: Bool = true, lanes: Int = 1) {
    precondition(capacity > 0, "a workspace needs room for at least one row, got \(capacity)")
    precondition(lanes > 0, "a workspace needs at least one lane, got \(lanes)")
    temporaries = (0..<lanes).map { _ in AlignedBuffer(count: max(Model.temporaryFloats(spec: spec), 1), zeroed: zeroed)
    }
    self.capacity = capacity
    self.targetWidth = targetWidth
    func buffer<E>(_ width: Int) -> AlignedBuffer<E> { AlignedBuffer(count: capacity * width, zeroed: zeroed) }
    input = buffer(spec.inputWidth)
    targets = buffer(targetWidth)
    let layers = spec.layers
    var outputs: [AlignedBuffer<T>] = []
    var scratch: [AlignedBuffer<T>] = []
    for (index, layer) in layers.enumerated() {
      // A layer in place right after one whose backward does not read its
      // output (a dense layer) overwrites that output: one buffer less to
      // write and to keep in cache. Not after an element-wise layer, whose
      // backward may need the values it would overwrite (tanh's output
      // under a dropout).
      if index > 0, layer.worksInPlace, !layers[index - 1].backwardReadsOutput {
        outputs.append(outputs[index - 1])
      } else {
        outputs.append(buffer(spec.shapes[index + 1].count))
      }
      scratch.append(buffer(layer.scratchCount(input: spec.shapes[index])))
    }
    // From the top down: a layer whose gradient works in place computes its input's gradient over
    // its output's. Below the first layer with parameters a gradient is
    // only needed when the caller asks for the input's.
    var gradients = [AlignedBuffer<T>](repeating: buffer(spec.outputWidth), count: layers.count)
    for index in layers.indices.reversed().dropFirst() {
      gradients[index] =
        layers[index + 1].gradientWorksInPlace ? gradients[index + 1] : buffer(spec.shapes[index + 1].count)
    }
    self.outputs = outputs
    self.scratch = scratch
    self.gradients = gradients
  }

  /// Makes room for the per-row statistics of whole batches of up to
  /// `wholeBatch` rows in each of `layers` (the layers that use batch
  /// statistics): the caller copies every process's rows into
  /// ``wholeBatchScratch`` between the stages of a step, and those layers
  /// normalise by the whole batch, as one process would.
  public func spanProcesses(wholeBatch: Int, layers: [Int]) {
    wholeBatchScratch = scratch.indices.map { index in
      layers.contains(index) ? AlignedBuffer(count: wholeBatch * scratch[index].count / capacity) : nil
    }
  }

  /// The width of a row of layer `index`'s scratch space.
  public func scratchWidth(ofLayer index: Int) -> Int { scratch[index].count / capacity }

  /// Layer `index`'s scratch space (its first row).
  public func scratch(ofLayer index: Int) -> UnsafeMutablePointer<T> { scratch[index].base }

  /// Zeroes `rows` of every buffer and the working space of `lane`: the
  /// first touch of a worker's own memory.
  public func touch(rows: Range<Int>, lane: Int = 0) {
    temporaries[lane].base.initialize(repeating: 0, count: temporaries[lane].count)
    precondition(rows.lowerBound >= 0 && rows.upperBound <= capacity, "rows \(rows) outside 0..<\(capacity)")
    for buffer in [input] + outputs + scratch + gradients {
      let width = buffer.count / capacity
      (buffer.base + rows.lowerBound * width).initialize(repeating: 0, count: rows.count * width)
    }
    (targets.base + rows.lowerBound * targetWidth).initialize(repeating: 0, count: rows.count * targetWidth)
  }

  /// Where the caller puts the loss's gradient with respect to the network's
  /// output before back-propagating (`capacity × outputWidth`, by row).
  public var outputGradient: UnsafeMutablePointer<T> { gradients[gradients.count - 1].base }

  /// The network's output (logits) of the last forward pass, `capacity × outputWidth`, by row.
  public var logits: UnsafeMutablePointer<T> { outputs[outputs.count - 1].base }
}
