/// The same training at several thread counts, measured: for each count the
/// model starts from the same initial weights, trains ``warmUpSteps`` steps,
/// then ``measuredSteps`` steps are timed. Rounds interleave the thread
/// counts, so a slow spell of a shared machine spreads over all of them, and
/// each count reports its median round.
public struct ScalingStudy: Sendable {
  /// The thread counts, in order; speedups are relative to the first.
  public var threadCounts: [Int]
  /// The worker placements measured, each at every thread count.
  public var pinnings: [PinningPolicy] = [.compact]
  /// The gradient strategies measured, each with every placement and thread
  /// count; empty measures the session's own (with `auto`, the one chosen
  /// at each thread count).
  public var strategies: [GradientStrategy] = []
  /// Also measures ``TrainingOptions/reproducible`` runs, for their cost.
  public var reproducible = false
  /// Steps run before measuring, at each thread count.
  public var warmUpSteps = 20
  /// Steps measured at each thread count.
  public var measuredSteps = 100
  /// Rounds over all thread counts.
  public var repeats = 3
  /// The processes each measurement trains on (under `mpirun`, every rank
  /// runs the same study and each row is R ranks × its threads).
  public var processes = ProcessGroup.single

  /// A study of `threadCounts` (by default powers of two up to the allowed
  /// cores, and that number).
  public init(threadCounts: [Int] = ScalingStudy.defaultThreadCounts(cores: Topology.shared.allowedCores)) {
    self.threadCounts = threadCounts
  }

  /// Powers of two below `cores`, and `cores` itself.
  public static func defaultThreadCounts(cores: Int) -> [Int] {
    var counts: [Int] = []
    var count = 1
    while count < cores {
      counts.append(count)
      count *= 2
    }
    return counts + [cores]
  }

  /// Runs the study on `session`'s model and training data.
  ///
  /// - Parameter measured: called after every round of every thread count,
  ///   before the medians are known.
  /// - Throws: ``TrainingError`` when a run diverges.
  public func run(_ session: TrainingSession, measured: ((ScalingMeasurement) -> Void)? = nil) throws(TrainingError)
    -> ScalingTable
  {
    var options = session.options
    options.maximumSteps = warmUpSteps + measuredSteps
    options.epochs = Int.max / 2
    let initial = session.model.parameters.array
    var rows: [ScalingRow] = []
    for strategy in strategies.isEmpty ? [session.options.gradients] : strategies.map(Optional.some) {
      options.gradients = strategy
      rows += try measureAll(session, options: options, initial: initial, measured: measured)
    }
    if reproducible && !session.options.reproducible {
      options.reproducible = true
      rows += try measureAll(session, options: options, initial: initial, measured: measured)
    }
    return ScalingTable(rows: rows, model: session.model.spec.description, batchSize: options.batchSize)
  }

  /// The rows of every placement and thread count with `options`' strategy.
  private func measureAll(
    _ session: TrainingSession, options: TrainingOptions, initial: [Float], measured: ((ScalingMeasurement) -> Void)?
  ) throws(TrainingError) -> [ScalingRow] {
    var rows: [ScalingRow] = []
    for pinning in pinnings {
      var rounds: [Int: [ScalingMeasurement]] = [:]
      for _ in 0..<repeats {
        for threads in threadCounts {
          let measurement = try measure(session, options: options, initial: initial, threads: threads, pinning: pinning)
          rounds[threads, default: []].append(measurement)
          measured?(measurement)
        }
      }
      var baseline: ScalingMeasurement? = nil
      for threads in threadCounts {
        let sorted = rounds[threads]!.sorted { $0.samplesPerSecond < $1.samplesPerSecond }
        let median = sorted[sorted.count / 2]
        rows.append(ScalingRow(median, baseline: baseline ?? median))
        if baseline == nil { baseline = median }
      }
    }
    return rows
  }

  /// Trains warm-up plus measured steps at one thread count and measures the latter.
  private func measure(
    _ session: TrainingSession, options: TrainingOptions, initial: [Float], threads: Int, pinning: PinningPolicy
  ) throws(TrainingError) -> ScalingMeasurement {
    let model = Model(spec: session.model.spec, loss: session.model.loss, parameters: initial)
    var options = options
    options.threads = threads
    let trainer = Trainer(
      model: model, training: session.training, options: options, pinning: pinning, profiling: true,
      processes: processes)
    var mark: (time: Double, samples: Int, profile: StepProfile)? = nil
    var samplesSeen = 0
    let clock = ContinuousClock()
    let origin = clock.now
    let warmUp = warmUpSteps
    try trainer.train(progress: { progress in
      samplesSeen = progress.samplesSeen
      if progress.step == warmUp && mark == nil {
        mark = ((clock.now - origin).seconds, progress.samplesSeen, trainer.profile)
      }
    })
    let end = (clock.now - origin).seconds
    let start = mark ?? (0, 0, StepProfile())
    var profile = trainer.profile
    profile.subtract(start.profile)
    let rate = Double(samplesSeen - start.samples) / max(end - start.time, 1e-9)
    return ScalingMeasurement(
      threads: threads, pinning: pinning, samplesPerSecond: rate, profile: profile,
      mode: trainer.executionMode.description + (trainer.fewerWorkersReason.map { " (\($0))" } ?? ""),
      strategy: trainer.strategy, reproducible: options.reproducible, ranks: processes.size)
  }
}
