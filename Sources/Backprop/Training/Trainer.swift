/// Trains a ``Model`` by mini-batch backpropagation, data-parallel over
/// workers that each own their memory.
///
/// One step: the batch is cut into contiguous shards (``ShardPlan``); each
/// worker gathers its rows, runs forward, the loss and backward into its own
/// gradient buffer; then the all-reduce sums the workers' buffers slice by
/// slice in a fixed order, divides by the batch size (the exact mean, whatever
/// the number of workers), and applies the optimizer to the same slice. Every
/// buffer is allocated when the trainer is made, so a step allocates nothing.
public final class Trainer {
  /// The model being trained (its parameters change in place).
  public let model: Model
  /// How it is trained.
  public let options: TrainingOptions
  /// The optimizer and its state.
  public let optimizer: Optimizer
  /// The optimizer steps taken so far.
  public private(set) var stepsTaken = 0

  private let training: Dataset
  private let workers: [Worker]

  /// One worker's own memory: its workspace and its gradient buffer.
  final class Worker {
    let workspace: Workspace<Float>
    let gradient: AlignedBuffer<Float>

    init(spec: ModelSpec, capacity: Int, targetWidth: Int, parameterCount: Int) {
      workspace = Workspace(spec: spec, capacity: capacity, targetWidth: targetWidth)
      gradient = AlignedBuffer(count: parameterCount)
    }
  }

  /// Prepares training of `model` on `training`.
  ///
  /// - Precondition: `training` has been checked with
  ///   ``Dataset/validate(inputWidth:outputs:loss:)``; `options.batchSize`
  ///   and `options.threads` are positive.
  public init(model: Model, training: Dataset, options: TrainingOptions) {
    precondition(options.batchSize > 0, "batch size must be positive, got \(options.batchSize)")
    precondition(options.threads > 0, "thread count must be positive, got \(options.threads)")
    precondition(training.count > 0, "no training samples")
    BLAS.useSingleThread()
    self.model = model
    self.options = options
    self.training = training
    optimizer = Optimizer(settings: options.optimizer, parameterCount: model.parameters.count)
    let batch = min(options.batchSize, training.count)
    let capacity = ShardPlan.largestShard(rows: batch, workers: options.threads)
    workers = (0..<min(options.threads, batch)).map { _ in
      Worker(
        spec: model.spec, capacity: capacity, targetWidth: training.targetWidth,
        parameterCount: model.parameters.count)
    }
  }

  /// The number of optimizer steps the whole run takes.
  public var totalSteps: Int { options.totalSteps(samples: training.count) }

  /// Runs the training.
  ///
  /// - Parameters:
  ///   - evaluation: data scored after every epoch (a test or validation split).
  ///   - progress: called after every step.
  ///   - epochEnd: called after every epoch with its metrics.
  /// - Returns: the metrics of every epoch.
  /// - Throws: ``TrainingError/diverged(epoch:step:what:)`` when a batch's loss
  ///   is not finite; that batch's update is not applied.
  @discardableResult
  public func train(
    evaluation: Dataset? = nil,
    progress: ((TrainingProgress) -> Void)? = nil,
    epochEnd: ((EpochMetrics) -> Void)? = nil
  ) throws(TrainingError) -> [EpochMetrics] {
    let evaluator = evaluation.map {
      Evaluator(model: model, capacity: max(1, min(1024, $0.count)), targetWidth: $0.targetWidth)
    }
    let samples = training.count
    let batches = options.stepsPerEpoch(samples: samples)
    let total = totalSteps
    var history: [EpochMetrics] = []
    var order = Array(0..<samples)
    let clock = ContinuousClock()
    let reportsAccuracy = model.loss.reportsAccuracy(
      outputs: model.spec.outputWidth, targetWidth: training.targetWidth)

    for epoch in 0..<options.epochs where stepsTaken < total {
      if options.shuffle {
        order = Array(0..<samples)
        var generator = SeededGenerator(seed: options.seed, stream: RandomStream.shuffle, index: UInt64(epoch))
        generator.shuffle(&order)
      }
      let started = clock.now
      var lossSum = 0.0
      var correct = 0
      var seen = 0
      var learningRate = options.optimizer.learningRate
      try order.withUnsafeBufferPointer { order throws(TrainingError) in
        for batch in 0..<batches where stepsTaken < total {
          let start = batch * options.batchSize
          let rows = min(options.batchSize, samples - start)
          learningRate = options.schedule.learningRate(
            base: options.optimizer.learningRate, step: stepsTaken, epoch: epoch, totalSteps: total)
          let result = step(
            samples: UnsafeBufferPointer(rebasing: order[start..<(start + rows)]), learningRate: learningRate)
          guard result.loss.isFinite else {
            throw .diverged(epoch: epoch + 1, step: stepsTaken + 1, what: "loss")
          }
          lossSum += result.loss
          correct += result.correct
          seen += rows
          if let progress {
            let seconds = (clock.now - started).seconds
            progress(
              TrainingProgress(
                epoch: epoch + 1, epochs: options.epochs, batch: batch + 1, batches: batches, step: stepsTaken,
                totalSteps: total, loss: lossSum / Double(seen),
                samplesPerSecond: seconds > 0 ? Double(seen) / seconds : 0))
          }
        }
      }
      let elapsed = (clock.now - started).seconds
      let metrics = EpochMetrics(
        epoch: epoch + 1, steps: stepsTaken, trainLoss: lossSum / Double(max(seen, 1)),
        trainAccuracy: reportsAccuracy ? Double(correct) / Double(max(seen, 1)) : nil,
        evaluation: evaluation.flatMap { data in evaluator?.evaluate(data) },
        seconds: elapsed, samplesPerSecond: elapsed > 0 ? Double(seen) / elapsed : 0,
        learningRate: learningRate)
      history.append(metrics)
      epochEnd?(metrics)
    }
    return history
  }

  /// One optimizer step over the training samples at `indices`: the building
  /// block of ``train(evaluation:progress:epochEnd:)``, public for custom
  /// loops and benchmarks. It allocates nothing.
  ///
  /// - Parameters:
  ///   - indices: the batch, as indices into the training set (at most
  ///     `options.batchSize` of them).
  ///   - learningRate: the learning rate of this step.
  /// - Returns: the batch's summed loss and its number of correct predictions.
  ///   When the loss is not finite, no update is applied.
  @discardableResult
  public func step(samples indices: UnsafeBufferPointer<Int>, learningRate: Double) -> (loss: Double, correct: Int) {
    precondition(
      !indices.isEmpty && indices.count <= options.batchSize,
      "a step takes 1...\(options.batchSize) samples, got \(indices.count)")
    let plan = ShardPlan(rows: indices.count, workers: workers.count)
    var loss = 0.0
    var correct = 0
    // Part 2 runs these shards concurrently, one per worker.
    for shard in 0..<plan.shardCount {
      let result = runShard(shard, plan: plan, indices: indices)
      loss += result.loss
      correct += result.correct
    }
    guard loss.isFinite else { return (loss, correct) }
    reduceAndUpdate(shards: plan.shardCount, batchRows: indices.count, learningRate: learningRate)
    return (loss, correct)
  }

  /// Worker `shard`'s part of a step: gather, forward, loss, backward.
  private func runShard(_ shard: Int, plan: ShardPlan, indices: UnsafeBufferPointer<Int>) -> (
    loss: Double, correct: Int
  ) {
    let worker = workers[shard]
    let workspace = worker.workspace
    let range = plan.range(of: shard)
    let spec = model.spec
    let width = spec.inputWidth
    let targetWidth = training.targetWidth
    training.features.withUnsafeBufferPointer { features in
      training.targets.withUnsafeBufferPointer { targets in
        for (row, sample) in indices[range].enumerated() {
          (workspace.input.base + row * width).update(from: features.baseAddress! + sample * width, count: width)
          (workspace.targets.base + row * targetWidth).update(
            from: targets.baseAddress! + sample * targetWidth, count: targetWidth)
        }
      }
    }
    let rows = range.count
    let logits = model.network.forward(
      parameters: model.parameters.base, workspace: workspace, rows: rows,
      mode: .training(seed: options.seed, step: stepsTaken, firstRow: range.lowerBound))
    let result = model.loss.evaluate(
      logits: logits, targets: workspace.targets.base, rows: rows, outputs: spec.outputWidth,
      targetWidth: targetWidth, gradient: workspace.outputGradient)
    model.network.backward(
      parameters: model.parameters.base, gradient: worker.gradient.base, workspace: workspace, rows: rows)
    return result
  }

  /// The all-reduce and update: the mean gradient over the batch, clipped if
  /// asked, then the optimizer, over the whole flat vector.
  private func reduceAndUpdate(shards: Int, batchRows: Int, learningRate: Double) {
    let count = model.parameters.count
    let mean = workers[0].gradient.base
    let divisor = Float(batchRows)
    // Sum the workers' buffers in a fixed order, then divide by the batch size.
    for i in 0..<count {
      var sum = mean[i]
      for w in 1..<max(shards, 1) { sum += workers[w].gradient.base[i] }
      mean[i] = sum / divisor
    }
    if let maximumNorm = options.clipGradientNorm {
      var squares = 0.0
      for i in 0..<count { squares += Double(mean[i]) * Double(mean[i]) }
      let factor = Float(GradientClipping.scale(norm: squares.squareRoot(), maximumNorm: maximumNorm))
      if factor < 1 {
        for i in 0..<count { mean[i] *= factor }
      }
    }
    stepsTaken += 1
    optimizer.update(
      parameters: model.parameters.base, gradient: mean, range: 0..<count, learningRate: learningRate,
      step: stepsTaken)
  }
}
