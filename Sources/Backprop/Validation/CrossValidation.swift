/// k-fold cross-validation: the same model trained k times, each fold's
/// validation samples held out, folds running one after another or side by
/// side on disjoint cores.
///
/// A fold's result depends only on its data, the options and
/// `options.threads` (the workers of each fold): never on which core group
/// ran it or what ran beside it, so schedules give bitwise-equal folds.
public struct CrossValidation: Sendable {
  /// The model every fold trains (from the same initial weights).
  public var spec: ModelSpec
  /// Its loss.
  public var loss: Loss
  /// How each fold trains; `threads` are each fold's workers.
  public var options: TrainingOptions
  /// The initialisation (seeded by `options.seed`).
  public var initializer: Initializer = .pytorch
  /// Feature scaling, fitted on each fold's training part only.
  public var scaling: FeatureScaling = .none
  /// The number of folds.
  public var folds: Int
  /// Whether folds keep each class's share (classification only).
  public var stratified: Bool
  /// Score on one seeded hold-out split of this fraction instead of k folds.
  public var holdoutFraction: Double? = nil
  /// Log each fold to TensorBoard: a run per fold, `fold-K` in this folder
  /// (see ``TensorBoardRecorder``), with the training loss every `every`
  /// steps when given.
  public var tensorBoard: (folder: String, every: Int?)? = nil

  /// A cross-validation of `spec` with `folds` folds.
  public init(spec: ModelSpec, loss: Loss, options: TrainingOptions, folds: Int, stratified: Bool) {
    self.spec = spec
    self.loss = loss
    self.options = options
    self.folds = folds
    self.stratified = stratified
  }

  /// The validation indices of each fold of `data` (one "fold", the
  /// hold-out part, with ``holdoutFraction``).
  public func split(_ data: Dataset) throws(DatasetError) -> [[Int]] {
    if let fraction = holdoutFraction {
      guard fraction > 0 && fraction < 1 else {
        throw .badOption(option: "--holdout", reason: "must be in (0, 1), got \(fraction)")
      }
      var order = Array(0..<data.count)
      var generator = SeededGenerator(seed: options.seed, stream: RandomStream.folds, index: .max - 1)
      generator.shuffle(&order)
      let count = Int((Double(data.count) * fraction).rounded())
      guard count > 0 && count < data.count else {
        throw .badOption(option: "--holdout", reason: "\(fraction) of \(data.count) samples leaves a part empty")
      }
      return [order.prefix(count).sorted()]
    }
    let labels = stratified && data.targetWidth == 1 ? data.targets.map { Int($0) } : nil
    return try Folds.split(count: data.count, folds: folds, labels: labels, seed: options.seed)
  }

  /// Runs every fold of `data` with `plan` and returns their results in
  /// fold order. `finished` is called (from the fold's thread, one call at
  /// a time per lane) as each fold ends. Once `stop` is requested, the folds
  /// in progress stop at their next step and the others do not start: they
  /// come back marked ``FoldResult/interrupted``. With `only`, just the
  /// (0-based) folds it accepts run, as a rank's share under `mpirun`.
  public func run(
    on data: Dataset, plan: FoldPlan, pinning: PinningPolicy = .compact, stop: StopRequest? = nil,
    only: ((Int) -> Bool)? = nil, finished: (@Sendable (FoldResult) -> Void)? = nil
  ) throws(DatasetError) -> CrossValidationReport {
    let jobs = try split(data).enumerated().map { FoldJob(validation: self, fold: $0, indices: $1) }
      .filter { only?($0.fold) ?? true }
    let started = monotonicSeconds()
    let folds = CrossValidation.run(jobs, on: data, plan: plan, pinning: pinning, stop: stop) { _, result in
      finished?(result)
    }
    return CrossValidationReport(folds: folds, plan: plan, wallSeconds: monotonicSeconds() - started)
  }

  /// One fold to run: which cross-validation, which fold, its validation samples.
  struct FoldJob: Sendable {
    let validation: CrossValidation
    let fold: Int
    let indices: [Int]
  }

  /// Runs `jobs` on `plan`'s lanes (each on its own group of cores, with
  /// `plan.threadsPerFold` workers) and returns their results in job order;
  /// `finished` gets each job's index and result as it ends.
  static func run(
    _ jobs: [FoldJob], on data: Dataset, plan: FoldPlan, pinning: PinningPolicy, stop: StopRequest?,
    finished: (@Sendable (Int, FoldResult) -> Void)?
  ) -> [FoldResult] {
    let (groups, pinning) = plan.laneUnits(pinning: pinning)
    let results = JobResults(count: jobs.count)
    JobRunner.run(jobs: jobs.count, lanes: plan.parallelFolds) { index, lane in
      let job = jobs[index]
      guard stop?.isRequested != true else {
        var result = FoldResult(fold: job.fold + 1, trainSamples: 0, validationSamples: job.indices.count)
        result.failure = "not run (interrupted)"
        result.interrupted = true
        return results.set(index, result)
      }
      var options = job.validation.options
      options.threads = plan.threadsPerFold
      var result = job.validation.runFold(
        job.fold, validation: job.indices, data: data, options: options, pinning: pinning, units: groups[lane],
        stop: stop)
      result.lane = lane
      results.set(index, result)
      if !result.interrupted { finished?(index, result) }
    }
    return results.all
  }

  /// Fold `fold`'s TensorBoard run (0-based; named from 1, padded so that
  /// runs sort in order), when ``tensorBoard`` asks for one.
  func tensorBoardRecorder(fold: Int) throws(TensorBoardLog.Failure) -> TensorBoardRecorder? {
    guard let (folder, every) = tensorBoard else { return nil }
    return try TensorBoardRecorder(
      folder: TensorBoardLog.path(TensorBoardLog.runName("fold-", fold + 1, of: folds), in: folder), every: every,
      evaluationName: "val")
  }

  /// Trains and scores one fold.
  func runFold(
    _ fold: Int, validation indices: [Int], data: Dataset, options: TrainingOptions, pinning: PinningPolicy,
    units: [Topology.ProcessingUnit]?, stop: StopRequest? = nil
  ) -> FoldResult {
    let started = monotonicSeconds()
    let held = Set(indices)
    var training = data.subset((0..<data.count).filter { !held.contains($0) })
    var validation = data.subset(indices)
    var result = FoldResult(fold: fold + 1, trainSamples: training.count, validationSamples: validation.count)
    result.startedAt = started
    func fail(_ reason: String) -> FoldResult {
      result.failure = reason
      result.seconds = monotonicSeconds() - started
      return result
    }
    let classifies = loss.reportsAccuracy(outputs: spec.outputWidth, targetWidth: data.targetWidth)
    let classes = spec.outputWidth == 1 ? 2 : spec.outputWidth
    if classifies {
      let present = Set(training.targets.map { Int($0) })
      if let missing = Set(data.targets.map { Int($0) }).subtracting(present).min() {
        return fail("class \(missing) has no training sample in this fold")
      }
    }
    if scaling != .none {
      let scaler = FeatureScaler(fitting: scaling, to: training)
      scaler.apply(to: &training)
      scaler.apply(to: &validation)
    }
    let model = Model(spec: spec, loss: loss, initializer: initializer, seed: options.seed)
    let trainer = Trainer(model: model, training: training, options: options, pinning: pinning, units: units)
    let board: TensorBoardRecorder?
    do { board = try tensorBoardRecorder(fold: fold) } catch { return fail(error.description) }
    let history: [EpochMetrics]
    do {
      history = try trainer.train(
        evaluation: validation, control: RunControl(stop: stop), progress: board?.every.map { _ in board!.stepEnded },
        epochEnd: board.map { $0.epochEnded })
    } catch {
      _ = board?.close()
      if case .interrupted = error { result.interrupted = true }
      return fail(error.description)
    }
    if let failure = board?.close() { return fail(failure.description) }
    let (evaluation, predicted) = model.evaluateAndPredict(validation)
    result.validationLoss = evaluation.loss
    result.validationAccuracy = evaluation.accuracy
    result.epochs = history.count
    let losses = history.map { $0.evaluation?.loss ?? .infinity }
    result.bestEpoch = losses.indices.min { losses[$0] < losses[$1] }.map { $0 + 1 } ?? 0
    if classifies {
      result.classes = ClassMetrics.report(
        predicted: predicted, actual: validation.targets.map { Int($0) }, classes: classes)
    }
    var crc = CRC32()
    crc.add(UnsafeRawBufferPointer(model.parameters.pointer))
    result.weightsChecksum = crc.hex
    result.cpus = Array(Set(trainer.recordedCPUs().joined().filter { $0 >= 0 })).sorted()
    result.workers = trainer.workerCount
    result.execution = trainer.executionMode.description
    result.seconds = monotonicSeconds() - started
    return result
  }
}

/// How folds are scheduled: how many run side by side, with how many
/// threads each, and why.
public struct FoldPlan: Sendable, Hashable {
  /// Folds running at once, each on its own group of cores.
  public var parallelFolds: Int
  /// Worker threads of each fold.
  public var threadsPerFold: Int
  /// Why this plan, in words.
  public var reason: String

  /// A plan as given.
  public init(parallelFolds: Int, threadsPerFold: Int, reason: String) {
    self.parallelFolds = parallelFolds
    self.threadsPerFold = threadsPerFold
    self.reason = reason
  }
}

extension FoldPlan {
  /// The cores of each lane and the pinning to use: disjoint groups of whole
  /// cores when the plan fits the allowed cores; otherwise no groups and no
  /// pinning (every lane's first worker would be pinned to the same CPU).
  func laneUnits(pinning: PinningPolicy) -> ([[Topology.ProcessingUnit]?], PinningPolicy) {
    if let groups = Topology.shared.coreGroups(count: parallelFolds, coresEach: threadsPerFold) {
      return (groups, pinning)
    }
    return (Array(repeating: nil, count: parallelFolds), .none)
  }
}

/// What one fold measured.
public struct FoldResult: Sendable, Hashable {
  /// The 1-based fold.
  public var fold: Int
  /// Samples trained on and validated on.
  public var trainSamples: Int, validationSamples: Int
  /// The validation loss and accuracy of the fold's final weights (the
  /// best epoch's with early stopping).
  public var validationLoss = Double.nan
  public var validationAccuracy: Double? = nil
  /// Per-class precision, recall and F1 on the validation part (classification).
  public var classes: [ClassMetrics]? = nil
  /// The epoch with the lowest validation loss, and the epochs trained.
  public var bestEpoch = 0, epochs = 0
  /// Wall-clock seconds of the fold (its data, training and scoring).
  public var seconds = 0.0
  /// When the fold began, in seconds of the monotonic clock (folds of one
  /// run compare; the origin is arbitrary).
  public var startedAt = 0.0
  /// The CPUs its workers ran on, and how many workers it had.
  public var cpus: [Int] = [], workers = 0
  /// The lane (thread of the schedule, with its own group of cores) that ran it.
  public var lane = 0
  /// How its workers ran (see ``Trainer/ExecutionMode``).
  public var execution = ""
  /// CRC-32 of the final weights: equal folds have equal checksums.
  public var weightsChecksum = ""
  /// Why the fold failed (it diverged, a class was missing), or `nil`.
  public var failure: String? = nil
  /// Whether a stop request (a signal) ended the fold early or kept it from
  /// starting: it did not fail, it did not finish.
  public var interrupted = false

  init(fold: Int, trainSamples: Int, validationSamples: Int) {
    self.fold = fold
    self.trainSamples = trainSamples
    self.validationSamples = validationSamples
  }
}

/// The folds of a cross-validation and their summary.
public struct CrossValidationReport: Sendable {
  /// Every fold, in order.
  public var folds: [FoldResult]
  /// How they were scheduled.
  public var plan: FoldPlan
  /// Wall-clock seconds of the whole run.
  public var wallSeconds: Double

  /// The folds that did not fail.
  public var succeeded: [FoldResult] { folds.filter { $0.failure == nil } }

  /// Whether a stop request ended some folds early (see ``FoldResult/interrupted``).
  public var wasInterrupted: Bool { folds.contains { $0.interrupted } }

  /// The report of the folds that finished (succeeded or failed), without
  /// those a stop request cut short.
  public var finishedFolds: CrossValidationReport {
    var report = self
    report.folds = folds.filter { !$0.interrupted }
    return report
  }

  /// The most folds that were training at the same moment, from their
  /// start times and durations: how the schedule actually ran (folds too
  /// short to overlap run one after another whatever the plan).
  public var mostFoldsAtOnce: Int {
    var events: [(time: Double, change: Int)] = []
    for fold in succeeded {
      events.append((fold.startedAt, 1))
      events.append((fold.startedAt + fold.seconds, -1))
    }
    // Ends before starts at the same moment: touching folds did not overlap.
    events.sort { $0.time != $1.time ? $0.time < $1.time : $0.change < $1.change }
    var running = 0
    var most = 0
    for (_, change) in events {
      running += change
      most = max(most, running)
    }
    return most
  }

  /// The CPUs the folds' workers were seen on, over all folds.
  public var cpusUsed: [Int] { Array(Set(folds.flatMap(\.cpus))).sorted() }

  /// Mean and sample standard deviation (n − 1, as `numpy.std(ddof=1)`) of
  /// `value` over the folds that succeeded; `nil` when none did.
  public func summary(_ value: (FoldResult) -> Double?) -> (mean: Double, std: Double)? {
    meanAndDeviation(succeeded.compactMap(value))
  }
}

/// Mean and sample standard deviation (n − 1) of `values`; `nil` when empty.
func meanAndDeviation(_ values: [Double]) -> (mean: Double, std: Double)? {
  guard !values.isEmpty else { return nil }
  let mean = values.reduce(0, +) / Double(values.count)
  guard values.count > 1 else { return (mean, 0) }
  let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count - 1)
  return (mean, variance.squareRoot())
}

/// One slot per job (a fold), each written once by the lane that ran it and
/// read only after ``JobRunner/run(jobs:lanes:_:)`` has joined every lane.
///
/// Disjoint slots rather than a `Mutex`: the lanes need no lock, and the
/// thread sanitizer does not see the `Synchronization` module's `Mutex` on
/// Linux (it reported its guarded accesses as races), while it does see the
/// join.
final class JobResults: @unchecked Sendable {
  // @unchecked Sendable: each slot has one writer, and reads follow the join.
  private let slots: UnsafeMutableBufferPointer<FoldResult?>

  init(count: Int) { slots = .allocate(capacity: count); slots.initialize(repeating: nil) }

  deinit {
    _ = slots.deinitialize()
    slots.deallocate()
  }

  func set(_ index: Int, _ result: FoldResult) { slots[index] = result }

  var all: [FoldResult] { slots.map { $0! } }
}
