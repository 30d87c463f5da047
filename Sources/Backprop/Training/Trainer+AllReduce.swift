/// The second phase under ``GradientStrategy/allReduce``: worker s reduces
/// its run of the flat vector (``ReduceScatterPlan``) over the workers'
/// gradient buffers and updates it, chunk by chunk so that each chunk's sum
/// is still in cache when the optimizer reads it. It writes only its run of
/// ``Trainer/gradient``, the parameters and the optimizer state, and its slot.
extension Trainer {
  /// Floats reduced and updated at a time: 16 KB of each buffer.
  static let reduceChunk = 4096

  /// The mean gradient of `range` (sum of the first `shards` logical
  /// shards' buffers in shard order, times 1/B) into ``gradient``.
  func reduce(_ range: Range<Int>, shards: Int, meanRows: Int) {
    ShardReduction.mean(
      of: UnsafeBufferPointer(rebasing: shardGradients[0..<shards]), range: range, scale: 1 / Float(meanRows),
      into: gradient.base)
  }

  /// How many logical shards' buffers hold the step's gradient: this rank's,
  /// or across ranks with ``TrainingOptions/reproducible`` the whole batch's.
  func reducedShards(_ command: StepCommand) -> Int {
    let rows = gathersShards ? command.meanRows : command.indices.count
    return rows > 0 ? ShardPlan(rows: rows, workers: logicalShardCount).shardCount : 0
  }

  /// The chunks of worker s's run.
  private func chunks(of s: Int) -> StrideTo<Int> {
    stride(from: reduceSlices.slices[s].lowerBound, to: reduceSlices.slices[s].upperBound, by: Trainer.reduceChunk)
  }

  /// Phase 2a (with clipping or ``NonFinitePolicy/skipBatch`` only): the
  /// mean gradient of run s, and its sum of squares into slot s.
  func reduceRun(_ s: Int, bank: Int) {
    let command = commands[bank]
    let slot = slot(s, bank: bank)
    let started = clockIfProfiling()
    let shards = reducedShards(command)
    let end = reduceSlices.slices[s].upperBound
    var squares = 0.0
    let finite = (gathersShards ? batchLoss(bank: bank) : localBatchLoss(bank: bank)).isFinite
    for start in chunks(of: s) {
      let range = start..<min(end, start + Trainer.reduceChunk)
      var chunk = 0.0
      if finite {
        reduce(range, shards: shards, meanRows: command.meanRows)
        for i in range { chunk += Double(gradient.base[i]) * Double(gradient.base[i]) }
      }
      if options.reproducible { chunkSquares.base[start / Trainer.reduceChunk] = chunk }
      squares += chunk
    }
    slot[Slot.squares.rawValue] = squares
    slot[Slot.gradient.rawValue] = clockIfProfiling() - started
  }

  /// Phase 2 for run s: each chunk's mean gradient, then at once its update;
  /// or, when the norm came first, scale the mean ``reduceRun(_:bank:)``
  /// left and update. Non-finite values are handled as
  /// ``updateSlice(_:bank:)`` handles them.
  func updateRun(_ s: Int, bank: Int) {
    let command = commands[bank]
    let slot = slot(s, bank: bank)
    let normFirst = needsNormBeforeUpdate
    guard let factor = startUpdate(slot, bank: bank) else { return }
    let shards = reducedShards(command)
    let end = reduceSlices.slices[s].upperBound
    var started = clockIfProfiling()
    for start in chunks(of: s) {
      let range = start..<min(end, start + Trainer.reduceChunk)
      if !normFirst {
        reduce(range, shards: shards, meanRows: command.meanRows)
        guard allFinite(gradient.base + range.lowerBound, count: range.count) else {
          slot[Slot.nonFiniteGradient.rawValue] = 1
          continue
        }
      }
      let reduced = clockIfProfiling()
      if factor < 1 {
        for i in range { gradient.base[i] *= factor }
      }
      optimizer.update(
        parameters: model.parameters.base, gradient: gradient.base + range.lowerBound, range: range,
        learningRate: command.learningRate, step: command.step + 1)
      let updated = clockIfProfiling()
      slot[Slot.gradient.rawValue] += reduced - started
      slot[Slot.update.rawValue] += updated - reduced
      started = updated
    }
  }
}
