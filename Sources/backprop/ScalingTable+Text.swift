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
      pad(Report.fixed(profile.waitPerStep * 1e6, 0), 8),
      measurement.ranks > 1 ? pad(percent(shares.ranks), 6) : "", "  " + mode,
    ].joined()
  }
}

extension ScalingTable {
  /// The text table's header; with an `mpi%` column across ranks.
  static func header(ranks: Int) -> String {
    "threads     pin    gradients  samples/s  speedup efficiency  serial  data%  fwdbwd%  reduce%  update%  other%  wait µs"
      + (ranks > 1 ? "  mpi%" : "") + "  execution"
  }

  /// The table as text, with the model and batch (and the ranks) above it.
  var text: String {
    let across = ranks > 1 ? ", \(ranks) MPI ranks × the threads of each row (mpi%: summing across ranks)" : ""
    return "model \(model), batch \(batchSize)\(across)\n" + ScalingTable.header(ranks: ranks) + "\n"
      + rows.map(\.line).joined(separator: "\n") + "\n"
  }
}

/// `text` right-aligned in `width` columns.
private func pad(_ text: String, _ width: Int) -> String {
  String(repeating: " ", count: max(0, width - text.count)) + text
}
