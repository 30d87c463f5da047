/// Everything the passes over a batch write: its input rows, every layer's
/// output, dropout masks, and each dense layer's delta (the loss's gradient
/// with respect to that layer's output).
///
/// Allocated once for the largest batch; a training step only reuses it.
/// Rows are independent in the forward pass and in back-propagating deltas,
/// so data-parallel workers share one workspace and each writes only the rows
/// of its shard; the weight gradients then read the whole batch (see
/// ``Network/weightGradients(workspace:rows:layer:units:scale:into:)``).
public final class Workspace<T: TrainingScalar>: @unchecked Sendable {
  // @unchecked Sendable: workers write disjoint row ranges, and read other
  // workers' rows only after a barrier.

  /// The largest number of rows (samples) a pass may use.
  public let capacity: Int
  /// The input rows, `capacity × inputWidth`, filled by the caller.
  public let input: AlignedBuffer<T>
  /// The targets of the rows, `capacity × targetWidth`, filled by the caller.
  public let targets: AlignedBuffer<Float>
  /// Each layer's output, `capacity × width` of that layer (the same buffer
  /// as the layer before's for layers that work in place).
  let outputs: [AlignedBuffer<T>]
  /// Dropout masks (0 or 1/(1-rate)) for the dropout layers, else empty.
  let masks: [AlignedBuffer<T>]
  /// Each dense layer's delta, `capacity × outputs` of that layer; empty for
  /// other layers.
  let deltas: [AlignedBuffer<T>]
  /// The index of the last dense layer, whose delta starts back-propagation.
  let lastDense: Int
  /// The number of target values per row.
  let targetWidth: Int

  /// Allocates a workspace for `spec` and up to `capacity` rows.
  ///
  /// - Parameters:
  ///   - targetWidth: how many target values each row has (1 for class labels).
  ///   - zeroed: `false` leaves the memory untouched, for workers that each
  ///     first touch their own rows with ``touch(rows:)`` (so the pages land
  ///     on their NUMA nodes).
  public init(spec: ModelSpec, capacity: Int, targetWidth: Int = 1, zeroed: Bool = true) {
    precondition(capacity > 0, "a workspace needs room for at least one row, got \(capacity)")
    self.capacity = capacity
    self.targetWidth = targetWidth
    func buffer<E>(_ width: Int) -> AlignedBuffer<E> { AlignedBuffer(count: capacity * width, zeroed: zeroed) }
    input = buffer(spec.inputWidth)
    targets = buffer(targetWidth)
    var width = spec.inputWidth
    var outputs: [AlignedBuffer<T>] = []
    var masks: [AlignedBuffer<T>] = []
    var deltas: [AlignedBuffer<T>] = []
    for (index, layer) in spec.layers.enumerated() {
      if case .dense(_, let out) = layer { width = out }
      // An element-wise layer right after a dense layer works in place on the
      // product's buffer (nothing else reads the product): one buffer less to
      // write and to keep in cache. Not after another element-wise layer,
      // whose backward may need the values it would overwrite (tanh's output
      // under a dropout).
      if index > 0, layer.worksInPlace, spec.layers[index - 1].parameterCount > 0 {
        outputs.append(outputs[index - 1])
      } else {
        outputs.append(buffer(width))
      }
      if case .dropout = layer { masks.append(buffer(width)) } else { masks.append(buffer(0)) }
      deltas.append(buffer(layer.parameterCount > 0 ? width : 0))
    }
    self.outputs = outputs
    self.masks = masks
    self.deltas = deltas
    lastDense = spec.layers.lastIndex { $0.parameterCount > 0 }!
  }

  /// Zeroes `rows` of every buffer: the first touch of a worker's own rows.
  public func touch(rows: Range<Int>) {
    precondition(rows.lowerBound >= 0 && rows.upperBound <= capacity, "rows \(rows) outside 0..<\(capacity)")
    for buffer in [input] + outputs + masks + deltas {
      let width = buffer.count / capacity
      (buffer.base + rows.lowerBound * width).initialize(repeating: 0, count: rows.count * width)
    }
    (targets.base + rows.lowerBound * targetWidth).initialize(repeating: 0, count: rows.count * targetWidth)
  }

  /// Where the caller puts the loss's gradient with respect to the network's
  /// output before back-propagating (`capacity × outputWidth`, by row).
  public var outputGradient: UnsafeMutablePointer<T> { deltas[lastDense].base }

  /// The network's output (logits) of the last forward pass, `capacity × outputWidth`, by row.
  public var logits: UnsafeMutablePointer<T> { outputs[outputs.count - 1].base }
}
