import Backprop

extension ScalingMeasurement {
  /// The round's line, printed before the medians are known.
  var line: String {
    pad(String(threads), 7) + pad(pinning.rawValue, 8) + pad(strategyName, 13)
      + pad(Report.grouped(samplesPerSecond), 11)
  }
}

extension ScalingRow {
  /// The row as a line of the text table.
  var line: String {
    let shares = profile.shares
    func percent(_ value: Double) -> String { Report.fixed(100 * value, 1) }
    return [
      pad(String(threads), 7), pad(pinning.rawValue, 8), pad(strategyName, 13),
      pad(Report.grouped(samplesPerSecond), 11),
      pad(Report.fixed(speedup, 2), 7), pad(Report.fixed(efficiency, 2), 10),
      pad(serialFraction.map { Report.fixed($0, 3) } ?? "-", 8), pad(percent(shares.data), 6),
      pad(percent(shares.compute), 8), pad(percent(shares.reduce), 8), pad(percent(shares.update), 8),
      pad(percent(shares.other), 7),
      pad(Report.fixed(profile.waitPerStep * 1e6, 0), 8), "  " + mode,
    ].joined()
  }
}

extension ScalingTable {
  static let header =
    "threads     pin    gradients  samples/s  speedup efficiency  serial  data%  fwdbwd%  reduce%  update%  other%  wait µs  execution"

  /// The table as text, with the model and batch above it.
  var text: String {
    "model \(model), batch \(batchSize)\n" + ScalingTable.header + "\n" + rows.map(\.line).joined(separator: "\n")
      + "\n"
  }
}

/// `text` right-aligned in `width` columns.
private func pad(_ text: String, _ width: Int) -> String {
  String(repeating: " ", count: max(0, width - text.count)) + text
}
