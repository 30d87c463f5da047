/// One measurement of a scaling study: a thread count, one round.
public struct ScalingMeasurement: Sendable {
  /// The thread count asked for.
  public let threads: Int
  /// How the workers were placed.
  public let pinning: PinningPolicy
  /// Samples per second over the measured steps.
  public let samplesPerSecond: Double
  /// Where the measured steps' time went.
  public let profile: StepProfile
  /// How the workers ran (and why fewer ran, if they did).
  public let mode: String
  /// The gradient strategy measured.
  public let strategy: GradientStrategy
  /// Whether the run was ``TrainingOptions/reproducible``.
  public let reproducible: Bool
  /// The processes (MPI ranks) that ran it, each with ``threads`` threads.
  public let ranks: Int

  /// A measurement (a study makes them; a test or a saved table may too).
  public init(
    threads: Int, pinning: PinningPolicy, samplesPerSecond: Double, profile: StepProfile, mode: String,
    strategy: GradientStrategy = .unitSlices, reproducible: Bool = false, ranks: Int = 1
  ) {
    (self.threads, self.pinning, self.samplesPerSecond) = (threads, pinning, samplesPerSecond)
    (self.profile, self.mode, self.strategy, self.reproducible) = (profile, mode, strategy, reproducible)
    self.ranks = ranks
  }

  /// The strategy as tables name it: `reproducible` for a reproducible run.
  public var strategyName: String { reproducible ? "reproducible" : strategy.rawValue }
}

/// One thread count's row in a scaling study, relative to the study's first count.
public struct ScalingRow: Sendable {
  /// The median measurement of the thread count.
  public let measurement: ScalingMeasurement
  /// Throughput relative to the first thread count, scaled to it (so with a
  /// first count of 1 it is the plain speedup).
  public let speedup: Double
  /// Speedup divided by threads.
  public let efficiency: Double
  /// Karp–Flatt: the serial fraction that would explain this speedup.
  public let serialFraction: Double?

  /// The row of `measurement` against the study's first, `baseline`.
  public init(_ measurement: ScalingMeasurement, baseline: ScalingMeasurement) {
    self.measurement = measurement
    let threads = Double(measurement.threads)
    speedup =
      baseline.samplesPerSecond > 0
      ? measurement.samplesPerSecond / baseline.samplesPerSecond * Double(baseline.threads) : 0
    efficiency = speedup / threads
    serialFraction = threads > 1 && speedup > 0 ? (1 / speedup - 1 / threads) / (1 - 1 / threads) : nil
  }

  /// The measurement's thread count, placement, throughput, profile and mode.
  public var threads: Int { measurement.threads }
  public var pinning: PinningPolicy { measurement.pinning }
  public var samplesPerSecond: Double { measurement.samplesPerSecond }
  public var profile: StepProfile { measurement.profile }
  public var mode: String { measurement.mode }
  public var strategy: GradientStrategy { measurement.strategy }
  public var strategyName: String { measurement.strategyName }
}

/// A scaling study's table, as CSV and JSON.
public struct ScalingTable: Sendable {
  /// One row per thread count (and placement), in the order measured.
  public let rows: [ScalingRow]
  /// The model spec's text form.
  public let model: String
  /// The batch size.
  public let batchSize: Int

  /// A table of `rows` for `model` trained with batches of `batchSize`.
  public init(rows: [ScalingRow], model: String, batchSize: Int) {
    (self.rows, self.model, self.batchSize) = (rows, model, batchSize)
  }

  /// The MPI ranks every row ran on, each with the row's threads.
  public var ranks: Int { rows.first?.measurement.ranks ?? 1 }

  /// One line per row, with a header.
  public var csv: String {
    var text =
      "threads,pin,gradients,samples_per_second,speedup,efficiency,serial_fraction,data_share,forward_backward_share,reduce_share,update_share,other_share,wait_seconds_per_step,ranks,mpi_share\n"
    for row in rows {
      let shares = row.profile.shares
      text +=
        [
          String(row.threads), row.pinning.rawValue, row.strategyName, String(row.samplesPerSecond),
          String(row.speedup),
          String(row.efficiency), row.serialFraction.map { String($0) } ?? "", String(shares.data),
          String(shares.compute), String(shares.reduce), String(shares.update), String(shares.other),
          String(row.profile.waitPerStep), String(row.measurement.ranks), String(shares.ranks),
        ].joined(separator: ",") + "\n"
    }
    return text
  }

  /// The table as one JSON object: `model`, `batch_size` and `rows`.
  public var json: JSONValue {
    .object([
      ("model", .string(model)), ("batch_size", .integer(batchSize)), ("ranks", .integer(ranks)),
      (
        "rows",
        .array(
          rows.map { row in
            let shares = row.profile.shares
            return .object([
              ("threads", .integer(row.threads)), ("pin", .string(row.pinning.rawValue)),
              ("gradients", .string(row.strategyName)),
              ("samples_per_second", .number(row.samplesPerSecond)), ("speedup", .number(row.speedup)),
              ("efficiency", .number(row.efficiency)),
              ("serial_fraction", row.serialFraction.map { .number($0) } ?? .null),
              ("data_share", .number(shares.data)), ("forward_backward_share", .number(shares.compute)),
              ("reduce_share", .number(shares.reduce)), ("update_share", .number(shares.update)),
              ("other_share", .number(shares.other)),
              ("wait_seconds_per_step", .number(row.profile.waitPerStep)), ("execution", .string(row.mode)),
              ("ranks", .integer(row.measurement.ranks)), ("mpi_share", .number(shares.ranks)),
            ])
          })
      ),
    ])
  }

  /// Why the figures may not be trusted, one line each: a machine busy with
  /// other work when the study began (a 1-minute load average above the
  /// cores the largest thread count leaves free, with half a core of
  /// slack), or a Karp–Flatt serial fraction above 1 (more threads ran
  /// slower than one, which only competition for the cores explains).
  ///
  /// - Parameters:
  ///   - loadAverage: the machine's 1-minute load average before the study.
  ///   - cores: the cores this process may use.
  public func warnings(loadAverage: Double?, cores: Int) -> [String] {
    var warnings: [String] = []
    let most = rows.map(\.threads).max() ?? 1
    if let loadAverage, loadAverage > Double(cores - most) + 0.5 {
      warnings.append(
        "the machine was busy: a load average of \(ScalingTable.twoDecimals(loadAverage)) with \(cores) core(s), so up to \(most) thread(s) shared cores with other work and the figures are unreliable; measure on an idle machine"
      )
    }
    for row in rows {
      guard let fraction = row.serialFraction, fraction > 1 else { continue }
      warnings.append(
        "Karp-Flatt's serial fraction at \(row.threads) thread(s) (\(row.pinning.rawValue), \(row.strategyName)) is \(ScalingTable.twoDecimals(fraction)), above 1: more threads ran slower than one, so other work competed for the cores; measure again on an idle machine"
      )
    }
    return warnings
  }

  /// The machine's 1-minute load average (`/proc/loadavg`), or `nil` where
  /// there is none.
  public static func loadAverage() -> Double? {
    ProcFile.text("/proc/loadavg").split(separator: " ").first.flatMap { Double($0) }
  }

  private static func twoDecimals(_ value: Double) -> String {
    let hundredths = Int((value * 100).rounded())
    let fraction = hundredths % 100
    return "\(hundredths / 100).\(fraction < 10 ? "0" : "")\(fraction)"
  }
}
