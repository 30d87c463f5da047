/// Hyperparameter search: trials, each a cross-validation (or a hold-out
/// split) of one setting, whose folds are all scheduled together across the
/// core groups like the folds of one cross-validation.
public enum Search {
  /// One setting to score.
  public struct Trial: Sendable {
    /// The setting, as name–value pairs (for reports).
    public var values: [(name: String, value: String)]
    /// How the setting trains and is scored; `nil` if it could not be set
    /// up (then ``failure`` says why).
    public var validation: CrossValidation?
    /// Why the setting cannot run, if it cannot.
    public var failure: String?

    /// A trial of `values` scored by `validation`, or failed for `failure`.
    public init(values: [(name: String, value: String)], validation: CrossValidation?, failure: String? = nil) {
      self.values = values
      self.validation = validation
      self.failure = failure
    }

    /// `name=value` pairs, space-separated.
    public var label: String { values.map { "\($0.name)=\($0.value)" }.joined(separator: " ") }
  }

  /// What a trial measured.
  public struct TrialResult: Sendable {
    /// Its 1-based number, in the order the trials were given.
    public var trial: Int
    /// The setting.
    public var values: [(name: String, value: String)]
    /// Its folds (one with a hold-out split), in fold order.
    public var folds: [FoldResult]
    /// Why it could not be set up, if it could not.
    public var setupFailure: String?
    /// Why it failed: set up, or a fold failed (diverged, a class missing).
    public var failure: String? {
      setupFailure ?? folds.first { $0.failure != nil }.map { "fold \($0.fold): \($0.failure!)" }
    }
    /// Wall-clock seconds of its folds, summed.
    public var seconds: Double { folds.reduce(0) { $0 + $1.seconds } }
    /// Whether a stop request cut one of its folds short: it has no result.
    public var interrupted: Bool { folds.contains { $0.interrupted } }

    /// Mean and sample standard deviation of `value` over its folds; `nil`
    /// when it failed.
    public func summary(_ value: (FoldResult) -> Double?) -> (mean: Double, std: Double)? {
      guard failure == nil else { return nil }
      return meanAndDeviation(folds.compactMap(value))
    }
  }

  /// Runs every fold of every trial on `plan`'s lanes and returns the trials
  /// in order. A trial that fails does not stop the others. Once `stop` is
  /// requested, folds stop or do not start (see
  /// ``CrossValidation/run(on:plan:pinning:stop:finished:)``), and the trials
  /// they belong to come back with ``TrialResult/interrupted`` set. With
  /// `only`, just the runs it accepts (numbered from 0, the folds of the
  /// first trial first) take place, as a rank's share under `mpirun`.
  public static func run(
    trials: [Trial], on data: Dataset, plan: FoldPlan, pinning: PinningPolicy = .compact, stop: StopRequest? = nil,
    only: ((Int) -> Bool)? = nil, finished: (@Sendable (Int, FoldResult) -> Void)? = nil
  ) -> [TrialResult] {
    // The folds of every trial that could be set up.
    var jobs: [CrossValidation.FoldJob] = []
    var trialOfJob: [Int] = []
    var failures = trials.map(\.failure)
    for (index, trial) in trials.enumerated() where trial.failure == nil {
      guard let validation = trial.validation else { continue }
      do {
        for (fold, indices) in try validation.split(data).enumerated() {
          jobs.append(.init(validation: validation, fold: fold, indices: indices))
          trialOfJob.append(index)
        }
      } catch {
        failures[index] = error.description
      }
    }
    let chosen = jobs.indices.filter { only?($0) ?? true }
    let owners = chosen.map { trialOfJob[$0] }
    let results = CrossValidation.run(chosen.map { jobs[$0] }, on: data, plan: plan, pinning: pinning, stop: stop) {
      job, result in
      finished?(owners[job], result)
    }
    return trials.indices.map { index in
      let folds = zip(owners, results).filter { $0.0 == index }.map(\.1)
      return TrialResult(trial: index + 1, values: trials[index].values, folds: folds, setupFailure: failures[index])
    }
  }
}
