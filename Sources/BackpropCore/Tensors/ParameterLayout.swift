/// Where each parameter tensor lives in the flat parameter vector.
///
/// All parameters of a network live in one contiguous buffer; every gradient
/// buffer and every piece of optimizer state uses the same layout, so the
/// data-parallel reduction, the optimizer and checkpoints work on flat vectors
/// by slices. Each tensor starts on a 64-byte boundary (16 floats) so that
/// slices handed to different workers can be cut on cache lines; the padding
/// between tensors stays zero in parameters and optimizer state, and nothing
/// reads it.
public struct ParameterLayout: Sendable, Hashable {
  /// One named tensor: a view (offset and shape) into the flat vector.
  public struct Entry: Sendable, Hashable {
    /// The name PyTorch's `state_dict` gives it, such as `0.weight`.
    public let name: String
    /// The shape, outermost first (`[outputs, inputs]` for a weight).
    public let shape: [Int]
    /// The index of the tensor's first element in the flat vector.
    public let offset: Int
    /// Whether the optimizer trains it (see ``ParameterTensor/Kind``).
    public let kind: ParameterTensor.Kind
    /// The number of elements.
    public var count: Int { shape.reduce(1, *) }
    /// Where it lies in the flat vector.
    public var range: Range<Int> { offset..<(offset + count) }
    /// Whether the optimizer trains it.
    public var isTrainable: Bool { kind == .trainable }
  }

  /// Alignment of each tensor's start, in elements (64 bytes of `Float`).
  public static let alignment = 16

  /// The tensors, in the order of the network's layers.
  public let entries: [Entry]
  /// The length of the flat vector, padding included.
  public let totalCount: Int
  /// For each layer of the spec, the indices of its entries (empty for a
  /// layer without parameters).
  public let layerEntries: [Range<Int>]

  /// Lays out the parameters of `spec`: for each layer at index `i` of the
  /// `nn.Sequential`, its tensors as `i.NAME` in the layer's order (for a
  /// dense layer `i.weight` `[outputs, inputs]` then `i.bias` `[outputs]`).
  public init(spec: ModelSpec) {
    var entries: [Entry] = []
    var layerEntries: [Range<Int>] = []
    var offset = 0
    for (index, layer) in spec.layers.enumerated() {
      let first = entries.count
      for tensor in layer.parameterTensors(input: spec.shapes[index]) {
        entries.append(Entry(name: "\(index).\(tensor.name)", shape: tensor.shape, offset: offset, kind: tensor.kind))
        offset = ParameterLayout.aligned(offset + tensor.count)
      }
      layerEntries.append(first..<entries.count)
    }
    self.entries = entries
    self.totalCount = offset
    self.layerEntries = layerEntries
  }

  /// Where the parameters of layer `index` start in the flat vector (its
  /// first tensor's offset; 0 for a layer without parameters).
  public func offset(ofLayer index: Int) -> Int {
    layerEntries[index].first.map { entries[$0].offset } ?? 0
  }

  /// The number of trained parameters (padding and buffers such as running
  /// statistics excluded, as PyTorch's `parameters()` counts them).
  public var parameterCount: Int { entries.reduce(0) { $0 + ($1.isTrainable ? $1.count : 0) } }

  /// Where the tensors the optimizer must not touch lie, in order.
  public var frozenRanges: [Range<Int>] { entries.filter { !$0.isTrainable }.map(\.range) }

  /// Rounds `index` up to the next multiple of ``alignment``.
  public static func aligned(_ index: Int) -> Int {
    (index + alignment - 1) / alignment * alignment
  }
}
