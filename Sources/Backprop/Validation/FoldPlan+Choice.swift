extension FoldPlan {
  /// The plan for `folds` folds of `model` on the allowed cores.
  ///
  /// - Parameters:
  ///   - parallel: folds side by side as asked, or `nil` to choose (`auto`).
  ///   - threads: each fold's threads as asked, or `nil` for the plan's own.
  ///   - options: how each fold trains (epochs, steps, batch, work threshold).
  ///   - samples: the samples the folds split.
  ///   - runs: the fold runs to schedule (a search's trials × folds;
  ///     default `folds`).
  ///   - holdoutFraction: the share each run validates on, when runs score
  ///     one hold-out split instead of folds.
  /// - Throws: a message when the request needs more cores than allowed.
  ///
  /// `auto` compares two plans with a simple cost model: folds side by side
  /// (one thread each, unless `threads` says otherwise) run in rounds of
  /// `cores` folds at one fold's single-thread speed; folds one after
  /// another use all cores each, at the data-parallel speed the step's work
  /// allows. A step of W = 6·P·B FLOPs costs W / T / R + s on T > 1 threads
  /// (R ≈ 70 GFLOP/s per core, s ≈ 60 µs of barriers and imbalance per
  /// step, both measured on the project machine); scoring the validation
  /// part after every epoch (2·P FLOPs a sample) runs on one thread in
  /// either plan, which is what makes folds side by side win even for
  /// models whose steps scale well.
  public static func choose(
    folds: Int, parallel: Int?, threads: Int?, model: Model, options: TrainingOptions, samples: Int,
    runs: Int? = nil, holdoutFraction: Double? = nil, topology: Topology = .shared
  ) throws(PlanError) -> FoldPlan {
    let runs = runs ?? folds
    let cores = max(1, topology.allowedCores)
    if let parallel {
      let side = min(parallel, runs)
      let each = threads ?? max(1, cores / side)
      guard side * each <= cores else {
        throw PlanError(
          "--parallel-folds \(parallel) × --threads \(each) needs \(side * each) cores; \(cores) are allowed")
      }
      return FoldPlan(parallelFolds: side, threadsPerFold: each, reason: "as asked")
    }
    // Each fold trains on (k−1)/k of the samples and scores the rest after every epoch and at the end.
    let validation = holdoutFraction.map { Int(Double(samples) * $0) } ?? samples / max(folds, 1)
    let training = max(1, samples - validation)
    let batch = min(options.batchSize, training)
    let perEpoch = options.stepsPerEpoch(samples: training)
    let steps = min(options.maximumSteps ?? .max, options.epochs * perEpoch)
    let epochsRun = (steps + perEpoch - 1) / perEpoch
    let work = Trainer.stepWork(model: model, batch: batch)
    let rate = 70e9
    let sync = 60e-6
    func foldSeconds(_ threads: Int) -> Double {
      let workers = Trainer.usefulWorkers(
        threads: threads, stepWork: work, minimumWorkPerThread: options.minimumWorkPerThread)
      let step = work / Double(workers) / rate + (workers > 1 ? sync : 0)
      // Scoring runs on one thread, whatever the fold's workers.
      let scoring = Double(epochsRun + 1) * Double(validation) * 2 * Double(model.parameters.count) / rate
      return Double(steps) * step + scoring
    }
    let sideThreads = threads ?? 1
    let side = max(1, min(runs, cores / sideThreads))
    let sequentialThreads = threads ?? cores
    guard sequentialThreads <= cores else {
      throw PlanError("--threads \(sequentialThreads) per fold is more than the \(cores) allowed cores")
    }
    let rounds = (runs + side - 1) / side
    let sideBySide = Double(rounds) * foldSeconds(sideThreads)
    let sequential = Double(runs) * foldSeconds(sequentialThreads)
    let detail =
      "estimated \(rounds) round(s) of \(format(foldSeconds(sideThreads))) s side by side "
      + "against \(runs) folds of \(format(foldSeconds(sequentialThreads))) s one after another"
    if side > 1 && sideBySide <= sequential {
      return FoldPlan(
        parallelFolds: side, threadsPerFold: sideThreads,
        reason: "\(side) folds side by side, \(sideThreads) thread(s) each: \(detail)")
    }
    return FoldPlan(
      parallelFolds: 1, threadsPerFold: sequentialThreads,
      reason: "folds one after another, \(sequentialThreads) thread(s) each: \(detail)")
  }

  private static func format(_ value: Double) -> String {
    let scaled = (value * 100).rounded() / 100
    return String(scaled)
  }

  /// A plan that cannot run here.
  public struct PlanError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }
}
