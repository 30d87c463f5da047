/// The serial part of a run, between steps: epochs, shuffling, batches,
/// learning rates, bookkeeping, progress and evaluation. It runs on one
/// thread (worker 0, the caller of ``Trainer/train(evaluation:progress:epochEnd:)``)
/// while the other workers wait at a barrier.
final class EpochDriver: @unchecked Sendable {
  // @unchecked Sendable: only worker 0 (the calling thread) ever uses it;
  // it crosses into the workers' closure without being touched by the others.
  private unowned let trainer: Trainer
  private let evaluation: Dataset?
  private let progress: ((TrainingProgress) -> Void)?
  private let epochEnd: ((EpochMetrics) -> Void)?

  /// The metrics of the finished epochs.
  private(set) var history: [EpochMetrics] = []
  /// Why the run stopped early, if it did.
  private(set) var error: TrainingError? = nil

  private let samples: Int
  private let batches: Int
  private let total: Int
  private let reportsAccuracy: Bool
  private let clock = ContinuousClock()
  /// The epoch's sample order; steps' indices point into it, so it is owned
  /// here, allocated once, and rewritten only between epochs.
  private let order: UnsafeMutableBufferPointer<Int>
  private var epoch = -1
  private var batch = 0
  private var epochStarted = ContinuousClock.now
  private var lossSum = 0.0
  private var correct = 0
  private var seen = 0
  private var rows = 0
  private var learningRateOfLastStep = 0.0
  private var samplesInRun = 0

  init(
    trainer: Trainer, evaluation: Dataset?, progress: ((TrainingProgress) -> Void)?,
    epochEnd: ((EpochMetrics) -> Void)?
  ) {
    self.trainer = trainer
    self.evaluation = evaluation
    self.progress = progress
    self.epochEnd = epochEnd
    samples = trainer.training.count
    batches = trainer.options.stepsPerEpoch(samples: samples)
    total = trainer.totalSteps
    reportsAccuracy = trainer.model.loss.reportsAccuracy(
      outputs: trainer.model.spec.outputWidth, targetWidth: trainer.training.targetWidth)
    order = .allocate(capacity: samples)
    _ = order.initialize(from: 0..<samples)
  }

  deinit { order.deallocate() }

  /// The next step, closing and opening epochs as needed; `nil` when the run
  /// is over.
  ///
  /// - Parameter synchronize: waits until every worker has finished the
  ///   previous step; called before an epoch is closed, since evaluation and
  ///   the epoch's callback read the parameters.
  func next(synchronize: () -> Void = {}) -> StepCommand? {
    let options = trainer.options
    if error != nil {
      synchronize()
      return nil
    }
    if epoch < 0 || batch == batches || trainer.stepsTaken == total {
      synchronize()
      if epoch >= 0 { closeEpoch() }
      guard epoch + 1 < options.epochs, trainer.stepsTaken < total else { return nil }
      openEpoch()
    }
    let start = batch * options.batchSize
    rows = min(options.batchSize, samples - start)
    let learningRate = options.schedule.learningRate(
      base: options.optimizer.learningRate, step: trainer.stepsTaken, epoch: epoch, totalSteps: total)
    learningRateOfLastStep = learningRate
    return StepCommand(
      kind: .step, indices: UnsafeBufferPointer(rebasing: order[start..<(start + rows)]),
      learningRate: learningRate, step: trainer.stepsTaken)
  }

  /// Takes in the results of the step published in `bank`.
  func finish(bank: Int) {
    let result = trainer.finishStep(bank: bank)
    guard result.loss.isFinite else {
      error = .diverged(epoch: epoch + 1, step: trainer.stepsTaken + 1, what: "loss")
      return
    }
    lossSum += result.loss
    correct += result.correct
    seen += rows
    samplesInRun += rows
    batch += 1
    if let progress {
      let seconds = (clock.now - epochStarted).seconds
      progress(
        TrainingProgress(
          epoch: epoch + 1, epochs: trainer.options.epochs, batch: batch, batches: batches,
          step: trainer.stepsTaken, totalSteps: total, loss: lossSum / Double(seen),
          samplesPerSecond: seconds > 0 ? Double(seen) / seconds : 0, samplesSeen: samplesInRun))
    }
  }

  private func openEpoch() {
    epoch += 1
    batch = 0
    lossSum = 0
    correct = 0
    seen = 0
    if trainer.options.shuffle {
      for i in order.indices { order[i] = i }
      var generator = SeededGenerator(seed: trainer.options.seed, stream: RandomStream.shuffle, index: UInt64(epoch))
      generator.shuffle(order)
    }
    epochStarted = clock.now
  }

  private func closeEpoch() {
    let elapsed = (clock.now - epochStarted).seconds
    let metrics = EpochMetrics(
      epoch: epoch + 1, steps: trainer.stepsTaken, trainLoss: lossSum / Double(max(seen, 1)),
      trainAccuracy: reportsAccuracy ? Double(correct) / Double(max(seen, 1)) : nil,
      // On this thread only: the other workers are waiting at the barrier.
      evaluation: evaluation.map { trainer.model.evaluate($0) },
      seconds: elapsed, samplesPerSecond: elapsed > 0 ? Double(seen) / elapsed : 0,
      learningRate: learningRateOfLastStep)
    history.append(metrics)
    epochEnd?(metrics)
  }

  /// Adds the timings of the step published in `bank`, which took `wall`
  /// seconds, to the trainer's profile. Called once no worker writes that
  /// bank's slots any more.
  func recordProfile(bank: Int, wall: Double) {
    typealias Slot = Trainer.Slot
    var shards = 0
    var gather = 0.0
    var slowest = 0.0
    var computeSum = 0.0
    var lastEnd = 0.0
    var slowestGradient = 0.0
    var gradientSum = 0.0
    var update = 0.0
    for w in 0..<trainer.workerCount {
      let slot = trainer.slot(w, bank: bank)
      slowestGradient = max(slowestGradient, slot[Slot.gradient.rawValue])
      gradientSum += slot[Slot.gradient.rawValue]
      update = max(update, slot[Slot.update.rawValue])
      guard slot[Slot.active.rawValue] == 1 else { continue }
      shards += 1
      gather += slot[Slot.gather.rawValue]
      computeSum += slot[Slot.compute.rawValue]
      slowest = max(slowest, slot[Slot.compute.rawValue] + slot[Slot.gather.rawValue])
      lastEnd = max(lastEnd, slot[Slot.phaseEnd.rawValue])
    }
    var wait = 0.0
    for w in 0..<trainer.workerCount {
      let slot = trainer.slot(w, bank: bank)
      if slot[Slot.active.rawValue] == 1 { wait += lastEnd - slot[Slot.phaseEnd.rawValue] }
    }
    let count = Double(max(shards, 1))
    // One write of the trainer's property, not seven (each is an access check).
    var profile = trainer.profile
    profile.steps += 1
    profile.wallSeconds += wall
    profile.dataSeconds += gather / count
    profile.computeSlowestSeconds += slowest - gather / count + slowestGradient
    profile.computeMeanSeconds += computeSum / count + gradientSum / Double(trainer.workerCount)
    profile.waitMeanSeconds += wait / count
    profile.updateSeconds += update
    trainer.profile = profile
  }
}
