/// The serial part of a run, between steps: epochs, shuffling, batches,
/// learning rates, bookkeeping, progress and evaluation. It runs on one
/// thread (worker 0, the caller of ``Trainer/train(evaluation:progress:epochEnd:)``)
/// while the other workers wait at a barrier.
final class EpochDriver: @unchecked Sendable {
  // @unchecked Sendable: only worker 0 (the calling thread) ever uses it;
  // it crosses into the workers' closure without being touched by the others.
  private unowned let trainer: Trainer
  private let evaluation: Dataset?
  private let evaluator: Evaluator?
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
  private var order: [Int]
  private var epoch = -1
  private var batch = 0
  private var epochStarted = ContinuousClock.now
  private var lossSum = 0.0
  private var correct = 0
  private var seen = 0
  private var rows = 0
  private var stepStarted = 0.0

  init(
    trainer: Trainer, evaluation: Dataset?, progress: ((TrainingProgress) -> Void)?,
    epochEnd: ((EpochMetrics) -> Void)?
  ) {
    self.trainer = trainer
    self.evaluation = evaluation
    evaluator = evaluation.map {
      Evaluator(model: trainer.model, capacity: max(1, min(1024, $0.count)), targetWidth: $0.targetWidth)
    }
    self.progress = progress
    self.epochEnd = epochEnd
    samples = trainer.training.count
    batches = trainer.options.stepsPerEpoch(samples: samples)
    total = trainer.totalSteps
    reportsAccuracy = trainer.model.loss.reportsAccuracy(
      outputs: trainer.model.spec.outputWidth, targetWidth: trainer.training.targetWidth)
    order = Array(0..<samples)
  }

  /// Publishes the next step in ``Trainer/command``, closing and opening
  /// epochs as needed; `false` when the run is over.
  func next() -> Bool {
    let options = trainer.options
    if error != nil { return false }
    if epoch < 0 || batch == batches || trainer.stepsTaken == total {
      if epoch >= 0 { closeEpoch() }
      guard epoch + 1 < options.epochs, trainer.stepsTaken < total else { return false }
      openEpoch()
    }
    let start = batch * options.batchSize
    rows = min(options.batchSize, samples - start)
    let learningRate = options.schedule.learningRate(
      base: options.optimizer.learningRate, step: trainer.stepsTaken, epoch: epoch, totalSteps: total)
    order.withUnsafeBufferPointer { order in
      trainer.command = StepCommand(
        stop: false, indices: UnsafeBufferPointer(rebasing: order[start..<(start + rows)]),
        learningRate: learningRate, step: trainer.stepsTaken)
    }
    stepStarted = monotonicSeconds()
    return true
  }

  /// Takes in the finished step's results.
  func finish() {
    let result = trainer.finishStep()
    recordProfile()
    guard result.loss.isFinite else {
      error = .diverged(epoch: epoch + 1, step: trainer.stepsTaken + 1, what: "loss")
      return
    }
    lossSum += result.loss
    correct += result.correct
    seen += rows
    batch += 1
    if let progress {
      let seconds = (clock.now - epochStarted).seconds
      progress(
        TrainingProgress(
          epoch: epoch + 1, epochs: trainer.options.epochs, batch: batch, batches: batches,
          step: trainer.stepsTaken, totalSteps: total, loss: lossSum / Double(seen),
          samplesPerSecond: seconds > 0 ? Double(seen) / seconds : 0))
    }
  }

  private func openEpoch() {
    epoch += 1
    batch = 0
    lossSum = 0
    correct = 0
    seen = 0
    if trainer.options.shuffle {
      // The order array keeps its storage: the step's indices point into it.
      for i in order.indices { order[i] = i }
      var generator = SeededGenerator(seed: trainer.options.seed, stream: RandomStream.shuffle, index: UInt64(epoch))
      generator.shuffle(&order)
    }
    epochStarted = clock.now
  }

  private func closeEpoch() {
    let elapsed = (clock.now - epochStarted).seconds
    let metrics = EpochMetrics(
      epoch: epoch + 1, steps: trainer.stepsTaken, trainLoss: lossSum / Double(max(seen, 1)),
      trainAccuracy: reportsAccuracy ? Double(correct) / Double(max(seen, 1)) : nil,
      evaluation: evaluation.flatMap { data in evaluator?.evaluate(data) },
      seconds: elapsed, samplesPerSecond: elapsed > 0 ? Double(seen) / elapsed : 0,
      learningRate: trainer.command.learningRate)
    history.append(metrics)
    epochEnd?(metrics)
  }

  /// Adds the finished step's timings to the trainer's profile.
  private func recordProfile() {
    let slots = trainer.slots.base
    let width = Trainer.Slot.width
    var shards = 0
    var gather = 0.0
    var slowest = 0.0
    var computeSum = 0.0
    var lastEnd = 0.0
    for w in 0..<trainer.workerCount where slots[w * width + Trainer.Slot.active.rawValue] == 1 {
      shards += 1
      gather += slots[w * width + Trainer.Slot.gather.rawValue]
      let compute = slots[w * width + Trainer.Slot.compute.rawValue]
      computeSum += compute
      slowest = max(slowest, compute + slots[w * width + Trainer.Slot.gather.rawValue])
      lastEnd = max(lastEnd, slots[w * width + Trainer.Slot.phaseEnd.rawValue])
    }
    var wait = 0.0
    for w in 0..<trainer.workerCount where slots[w * width + Trainer.Slot.active.rawValue] == 1 {
      wait += lastEnd - slots[w * width + Trainer.Slot.phaseEnd.rawValue]
    }
    var reduce = 0.0
    for s in 0..<trainer.workerCount { reduce = max(reduce, slots[s * width + Trainer.Slot.reduce.rawValue]) }
    let count = Double(max(shards, 1))
    trainer.profile.steps += 1
    trainer.profile.wallSeconds += monotonicSeconds() - stepStarted
    trainer.profile.dataSeconds += gather / count
    trainer.profile.computeSlowestSeconds += slowest - gather / count
    trainer.profile.computeMeanSeconds += computeSum / count
    trainer.profile.waitMeanSeconds += wait / count
    trainer.profile.reduceSeconds += reduce
  }
}
