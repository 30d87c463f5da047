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
  ///   - cores: the cores to plan for (default: those this process may use).
  /// - Throws: a message when the request needs more cores than allowed.
  ///
  /// `auto` tries every split of the cores into L lanes of T threads each
  /// (T as asked, else the cores divided by L) and takes the one a simple
  /// cost model finds fastest: the runs go in rounds of L, and a run on T
  /// threads costs its steps at the data-parallel speed the step's work
  /// allows. A step of W FLOPs (the layers' own counts, ``ModelSpec/trainingFLOPsPerSample`` × B)
  /// costs W / T / R + s on T > 1 threads
  /// (R ≈ 70 GFLOP/s per core, s ≈ 60 µs of barriers and imbalance per
  /// step, both measured on the project machine); scoring the validation
  /// part after every epoch and at the end (the layers' forward FLOPs a
  /// sample) is counted
  /// at one thread's speed whatever T, which is what makes folds side by
  /// side win even for models whose steps scale well. That is exact for the
  /// final scoring and an overestimate for the per-epoch one, which a
  /// fold's workers now share. On equal estimates the plan with more folds
  /// side by side wins.
  public static func choose(
    folds: Int, parallel: Int?, threads: Int?, model: Model, options: TrainingOptions, samples: Int,
    runs: Int? = nil, holdoutFraction: Double? = nil, cores: Int = Topology.shared.allowedCores
  ) throws(PlanError) -> FoldPlan {
    let runs = runs ?? folds
    let cores = max(1, cores)
    if let parallel {
      let side = min(parallel, runs)
      let each = threads ?? max(1, cores / side)
      guard side * each <= cores else {
        throw PlanError(
          "--parallel-folds \(parallel) × --threads \(each) needs \(side * each) cores; \(cores) are allowed")
      }
      return FoldPlan(parallelFolds: side, threadsPerFold: each, reason: "as asked")
    }
    if let threads, threads > cores {
      throw PlanError("--threads \(threads) per fold is more than the \(cores) allowed cores")
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
      // Scoring counted at one thread's speed (see above).
      let scoring = Double(epochsRun + 1) * Double(validation) * Double(model.spec.inferenceFLOPsPerSample) / rate
      return Double(steps) * step + scoring
    }
    struct Candidate {
      let lanes: Int, threads: Int, rounds: Int, seconds: Double
    }
    let candidates = (1...max(1, min(runs, cores / (threads ?? 1)))).map { lanes in
      let each = threads ?? cores / lanes
      let rounds = (runs + lanes - 1) / lanes
      return Candidate(lanes: lanes, threads: each, rounds: rounds, seconds: Double(rounds) * foldSeconds(each))
    }
    // The first of the fastest, scanning from the most lanes down.
    let best = candidates.reversed().min { $0.seconds < $1.seconds }!
    let sequential = candidates[0]
    var reason =
      best.lanes > 1
      ? "\(best.lanes) folds side by side, \(best.threads) thread(s) each: estimated \(best.rounds) round(s) of "
        + "\(format(best.seconds / Double(best.rounds))) s"
      : "folds one after another, \(best.threads) thread(s) each: estimated \(runs) fold(s) of "
        + "\(format(best.seconds / Double(runs))) s"
    if best.lanes > 1 {
      reason += " against \(runs) folds of \(format(sequential.seconds / Double(runs))) s one after another"
    } else if let side = candidates.last, side.lanes > 1 {
      reason += " against \(side.rounds) round(s) of \(format(side.seconds / Double(side.rounds))) s "
      reason += "with \(side.lanes) side by side"
    }
    return FoldPlan(parallelFolds: best.lanes, threadsPerFold: best.threads, reason: reason)
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
