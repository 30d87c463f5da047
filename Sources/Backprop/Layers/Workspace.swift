/// Everything one worker writes during a forward and backward pass: its input
/// rows, every layer's output, dropout masks and gradient scratch space.
///
/// Allocated once for the largest shard the worker will see; a training step
/// only reuses it. Each worker owns its own, so workers never share a line.
public final class Workspace<T: TrainingScalar>: @unchecked Sendable {
  // @unchecked Sendable: a workspace is used by one worker at a time.

  /// The largest number of rows (samples) a pass may use.
  public let capacity: Int
  /// The input rows, `capacity × inputWidth`, filled by the caller.
  public let input: AlignedBuffer<T>
  /// The targets of the rows, `capacity × targetWidth`, filled by the caller.
  public let targets: AlignedBuffer<Float>
  /// Each layer's output, `capacity × width` of that layer.
  let outputs: [AlignedBuffer<T>]
  /// Dropout masks (0 or 1/(1-rate)) for the dropout layers, else empty.
  let masks: [AlignedBuffer<T>]
  /// Two buffers of `capacity × maximumWidth` that backward alternates between.
  let gradients: (AlignedBuffer<T>, AlignedBuffer<T>)
  /// The per-row loss of the last call to the loss, for reductions.
  let rowLosses: AlignedBuffer<Double>

  /// Allocates a workspace for `spec` and up to `capacity` rows.
  ///
  /// - Parameters:
  ///   - targetWidth: how many target values each row has (1 for class labels).
  public init(spec: ModelSpec, capacity: Int, targetWidth: Int = 1) {
    precondition(capacity > 0, "a workspace needs room for at least one row, got \(capacity)")
    self.capacity = capacity
    input = AlignedBuffer(count: capacity * spec.inputWidth)
    targets = AlignedBuffer(count: capacity * targetWidth)
    var width = spec.inputWidth
    var outputs: [AlignedBuffer<T>] = []
    var masks: [AlignedBuffer<T>] = []
    for layer in spec.layers {
      if case .dense(_, let out) = layer { width = out }
      outputs.append(AlignedBuffer(count: capacity * width))
      if case .dropout = layer {
        masks.append(AlignedBuffer(count: capacity * width))
      } else {
        masks.append(AlignedBuffer(count: 0))
      }
    }
    self.outputs = outputs
    self.masks = masks
    let widest = spec.maximumWidth
    gradients = (AlignedBuffer(count: capacity * widest), AlignedBuffer(count: capacity * widest))
    rowLosses = AlignedBuffer(count: capacity)
  }

  /// Where the caller puts the loss's gradient with respect to the network's
  /// output before ``Network/backward(parameters:gradient:workspace:rows:inputGradient:)``,
  /// `rows × outputWidth`.
  public var outputGradient: UnsafeMutablePointer<T> { gradients.0.base }

  /// The network's output (logits) of the last forward pass, `rows × outputWidth`.
  public var logits: UnsafeMutablePointer<T> { outputs[outputs.count - 1].base }
}
