import Dispatch

/// The two phases of a step, as run by each worker, and the step for custom
/// loops. In phase 1 every worker writes only its shard's rows of the
/// workspace, its slot and its CPU-log entry; in phase 2 only its slice of the
/// gradient, parameters and optimizer state, and its slot.
extension Trainer {
  /// One optimizer step over the training samples at `indices`: the building
  /// block of ``train(evaluation:progress:epochEnd:)``, public for custom
  /// loops and benchmarks. With one worker it runs on the calling thread and
  /// allocates nothing (after the first call); with several it forks and
  /// joins through Dispatch for each phase.
  ///
  /// - Parameters:
  ///   - indices: the batch, as indices into the training set (at most
  ///     `options.batchSize` of them, and at most the training set's size).
  ///   - learningRate: the learning rate of this step.
  /// - Returns: the batch's summed loss and its number of correct predictions.
  ///   When the loss is not finite, no update is applied.
  @discardableResult
  public func step(samples indices: UnsafeBufferPointer<Int>, learningRate: Double) -> (loss: Double, correct: Int) {
    precondition(
      !indices.isEmpty && indices.count <= workspace.capacity,
      "a step takes 1...\(workspace.capacity) samples, got \(indices.count)")
    // A custom loop has no epochs: augmentation draws anew at every step.
    commands[0] = localized(
      StepCommand(kind: .step, indices: indices, learningRate: learningRate, step: stepsTaken, epoch: stepsTaken))
    if workerCount == 1 {
      DenormalFlush.around { singleWorkerStep() }
    } else {
      forkJoinStep(bank: 0)
    }
    let result = finishStep(bank: 0)
    return (result.loss, result.correct)
  }

  /// The step published in bank 0, all on the calling thread (one worker).
  func singleWorkerStep() {
    // A rank with no rows of this batch only takes part in the sum and the update.
    let hasRows = !commands[0].indices.isEmpty
    if hasRows {
      runShard(0, bank: 0) { exchangeStatistics(after: $0, bank: 0) }
    } else {
      exchangeStatisticsWithoutRows(bank: 0)
    }
    if gathersShards { gatherShards(bank: 0) }
    if needsNormBeforeUpdate && (hasRows || gathersShards) { reduceSlice(0, bank: 0) }
    if processes.isDistributed && !gathersShards { reduceAcrossRanks(bank: 0) }
    updateSlice(0, bank: 0)
  }

  /// A whole step as one Dispatch fork/join per phase (two, three with
  /// clipping; phase 1 as one per segment), for when long-lived workers are
  /// not available. Binding and
  /// restoring each iteration's thread costs system calls and a small
  /// allocation per worker and step: this is the fallback, not the fast path.
  func forkJoinStep(bank: Int) {
    // A rank with no rows of this batch only takes part in the sum and the update.
    let hasRows = !commands[bank].indices.isEmpty
    for segment in 0..<segmentCount {
      if segment > 0 { exchangeStatistics(after: segment - 1, bank: bank) }
      guard hasRows else { continue }
      DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] w in
        unchecked.trainer.withBinding(w) { unchecked.trainer.runSegment(w, bank: bank, segment: segment) }
      }
    }
    if gathersShards { gatherShards(bank: bank) }
    if needsNormBeforeUpdate && (hasRows || gathersShards) {
      DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] s in
        DenormalFlush.around { unchecked.trainer.reduceSlice(s, bank: bank) }
      }
    }
    if processes.isDistributed && !gathersShards { reduceAcrossRanks(bank: bank) }
    DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] s in
      DenormalFlush.around { unchecked.trainer.updateSlice(s, bank: bank) }
    }
  }

  /// Runs `body` with the calling thread bound to worker `w`'s unit and
  /// flushing denormals to zero (see ``DenormalFlush``), then gives the
  /// thread its former affinity and mode back.
  func withBinding(_ w: Int, _ body: () -> Void) {
    guard let unit = plan.units[w] else { return DenormalFlush.around(body) }
    let saved = topology.currentThreadBinding()
    // Bind before the worker's memory is first created, so it is first touched there.
    topology.bindCurrentThread(toUnit: unit, scratch: workers[w]?.bindingScratch ?? topology.currentThreadBinding())
    DenormalFlush.around(body)
    topology.restoreCurrentThread(saved)
  }

  /// Worker `w`'s state, created on first use by the thread that asks, which
  /// also first touches the worker's rows of the workspace (those of its shard
  /// of a full batch) and its slice of the gradient.
  func worker(_ w: Int) -> Worker {
    if let existing = workers[w] { return existing }
    let created = Worker(topology: topology)
    workspace.touch(rows: rows(of: w, batch: workspace.capacity) ?? 0..<0, lane: w)
    switch strategy {
    case .unitSlices:
      for block in slices.slices[w] {
        for range in block.parameters {
          (gradient.base + range.lowerBound).initialize(repeating: 0, count: range.count)
        }
      }
    case .allReduce:
      let range = reduceSlices.slices[w]
      (gradient.base + range.lowerBound).initialize(repeating: 0, count: range.count)
    }
    workers[w] = created
    return created
  }

  /// The logical shards worker `w` runs in a batch of `rows` rows, and how
  /// the batch is cut into them: its own shard (W logical shards), or under
  /// ``TrainingOptions/reproducible`` its run of the ``logicalShardCount``;
  /// `nil` when it runs none.
  func logicalShards(of w: Int, rows: Int, limit: Int = 0) -> (plan: ShardPlan, shards: Range<Int>)? {
    let logical = ShardPlan(rows: rows, workers: limit > 0 ? limit : logicalShardCount)
    let mine = ShardPlan(rows: logical.shardCount, workers: workerCount)
    return w < mine.shardCount ? (logical, mine.range(of: w)) : nil
  }

  /// The batch rows worker `w` runs in a batch of `batch` rows. (Touching
  /// another worker's rows while that worker computes would be a race.)
  func rows(of w: Int, batch: Int) -> Range<Int>? {
    guard let (plan, shards) = logicalShards(of: w, rows: batch) else { return nil }
    return plan.range(of: shards.lowerBound).lowerBound..<plan.range(of: shards.upperBound - 1).upperBound
  }

  /// Logical shard `j`'s gradient buffer (``GradientStrategy/allReduce``),
  /// made on first use by the worker that runs the shard, on its core;
  /// zeroed, so that the layout's padding stays 0.
  func shardGradient(_ j: Int) -> UnsafeMutablePointer<Float> {
    if let existing = shardGradients[j] { return existing }
    let buffer = AlignedBuffer<Float>(count: model.parameters.count)
    shardBuffers[j] = buffer
    shardGradients[j] = buffer.base
    return buffer.base
  }

  /// Phase 1 for worker `w`: gather its shard's rows, forward, loss, and the
  /// deltas of backward, all in its rows of the workspace (under all-reduce,
  /// its shard's weight gradients into its own buffer too; reproducible
  /// runs do this for each of the worker's logical shards on its own);
  /// record loss, timings and the CPU. With layers that use batch
  /// statistics the phase comes in segments, and `meet` is called between
  /// them with the segment just finished: every worker must finish a
  /// segment before any starts the next.
  func runShard(_ w: Int, bank: Int, meet: (Int) -> Void = { _ in }) {
    for segment in 0..<segmentCount {
      if segment > 0 { meet(segment - 1) }
      runSegment(w, bank: bank, segment: segment)
    }
  }

  /// The segments of phase 1, between the points where workers meet: the
  /// forward stages, the last of them with the loss and the first backward
  /// stage, then the other backward stages (see ``Network/stageCount``).
  var segmentCount: Int { 2 * network.stageCount - 1 }

  /// Segment `segment` of phase 1 for worker `w` (see ``runShard(_:bank:meet:)``).
  func runSegment(_ w: Int, bank: Int, segment: Int) {
    let command = commands[bank]
    let slot = slot(w, bank: bank)
    guard let (plan, shards) = logicalShards(of: w, rows: command.indices.count, limit: command.shardLimit) else {
      (slot[Slot.loss.rawValue], slot[Slot.correct.rawValue], slot[Slot.active.rawValue]) = (0, 0, 0)
      return
    }
    let started = clockIfProfiling()
    if segment == 0 {
      _ = worker(w)
      (slot[Slot.gather.rawValue], slot[Slot.compute.rawValue]) = (0, 0)
    }
    let stages = network.stageCount
    let batch = 0..<command.indices.count
    let mode = Network.Mode.training(seed: options.seed, step: command.step, firstRow: command.firstRow)
    let parameters = model.parameters.base
    var (loss, correct, gathering) = (0.0, 0, 0.0)
    for j in shards {
      let range = plan.range(of: j)
      if segment == 0 { gathering += gather(range, command: command) }
      if segment < stages {
        network.forward(
          parameters: parameters, workspace: workspace, rows: range, mode: mode, lane: w, stage: segment, batch: batch)
      }
      if segment == stages - 1 {
        let result = lossGradient(range)
        if options.reproducible {
          shardLosses.base[bank * logicalShardCount + command.firstShard + j] = result.loss
        }
        (loss, correct) = (loss + result.loss, correct + result.correct)
      }
      if segment >= stages - 1 {
        network.backpropagateDeltas(
          parameters: parameters, workspace: workspace, rows: range, inputGradient: nil, lane: w,
          stage: segment - (stages - 1), batch: batch)
      }
      if segment == segmentCount - 1, strategy == .allReduce {
        network.parameterGradients(
          workspace: workspace, rows: range, into: shardGradient(command.firstShard + j), lane: w)
      }
    }
    let finished = clockIfProfiling()
    if segment == stages - 1 {
      slot[Slot.loss.rawValue] = loss
      slot[Slot.correct.rawValue] = Double(correct)
    }
    slot[Slot.gather.rawValue] += gathering
    slot[Slot.compute.rawValue] += finished - started - gathering
    slot[Slot.phaseEnd.rawValue] = finished
    slot[Slot.active.rawValue] = 1
    cpuLog.base[(command.step % Trainer.cpuLogSteps) * workerCount + w] = Int32(Topology.currentCPU())
  }

  /// Gathers the features and targets of the batch rows `range` into the
  /// workspace; returns the seconds it took (when profiling).
  private func gather(_ range: Range<Int>, command: StepCommand) -> Double {
    let started = clockIfProfiling()
    let width = inputWidth
    let targetWidth = training.targetWidth
    // Read once per shard, not per row.
    let (augmentation, imageShape) = (options.augmentation, model.spec.inputShape)
    training.features.withUnsafeBufferPointer { features in
      training.targets.withUnsafeBufferPointer { targets in
        gatherRows(
          UnsafeBufferPointer(rebasing: command.indices[range]), of: features.baseAddress!, width: width,
          into: workspace.input.base + range.lowerBound * width)
        for row in range {
          let sample = command.indices[row]
          (workspace.targets.base + row * targetWidth).update(
            from: targets.baseAddress! + sample * targetWidth, count: targetWidth)
          augmentation?.apply(
            to: workspace.input.base + row * width, shape: imageShape, seed: options.seed,
            epoch: command.epoch, sample: sample)
        }
      }
    }
    return clockIfProfiling() - started
  }

  /// The loss of the batch rows `range` from their logits, and its
  /// gradient into their rows of the workspace's output gradient.
  private func lossGradient(_ range: Range<Int>) -> (loss: Double, correct: Int) {
    let outputs = outputWidth
    let targetWidth = training.targetWidth
    let result = model.loss.evaluate(
      logits: workspace.logits + range.lowerBound * outputs,
      targets: workspace.targets.base + range.lowerBound * targetWidth, rows: range.count, outputs: outputs,
      targetWidth: targetWidth, gradient: workspace.outputGradient + range.lowerBound * outputs)
    return (result.loss, result.correct)
  }

  /// The batch's summed loss over every rank (see ``localBatchLoss(bank:)``).
  func batchLoss(bank: Int) -> Double {
    processes.isDistributed ? rankTotal(.loss, bank: bank) : localBatchLoss(bank: bank)
  }

  /// This rank's part of the batch's summed loss, read from the workers'
  /// slots in a fixed order (so every worker that asks gets the same value).
  func localBatchLoss(bank: Int) -> Double {
    var loss = 0.0
    if commands[bank].indices.isEmpty { return 0 }
    if options.reproducible {
      // By logical shard, so that the sum does not depend on W.
      let logical = ShardPlan(rows: commands[bank].indices.count, workers: logicalShardCount).shardCount
      for j in 0..<logical { loss += shardLosses.base[bank * logicalShardCount + j] }
      return loss
    }
    let shards = ShardPlan(rows: commands[bank].indices.count, workers: workerCount).shardCount
    for w in 0..<shards { loss += slot(w, bank: bank)[Slot.loss.rawValue] }
    return loss
  }

  /// The mean gradient of one block of slice `s`: its units' parameter
  /// gradients over the whole batch, times 1/B.
  private func blockGradient(_ block: SlicePlan.Block, command: StepCommand, slice s: Int) {
    network.parameterGradients(
      workspace: workspace, rows: command.indices.count, layer: block.layer, units: block.units,
      scale: 1 / Float(command.meanRows), into: gradient.base, lane: s)
  }

  /// Applies the optimizer to one block from its mean gradient.
  private func updateBlock(_ block: SlicePlan.Block, command: StepCommand) {
    for range in block.parameters {
      optimizer.update(
        parameters: model.parameters.base, gradient: gradient.base + range.lowerBound, range: range,
        learningRate: command.learningRate, step: command.step + 1)
    }
  }

  /// Phase 2a (with clipping or ``NonFinitePolicy/skipBatch`` only): the
  /// mean gradient of slice `s`, and its sum of squares into slot `s`.
  func reduceSlice(_ s: Int, bank: Int) {
    if strategy == .allReduce { return reduceRun(s, bank: bank) }
    let command = commands[bank]
    let slot = slot(s, bank: bank)
    let started = clockIfProfiling()
    var squares = 0.0
    if localBatchLoss(bank: bank).isFinite {
      for block in slices.slices[s] {
        blockGradient(block, command: command, slice: s)
        for range in block.parameters {
          for i in range { squares += Double(gradient.base[i]) * Double(gradient.base[i]) }
        }
      }
    }
    slot[Slot.squares.rawValue] = squares
    slot[Slot.gradient.rawValue] = clockIfProfiling() - started
  }

  /// Phase 2 for slice `s`: each block's mean gradient, then at once its
  /// update (the block is still in cache); or, when the norm came first,
  /// scale the mean that ``reduceSlice(_:bank:)`` left and update. A batch
  /// whose loss is not finite changes nothing; nor does one whose gradient
  /// is not, when the norm came first (otherwise a block with a non-finite
  /// gradient is left alone, marked in the slot, and the run stops).
  func updateSlice(_ s: Int, bank: Int) {
    if strategy == .allReduce { return updateRun(s, bank: bank) }
    let command = commands[bank]
    let slot = slot(s, bank: bank)
    let normFirst = needsNormBeforeUpdate
    guard let factor = startUpdate(slot, bank: bank) else { return }
    var started = clockIfProfiling()
    for block in slices.slices[s] {
      if !normFirst {
        blockGradient(block, command: command, slice: s)
        guard block.parameters.allSatisfy({ allFinite(gradient.base + $0.lowerBound, count: $0.count) }) else {
          slot[Slot.nonFiniteGradient.rawValue] = 1
          continue
        }
      }
      let computed = clockIfProfiling()
      if factor < 1 {
        for range in block.parameters {
          for i in range { gradient.base[i] *= factor }
        }
      }
      updateBlock(block, command: command)
      let updated = clockIfProfiling()
      slot[Slot.gradient.rawValue] += computed - started
      slot[Slot.update.rawValue] += updated - computed
      started = updated
    }
  }
}

extension Trainer {
  /// Clears a worker's update timings and marks in `slot`, and returns the
  /// factor its gradient is scaled by (see ``clippingFactor(bank:)``), or
  /// `nil` when the step updates nothing: a non-finite loss, or a
  /// non-finite norm (marked in the slot).
  func startUpdate(_ slot: UnsafeMutablePointer<Double>, bank: Int) -> Float? {
    if !needsNormBeforeUpdate { slot[Slot.gradient.rawValue] = 0 }
    slot[Slot.update.rawValue] = 0
    slot[Slot.nonFiniteGradient.rawValue] = 0
    guard batchLoss(bank: bank).isFinite else { return nil }
    guard let factor = clippingFactor(bank: bank) else {
      slot[Slot.nonFiniteGradient.rawValue] = 1
      return nil
    }
    return factor
  }

  /// What the mean gradient is multiplied by before the update: 1, or with
  /// clipping the factor that brings its global norm (from the workers'
  /// sums of squares, added in worker order) down to the maximum; `nil`
  /// when the norm came first and is not finite (nothing is updated).
  func clippingFactor(bank: Int) -> Float? {
    guard needsNormBeforeUpdate else { return 1 }
    var squares = 0.0
    if processes.isDistributed && !options.reproducible {
      squares = rankTotal(.squares, bank: bank)
    } else if options.reproducible {
      // By reduce chunk, in order, so that the norm does not depend on W.
      for chunk in 0..<chunkSquares.count { squares += chunkSquares.base[chunk] }
    } else {
      for w in 0..<workerCount { squares += slot(w, bank: bank)[Slot.squares.rawValue] }
    }
    guard squares.isFinite else { return nil }
    guard let maximumNorm = options.clipGradientNorm else { return 1 }
    return Float(GradientClipping.scale(norm: squares.squareRoot(), maximumNorm: maximumNorm))
  }
}

/// Lets Dispatch's `@Sendable` closures reach the trainer.
///
/// Safe because between barriers (or joins) each worker writes only its own
/// rows of the workspace, its own slot and its own slice of the gradient,
/// parameters and optimizer state, and reads what others wrote only after a
/// barrier, as documented on ``Trainer``.
struct UncheckedTrainer: @unchecked Sendable {
  let trainer: Trainer
  init(_ trainer: Trainer) { self.trainer = trainer }
}
