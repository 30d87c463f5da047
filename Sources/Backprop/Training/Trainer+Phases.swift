import Dispatch

/// The two phases of a step, as run by each worker, and the step for custom
/// loops. Every worker writes only its own workspace, gradient buffer, slot
/// and CPU-log entry in phase 1, and only its own slice of the parameters,
/// optimizer state and first gradient buffer in phase 2.
extension Trainer {
  /// One optimizer step over the training samples at `indices`: the building
  /// block of ``train(evaluation:progress:epochEnd:)``, public for custom
  /// loops and benchmarks. With one worker it runs on the calling thread and
  /// allocates nothing (after the first call); with several it forks and
  /// joins through Dispatch for each phase.
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
    commands[0] = StepCommand(kind: .step, indices: indices, learningRate: learningRate, step: stepsTaken)
    if workerCount == 1 {
      runShard(0, bank: 0)
      if options.clipGradientNorm != nil { reduceSlice(0, bank: 0) }
      updateSlice(0, bank: 0)
    } else {
      forkJoinStep(bank: 0)
    }
    return finishStep(bank: 0)
  }

  /// A whole step as one Dispatch fork/join per phase (two, three with
  /// clipping), for when long-lived workers are not available. Binding and
  /// restoring each iteration's thread costs system calls and a small
  /// allocation per worker and step: this is the fallback, not the fast path.
  func forkJoinStep(bank: Int) {
    let clipping = options.clipGradientNorm != nil
    DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] w in
      unchecked.trainer.withBinding(w) { unchecked.trainer.runShard(w, bank: bank) }
    }
    if clipping {
      DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] s in
        unchecked.trainer.reduceSlice(s, bank: bank)
      }
    }
    DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] s in
      unchecked.trainer.updateSlice(s, bank: bank)
    }
  }

  /// Runs `body` with the calling thread bound to worker `w`'s unit, then
  /// gives the thread its former affinity back.
  func withBinding(_ w: Int, _ body: () -> Void) {
    guard let unit = plan.units[w] else { return body() }
    let saved = topology.currentThreadBinding()
    // Bind before the worker's memory is first created, so it is first touched there.
    topology.bindCurrentThread(toUnit: unit, scratch: workers[w]?.bindingScratch ?? topology.currentThreadBinding())
    body()
    topology.restoreCurrentThread(saved)
  }

  /// Worker `w`'s memory, created on first use by the thread that asks.
  func worker(_ w: Int) -> Worker {
    if let existing = workers[w] { return existing }
    let created = Worker(
      spec: model.spec, capacity: capacity, targetWidth: training.targetWidth,
      parameterCount: model.parameters.count, topology: topology)
    workers[w] = created
    gradientPointers[w] = created.gradient.base
    return created
  }

  /// Phase 1 for worker `w`: gather its shard's rows, forward, loss, backward
  /// into its own gradient buffer; record loss, timings and the CPU.
  func runShard(_ w: Int, bank: Int) {
    let command = commands[bank]
    let slot = slot(w, bank: bank)
    let plan = ShardPlan(rows: command.indices.count, workers: workerCount)
    guard w < plan.shardCount else {
      slot[Slot.active.rawValue] = 0
      return
    }
    let started = monotonicSeconds()
    let worker = worker(w)
    let workspace = worker.workspace
    let range = plan.range(of: w)
    let spec = model.spec
    let width = spec.inputWidth
    let targetWidth = training.targetWidth
    training.features.withUnsafeBufferPointer { features in
      training.targets.withUnsafeBufferPointer { targets in
        for (row, sample) in command.indices[range].enumerated() {
          (workspace.input.base + row * width).update(from: features.baseAddress! + sample * width, count: width)
          (workspace.targets.base + row * targetWidth).update(
            from: targets.baseAddress! + sample * targetWidth, count: targetWidth)
        }
      }
    }
    let gathered = monotonicSeconds()
    let rows = range.count
    let logits = model.network.forward(
      parameters: model.parameters.base, workspace: workspace, rows: rows,
      mode: .training(seed: options.seed, step: command.step, firstRow: range.lowerBound))
    let result = model.loss.evaluate(
      logits: logits, targets: workspace.targets.base, rows: rows, outputs: spec.outputWidth,
      targetWidth: targetWidth, gradient: workspace.outputGradient)
    model.network.backward(
      parameters: model.parameters.base, gradient: worker.gradient.base, workspace: workspace, rows: rows)
    let finished = monotonicSeconds()
    slot[Slot.loss.rawValue] = result.loss
    slot[Slot.correct.rawValue] = Double(result.correct)
    slot[Slot.gather.rawValue] = gathered - started
    slot[Slot.compute.rawValue] = finished - gathered
    slot[Slot.phaseEnd.rawValue] = finished
    slot[Slot.active.rawValue] = 1
    cpuLog.base[(command.step % Trainer.cpuLogSteps) * workerCount + w] = Int32(Topology.currentCPU())
  }

  /// The batch's summed loss, read from the workers' slots in a fixed order
  /// (so every worker that asks gets the same value).
  func batchLoss(bank: Int) -> Double {
    let shards = ShardPlan(rows: commands[bank].indices.count, workers: workerCount).shardCount
    var loss = 0.0
    for w in 0..<shards { loss += slot(w, bank: bank)[Slot.loss.rawValue] }
    return loss
  }

  /// Phase 2a (with clipping only): the mean gradient of slice `s` into the
  /// first worker's buffer, and the slice's sum of squares into slot `s`.
  func reduceSlice(_ s: Int, bank: Int) {
    let command = commands[bank]
    let started = monotonicSeconds()
    let range = slices[s]
    let shards = ShardPlan(rows: command.indices.count, workers: workerCount).shardCount
    let divisor = Float(command.indices.count)
    let scratch = reduceScratch.base + s * AllReduce.chunk
    let mean = worker(0).gradient.base
    var squares = 0.0
    var start = range.lowerBound
    while start < range.upperBound {
      let count = min(AllReduce.chunk, range.upperBound - start)
      AllReduce.mean(
        of: gradientPointers, buffers: shards, offset: start, count: count, divisor: divisor, into: scratch)
      for i in 0..<count { squares += Double(scratch[i]) * Double(scratch[i]) }
      (mean + start).update(from: scratch, count: count)
      start += count
    }
    slot(s, bank: bank)[Slot.squares.rawValue] = squares
    slot(s, bank: bank)[Slot.reduce.rawValue] = monotonicSeconds() - started
  }

  /// Phase 2 for slice `s`: without clipping, sum the shards' gradients in a
  /// fixed order (buffer 0, then 1, …), divide by the batch size and update,
  /// one L1-sized chunk at a time (one pass over memory: the mean lives only
  /// in the slice's scratch chunk); with clipping, scale the mean that
  /// ``reduceSlice(_:bank:)`` left in buffer 0 and update. A batch whose loss
  /// is not finite changes nothing.
  func updateSlice(_ s: Int, bank: Int) {
    let command = commands[bank]
    let started = monotonicSeconds()
    let range = slices[s]
    if options.clipGradientNorm == nil { slot(s, bank: bank)[Slot.reduce.rawValue] = 0 }
    guard batchLoss(bank: bank).isFinite, !range.isEmpty else { return }
    let parameters = model.parameters.base
    let step = command.step + 1
    if let maximumNorm = options.clipGradientNorm {
      let mean = worker(0).gradient.base + range.lowerBound
      var squares = 0.0
      for w in 0..<workerCount { squares += slot(w, bank: bank)[Slot.squares.rawValue] }
      let factor = Float(GradientClipping.scale(norm: squares.squareRoot(), maximumNorm: maximumNorm))
      if factor < 1 {
        for i in 0..<range.count { mean[i] *= factor }
      }
      optimizer.update(
        parameters: parameters, gradient: mean, range: range, learningRate: command.learningRate, step: step)
      slot(s, bank: bank)[Slot.reduce.rawValue] += monotonicSeconds() - started
      return
    }
    let shards = ShardPlan(rows: command.indices.count, workers: workerCount).shardCount
    let divisor = Float(command.indices.count)
    let scratch = reduceScratch.base + s * AllReduce.chunk
    var start = range.lowerBound
    while start < range.upperBound {
      let count = min(AllReduce.chunk, range.upperBound - start)
      AllReduce.mean(
        of: gradientPointers, buffers: shards, offset: start, count: count, divisor: divisor, into: scratch)
      optimizer.update(
        parameters: parameters, gradient: scratch, range: start..<(start + count),
        learningRate: command.learningRate, step: step)
      start += count
    }
    slot(s, bank: bank)[Slot.reduce.rawValue] = monotonicSeconds() - started
  }

  /// After a step: the loss and correct count from the slots, and the step
  /// counted (whether or not the update was applied).
  func finishStep(bank: Int) -> (loss: Double, correct: Int) {
    let shards = ShardPlan(rows: commands[bank].indices.count, workers: workerCount).shardCount
    var correct = 0
    for w in 0..<shards { correct += Int(slot(w, bank: bank)[Slot.correct.rawValue]) }
    let loss = batchLoss(bank: bank)
    if loss.isFinite { stepsTaken += 1 }
    return (loss, correct)
  }
}

/// Lets Dispatch's `@Sendable` closures reach the trainer.
///
/// Safe because each worker touches only its own workspace, gradient buffer,
/// slot and slice between barriers (or joins), as documented on ``Trainer``.
struct UncheckedTrainer: @unchecked Sendable {
  let trainer: Trainer
  init(_ trainer: Trainer) { self.trainer = trainer }
}
