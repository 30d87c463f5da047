/// Inverted dropout: while training, each value is zeroed with probability
/// `rate` and the rest are scaled by `1 / (1 - rate)`; the identity otherwise.
/// Written `dropout0.2` in a model spec (`dropout` alone is 0.5), in JSON
/// `{"dropout": 0.2}`.
///
/// The masks depend only on the run's seed, the step, the layer's index, the
/// row's index in the batch and the unit, so they do not depend on how the
/// batch is sharded.
public struct Dropout: Layer, Hashable {
  /// The probability of zeroing a value, in [0, 1).
  public let rate: Float

  /// A dropout layer that zeroes values with probability `rate`.
  public init(rate: Float) {
    self.rate = rate
  }

  public static let jsonKey = "dropout"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> Dropout? {
    guard token.lowercased().hasPrefix("dropout") else { return nil }
    let rest = token.dropFirst("dropout".count)
    guard let rate = rest.isEmpty ? 0.5 : Float(rest), rate >= 0, rate < 1 else {
      throw .invalid("'\(token)': a dropout rate must be in [0, 1), as in dropout0.2")
    }
    return Dropout(rate: rate)
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> Dropout {
    guard let rate = json.doubleValue else {
      throw .invalid("a dropout rate must be a number in [0, 1), as {\"dropout\": 0.2}")
    }
    return Dropout(rate: Float(rate))
  }

  public var description: String { "dropout\(rate)" }

  // The rate as written (0.3, not the Float's 0.30000001192092896).
  public var jsonValue: JSONValue { .number(Double(String(rate))!) }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    guard rate >= 0, rate < 1 else { throw .invalid("dropout rate \(rate) is not in [0, 1)") }
    return input
  }

  /// One multiplication per value each way (drawing the mask not counted).
  public func flops(input: Shape) -> LayerFLOPs {
    LayerFLOPs(forward: input.count, inputGradient: input.count)
  }

  /// Its backward needs only its mask.
  public var worksInPlace: Bool { true }

  /// The gradient is multiplied by the mask value by value.
  public var gradientWorksInPlace: Bool { true }

  /// The mask, one value per input value.
  public func scratchCount(input: Shape) -> Int { input.count }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    let count = rows.count * buffers.inputShape.count
    switch mode {
    case .inference:
      if UnsafePointer(buffers.output) != buffers.input { buffers.output.update(from: buffers.input, count: count) }
    case .training(let seed, let step, let firstRow):
      let mask = buffers.scratch
      fillMask(
        mask, rows: (rows.lowerBound + firstRow)..<(rows.upperBound + firstRow), width: buffers.inputShape.count,
        key: CounterHash.mix(seed, UInt64(step), UInt64(buffers.index) &+ RandomStream.dropout << 32))
      for i in 0..<count { buffers.output[i] = buffers.input[i] * mask[i] }
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let mask = buffers.scratch
    for i in 0..<(rows.count * buffers.inputShape.count) {
      buffers.inputGradient[i] = buffers.outputGradient[i] * mask[i]
    }
  }

  /// Fills the mask of `rows` from the counter hash: element (row, unit) is 0
  /// with probability `rate`, else `1 / (1 - rate)`; it depends only on `key`,
  /// the row's index in the batch and the unit.
  private func fillMask<T: TrainingScalar>(
    _ mask: UnsafeMutablePointer<T>, rows: Range<Int>, width: Int, key: UInt64
  ) {
    let keep = T(1) / T(1 - rate)
    for (offset, row) in rows.enumerated() {
      let rowKey = CounterHash.finalize(key ^ UInt64(row) &* 0xD6E8_FEB8_6659_FD93)
      let line = mask + offset * width
      for unit in 0..<width {
        line[unit] = CounterHash.unitFloat(rowKey, UInt64(unit)) < rate ? 0 : keep
      }
    }
  }
}
