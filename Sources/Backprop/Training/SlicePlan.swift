/// Which part of the parameters each worker reduces and updates in the second
/// half of a data-parallel step.
///
/// Worker s owns slice s: a run of whole output units of the dense layers
/// (rows of their weight matrices, with the matching biases), in layer order,
/// cut so that the slices cost about the same. It computes those units'
/// gradients over the whole batch and updates them, so every gradient and
/// parameter element has exactly one writer. Units are handed out in groups
/// of ``granule``, so every block of weights and biases starts on a cache
/// line and no two workers write the same line.
public struct SlicePlan: Sendable, Hashable {
  /// A run of output units of one dense layer, and where their parameters
  /// live in the flat vector.
  public struct Block: Sendable, Hashable {
    /// The index of the dense layer in the spec's layers.
    public let layer: Int
    /// The output units (rows of the weight matrix).
    public let units: Range<Int>
    /// The units' weights in the flat vector.
    public let weights: Range<Int>
    /// The units' biases in the flat vector.
    public let bias: Range<Int>
  }

  /// Units per group: 16, so a group's first weight (offset + unit · inputs)
  /// and first bias both fall on a 64-byte line of floats.
  public static let granule = ParameterLayout.alignment

  /// The blocks of each worker, in layer order; empty for a worker that gets
  /// no group (a model with fewer groups than workers).
  public let slices: [[Block]]

  /// Cuts the parameters of `network` into `workers` slices of about equal
  /// cost (weights and biases per unit, which is also the work of computing
  /// their gradients).
  public init(network: Network, workers: Int) {
    precondition(workers > 0, "need at least one worker, got \(workers)")
    var groups: [(layer: Int, units: Range<Int>, cost: Int)] = []
    for (index, layer) in network.spec.layers.enumerated() {
      guard case .dense(let inputs, let outputs) = layer else { continue }
      for start in stride(from: 0, to: outputs, by: SlicePlan.granule) {
        let units = start..<min(outputs, start + SlicePlan.granule)
        groups.append((index, units, units.count * (inputs + 1)))
      }
    }
    let total = groups.reduce(0) { $0 + $1.cost }
    var slices = [[Block]](repeating: [], count: workers)
    var before = 0
    for group in groups {
      // The worker whose share of the cost holds the group's start: a
      // non-decreasing choice, so each slice is one contiguous run. Each
      // slice takes the group straddling its end, which leaves the last
      // slice a little less: it holds the narrow last layers, whose products
      // run slower per FLOP (measured on the small model with 2 workers:
      // 5% off the step against cutting at the groups' middles).
      let owner = min(workers - 1, before * workers / total)
      before += group.cost
      let layout = network.layout
      let weights = layout.entries[layout.weightEntryIndex[group.layer]!]
      let bias = layout.entries[layout.weightEntryIndex[group.layer]! + 1]
      let inputs = weights.shape[1]
      var units = group.units
      if let last = slices[owner].last, last.layer == group.layer, last.units.upperBound == units.lowerBound {
        units = last.units.lowerBound..<units.upperBound
        slices[owner].removeLast()
      }
      slices[owner].append(
        Block(
          layer: group.layer, units: units,
          weights: (weights.offset + units.lowerBound * inputs)..<(weights.offset + units.upperBound * inputs),
          bias: (bias.offset + units.lowerBound)..<(bias.offset + units.upperBound)))
    }
    self.slices = slices
  }

  /// The number of parameters in slice `s`.
  public func parameterCount(of s: Int) -> Int {
    slices[s].reduce(0) { $0 + $1.weights.count + $1.bias.count }
  }
}
