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
  private let control: RunControl

  /// The metrics of the finished epochs.
  private(set) var history: [EpochMetrics]
  /// Why the run stopped early, if it did.
  private(set) var error: TrainingError? = nil
  /// Whether early stopping ended the run.
  private(set) var stoppedEarly = false
  /// The 1-based epoch with the lowest evaluation loss (early stopping).
  var bestEpoch: Int? { position.best?.epoch }

  private let samples: Int
  private let batches: Int
  private let total: Int
  private let reportsAccuracy: Bool
  private let clock = ContinuousClock()
  /// The epoch's sample order; steps' indices point into it, so it is owned
  /// here, allocated once, and rewritten only between epochs.
  private let order: UnsafeMutableBufferPointer<Int>
  /// Where the run is; `epochOpen` says whether `position.epoch` has begun.
  private var position: TrainingPosition
  private var epochOpen = false
  private var epochStarted = ContinuousClock.now
  /// The samples of the epoch seen before this process took it up (resume).
  private var seenBeforeStart = 0
  private var rows = 0
  private var learningRateOfLastStep = 0.0
  private var samplesInRun = 0
  /// Where the last checkpoint was taken (or the run resumed).
  private var lastCheckpoint: (epoch: Int, batch: Int, steps: Int)? = nil

  init(
    trainer: Trainer, evaluation: Dataset?, progress: ((TrainingProgress) -> Void)?,
    epochEnd: ((EpochMetrics) -> Void)?, control: RunControl, resume: Trainer.ResumePoint?
  ) {
    self.trainer = trainer
    self.evaluation = evaluation
    self.progress = progress
    self.epochEnd = epochEnd
    self.control = control
    samples = trainer.training.count
    batches = trainer.options.stepsPerEpoch(samples: samples)
    total = trainer.totalSteps
    reportsAccuracy = trainer.model.loss.reportsAccuracy(
      outputs: trainer.model.spec.outputWidth, targetWidth: trainer.training.targetWidth)
    order = .allocate(capacity: samples)
    _ = order.initialize(from: 0..<samples)
    var start = resume?.position ?? TrainingPosition()
    start.steps = trainer.stepsTaken
    // An epoch cut short by a step limit is reported again when it finishes.
    history = (resume?.history ?? []).filter { $0.epoch <= start.epoch }
    position = start
    if resume != nil { lastCheckpoint = (position.epoch, position.batch, position.steps) }
    // A run that early stopping had ended stays ended.
    if let patience = trainer.options.earlyStoppingPatience, let best = position.best, position.batch == 0,
      position.epoch - best.epoch >= patience
    {
      stoppedEarly = true
    }
    if position.batch > 0 {
      // Mid-epoch: the same order as the interrupted run, and its sums.
      let saved = position
      openEpoch(position.epoch)
      position = saved
      seenBeforeStart = saved.seen
    }
  }

  deinit { order.deallocate() }

  /// The next step, closing and opening epochs and writing checkpoints as
  /// needed; `nil` when the run is over or was asked to stop.
  ///
  /// - Parameters:
  ///   - synchronize: waits until every worker has finished the previous
  ///     step; called before an epoch is closed or a checkpoint taken, since
  ///     evaluation and checkpoints read the parameters.
  ///   - evaluate: scores the evaluation set with the whole team, once
  ///     synchronized; without it, this thread scores it alone.
  func next(synchronize: () -> Void = {}, evaluate: ((Dataset) -> Evaluation)? = nil) -> StepCommand? {
    let options = trainer.options
    if error != nil {
      synchronize()
      return nil
    }
    // Across ranks, only the stop all ranks learnt of in the same step counts.
    if let stop = control.stop, trainer.processes.isDistributed ? trainer.stopAgreed : stop.isRequested {
      synchronize()
      if error != nil { return nil }
      if let last = lastCheckpoint, last.epoch == position.epoch && last.batch == position.batch {
        // Nothing happened since the last checkpoint: it stays as it is.
      } else {
        checkpoint()
      }
      error = .interrupted(epoch: position.epoch + 1, steps: position.steps)
      return nil
    }
    if !epochOpen || position.batch == batches || position.steps == total {
      synchronize()
      if error != nil { return nil }  // found by the synchronisation: nothing is closed or saved
      if epochOpen { closeEpoch(evaluate: evaluate) }
      guard error == nil else { return nil }  // a checkpoint could not be written
      guard position.epoch < options.epochs, position.steps < total, !stoppedEarly else { return nil }
      openEpoch(position.epoch)
    } else if let every = control.checkpointEverySteps, position.steps % every == 0,
      position.steps != lastCheckpoint?.steps
    {
      synchronize()
      if error != nil { return nil }
      checkpoint()
      if error != nil { return nil }
    }
    let start = position.batch * options.batchSize
    rows = min(options.batchSize, samples - start)
    let learningRate = options.schedule.learningRate(
      base: options.optimizer.learningRate, step: position.steps, epoch: position.epoch, totalSteps: total)
    learningRateOfLastStep = learningRate
    return StepCommand(
      kind: .step, indices: UnsafeBufferPointer(rebasing: order[start..<(start + rows)]),
      learningRate: learningRate, step: position.steps, epoch: position.epoch)
  }

  /// Takes in the results of the step published in `bank`.
  ///
  /// - Parameter allUpdated: whether every worker has finished the step's
  ///   update (see ``Trainer/finishStep(bank:allUpdated:)``).
  func finish(bank: Int, allUpdated: Bool = true) {
    let result = trainer.finishStep(bank: bank, allUpdated: allUpdated)
    if let what = result.nonFinite {
      guard trainer.options.onNonFinite == .skipBatch else {
        if error == nil { error = .diverged(epoch: position.epoch + 1, step: position.steps + 1, what: what) }
        return
      }
      position.skippedBatches += 1
    } else {
      position.lossSum += result.loss
      position.correct += result.correct
      position.seen += rows
      position.steps = trainer.stepsTaken
    }
    samplesInRun += rows
    position.batch += 1
    if let progress {
      let seconds = (clock.now - epochStarted).seconds
      let seen = max(position.seen, 1)
      progress(
        TrainingProgress(
          epoch: position.epoch + 1, epochs: trainer.options.epochs, batch: position.batch, batches: batches,
          step: position.steps, totalSteps: total, loss: position.lossSum / Double(seen),
          samplesPerSecond: seconds > 0 ? Double(position.seen - seenBeforeStart) / seconds : 0,
          samplesSeen: samplesInRun, batchLoss: result.nonFinite == nil ? result.loss / Double(rows) : .nan))
    }
  }

  /// Stops the run: step `step` (1-based) had a non-finite gradient, found
  /// once every worker had finished it (see ``Trainer/divergedStep(bank:)``).
  func stopDiverged(step: Int) {
    guard error == nil else { return }
    error = .diverged(epoch: position.epoch + 1, step: step, what: "gradient")
  }

  private func openEpoch(_ epoch: Int) {
    position.epoch = epoch
    position.batch = 0
    position.skippedBatches = 0
    position.lossSum = 0
    position.correct = 0
    position.seen = 0
    seenBeforeStart = 0
    epochOpen = true
    if trainer.options.shuffle {
      for i in order.indices { order[i] = i }
      var generator = SeededGenerator(seed: trainer.options.seed, stream: RandomStream.shuffle, index: UInt64(epoch))
      generator.shuffle(order)
    }
    epochStarted = clock.now
  }

  private func closeEpoch(evaluate: ((Dataset) -> Evaluation)?) {
    // Skipping most batches is divergence too: nothing of the epoch is kept.
    if position.skippedBatches > 0,
      Double(position.skippedBatches) > NonFinitePolicy.maximumSkippedShare * Double(position.batch)
    {
      error = .mostBatchesSkipped(epoch: position.epoch + 1, skipped: position.skippedBatches, batches: position.batch)
      return
    }
    let elapsed = (clock.now - epochStarted).seconds
    let seen = Double(max(position.seen, 1))
    let metrics = EpochMetrics(
      epoch: position.epoch + 1, steps: position.steps, trainLoss: position.lossSum / seen,
      trainAccuracy: reportsAccuracy ? Double(position.correct) / seen : nil,
      evaluation: evaluation.map { evaluate?($0) ?? trainer.scoreAlone($0) },
      seconds: elapsed, samplesPerSecond: elapsed > 0 ? Double(position.seen - seenBeforeStart) / elapsed : 0,
      learningRate: learningRateOfLastStep, skippedBatches: position.skippedBatches)
    history.append(metrics)
    epochOpen = false
    trackBest(metrics)
    epochEnd?(metrics)
    // A run cut short by its step limit stays mid-epoch, so a resume with a
    // higher limit goes on inside the same epoch.
    if position.batch == batches {
      let best = position.best
      position = TrainingPosition()
      position.epoch = metrics.epoch
      position.steps = metrics.steps
      position.best = best
    }
    checkpoint()
  }

  /// Early stopping: keeps the weights of the epoch with the lowest
  /// evaluation loss, and ends the run once `patience` epochs have passed
  /// without a lower one.
  private func trackBest(_ metrics: EpochMetrics) {
    guard let patience = trainer.options.earlyStoppingPatience, let best = trainer.bestParameters,
      let loss = metrics.evaluation?.loss
    else { return }
    if loss < position.best?.loss ?? .infinity {
      position.best = .init(epoch: metrics.epoch, loss: loss)
      best.base.update(from: trainer.model.parameters.base, count: best.count)
    } else if let last = position.best, metrics.epoch - last.epoch >= patience {
      stoppedEarly = true
    }
  }

  /// Hands the position and history to the checkpoint writer, if any; a
  /// writer that fails stops the run (a run that cannot checkpoint would
  /// lose its work to the next interruption).
  private func checkpoint() {
    guard let write = control.checkpoint else { return }
    lastCheckpoint = (position.epoch, position.batch, position.steps)
    do { try write(position, history) } catch let failure {
      if error == nil {
        // Between epochs the position names the next one; report the last one run.
        let epoch = position.batch == 0 ? max(position.epoch, 1) : position.epoch + 1
        error = .checkpointFailed(epoch: epoch, steps: position.steps, reason: String(describing: failure))
      }
    }
  }
}
