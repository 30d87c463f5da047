/// Which part of the parameters each worker reduces and updates in the second
/// half of a data-parallel step.
///
/// Worker s owns slice s: a run of whole output units of the layers with
/// parameters (rows of a dense layer's weight matrix, with the matching
/// biases; the first dimension of every parameter tensor), in layer order,
/// cut so that the slices cost about the same. It computes those units'
/// gradients over the whole batch and updates them, so every gradient and
/// parameter element has exactly one writer. Units are handed out in groups
/// of ``granule``, so every block of weights and biases starts on a cache
/// line and no two workers write the same line.
public struct SlicePlan: Sendable, Hashable {
  /// A run of output units of one layer, and where their parameters live
  /// in the flat vector.
  public struct Block: Sendable, Hashable {
    /// The index of the layer in the spec's layers.
    public let layer: Int
    /// The output units (rows of a weight matrix).
    public let units: Range<Int>
    /// The units' part of each of the layer's tensors in the flat vector
    /// (a dense layer's weights, then its biases).
    public let parameters: [Range<Int>]
  }

  /// Units per group: 16, so a group's first weight (offset + unit · inputs)
  /// and first bias both fall on a 64-byte line of floats.
  public static let granule = ParameterLayout.alignment

  /// The blocks of each worker, in layer order; empty for a worker that gets
  /// no group (a model with fewer groups than workers).
  public let slices: [[Block]]

  /// Cuts the parameters of `network` into `workers` slices of about equal
  /// cost (each layer's parameter-gradient FLOPs per unit, which for a dense
  /// layer are proportional to its weights and biases per unit).
  public init(network: Network, workers: Int) {
    precondition(workers > 0, "need at least one worker, got \(workers)")
    let spec = network.spec
    let layout = network.layout
    var groups: [(layer: Int, units: Range<Int>, cost: Int)] = []
    for index in spec.layers.indices {
      let units = network.unitCount(ofLayer: index)
      guard units > 0 else { continue }
      let costPerUnit = spec.layers[index].flops(input: spec.shapes[index]).parameterGradient / units
      for start in stride(from: 0, to: units, by: SlicePlan.granule) {
        let group = start..<min(units, start + SlicePlan.granule)
        groups.append((index, group, group.count * costPerUnit))
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
      let owner = min(workers - 1, before * workers / max(total, 1))
      before += group.cost
      var units = group.units
      if let last = slices[owner].last, last.layer == group.layer, last.units.upperBound == units.lowerBound {
        units = last.units.lowerBound..<units.upperBound
        slices[owner].removeLast()
      }
      // Statistics and counts are the layer's forward's to update, not the optimizer's.
      let parameters = layout.layerEntries[group.layer].filter { layout.entries[$0].isTrainable }.map { entry in
        let tensor = layout.entries[entry]
        let perUnit = tensor.count / tensor.shape[0]
        return (tensor.offset + units.lowerBound * perUnit)..<(tensor.offset + units.upperBound * perUnit)
      }
      slices[owner].append(Block(layer: group.layer, units: units, parameters: parameters))
    }
    self.slices = slices
  }

  /// The number of parameters in slice `s`.
  public func parameterCount(of s: Int) -> Int {
    slices[s].reduce(0) { $0 + $1.parameters.reduce(0) { $0 + $1.count } }
  }
}
