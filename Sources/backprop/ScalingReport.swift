import Backprop

/// One measurement of a scaling study: a thread count, one round.
struct ScalingMeasurement {
  let threads: Int
  let pinning: PinningPolicy
  let samplesPerSecond: Double
  let profile: StepProfile
  let mode: String

  /// The round's line, printed before the medians are known.
  var line: String {
    pad(String(threads), 7) + pad(pinning.rawValue, 8) + pad(Report.grouped(samplesPerSecond), 11)
  }
}

/// One thread count's row in a scaling study, relative to the study's first count.
struct ScalingRow {
  let measurement: ScalingMeasurement
  /// Throughput relative to the first thread count, scaled to it (so with a
  /// first count of 1 it is the plain speedup).
  let speedup: Double
  /// Speedup divided by threads.
  let efficiency: Double
  /// Karp–Flatt: the serial fraction that would explain this speedup.
  let serialFraction: Double?

  init(_ measurement: ScalingMeasurement, baseline: ScalingMeasurement) {
    self.measurement = measurement
    let threads = Double(measurement.threads)
    speedup =
      baseline.samplesPerSecond > 0
      ? measurement.samplesPerSecond / baseline.samplesPerSecond * Double(baseline.threads) : 0
    efficiency = speedup / threads
    serialFraction = threads > 1 && speedup > 0 ? (1 / speedup - 1 / threads) / (1 - 1 / threads) : nil
  }

  var threads: Int { measurement.threads }
  var pinning: PinningPolicy { measurement.pinning }
  var samplesPerSecond: Double { measurement.samplesPerSecond }
  var profile: StepProfile { measurement.profile }
  var mode: String { measurement.mode }

  /// The row as a line of the text table.
  var line: String {
    let shares = profile.shares
    func percent(_ value: Double) -> String { Report.fixed(100 * value, 1) }
    return [
      pad(String(threads), 7), pad(pinning.rawValue, 8), pad(Report.grouped(samplesPerSecond), 11),
      pad(Report.fixed(speedup, 2), 7), pad(Report.fixed(efficiency, 2), 10),
      pad(serialFraction.map { Report.fixed($0, 3) } ?? "-", 8), pad(percent(shares.data), 6),
      pad(percent(shares.compute), 8), pad(percent(shares.update), 8), pad(percent(shares.other), 7),
      pad(Report.fixed(profile.waitPerStep * 1e6, 0), 8), "  " + mode,
    ].joined()
  }
}

/// `text` right-aligned in `width` columns.
private func pad(_ text: String, _ width: Int) -> String {
  String(repeating: " ", count: max(0, width - text.count)) + text
}

/// A scaling study's table as text, CSV and JSON.
struct ScalingTable {
  let rows: [ScalingRow]
  let model: String
  let batchSize: Int

  static let header =
    "threads     pin  samples/s  speedup efficiency  serial  data%  fwdbwd%  update%  other%  wait µs  execution"

  var text: String {
    "model \(model), batch \(batchSize)\n" + ScalingTable.header + "\n" + rows.map(\.line).joined(separator: "\n")
      + "\n"
  }

  var csv: String {
    var text =
      "threads,pin,samples_per_second,speedup,efficiency,serial_fraction,data_share,forward_backward_share,update_share,other_share,wait_seconds_per_step\n"
    for row in rows {
      let shares = row.profile.shares
      text +=
        [
          String(row.threads), row.pinning.rawValue, String(row.samplesPerSecond), String(row.speedup),
          String(row.efficiency), row.serialFraction.map { String($0) } ?? "", String(shares.data),
          String(shares.compute), String(shares.update), String(shares.other), String(row.profile.waitPerStep),
        ].joined(separator: ",") + "\n"
    }
    return text
  }

  var json: JSONValue {
    .object([
      ("model", .string(model)), ("batch_size", .integer(batchSize)),
      (
        "rows",
        .array(
          rows.map { row in
            let shares = row.profile.shares
            return .object([
              ("threads", .integer(row.threads)), ("pin", .string(row.pinning.rawValue)),
              ("samples_per_second", .number(row.samplesPerSecond)), ("speedup", .number(row.speedup)),
              ("efficiency", .number(row.efficiency)),
              ("serial_fraction", row.serialFraction.map { .number($0) } ?? .null),
              ("data_share", .number(shares.data)), ("forward_backward_share", .number(shares.compute)),
              ("update_share", .number(shares.update)), ("other_share", .number(shares.other)),
              ("wait_seconds_per_step", .number(row.profile.waitPerStep)), ("execution", .string(row.mode)),
            ])
          })
      ),
    ])
  }
}
