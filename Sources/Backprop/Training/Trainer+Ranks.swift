/// Training across processes (``ProcessGroup``): each rank runs its part of
/// every batch on its own workers, worker 0 adds the ranks' gradients and
/// losses between two barriers of the step, and every rank applies the same
/// update to the same parameters.
extension Trainer {
  /// What ``rankTotals`` holds per bank.
  enum RankTotal: Int {
    // Summed together: loss … stopCodes are contiguous.
    case loss, correct, stopping, stopCodes, squares
    static let width = 8
  }

  /// Writes whether this rank was asked to stop, and its stop code
  /// (signal), into `totals`, to be added over the ranks with the step's
  /// other totals (the same `MPI_Allreduce`).
  private func markStop(_ totals: UnsafeMutablePointer<Double>) {
    let code = Double(localStop?.requestedCode ?? 0)
    totals[RankTotal.stopping.rawValue] = code != 0 ? 1 : 0
    totals[RankTotal.stopCodes.rawValue] = code
  }

  /// Once the marks are summed: if any rank was asked to stop, every rank's
  /// stop request is made with the same code, after the same step.
  private func agreeOnStop(_ totals: UnsafeMutablePointer<Double>) {
    let stopping = totals[RankTotal.stopping.rawValue]
    guard stopping > 0 else { return }
    let codes = totals[RankTotal.stopCodes.rawValue]
    // The ranks' common signal (mpirun sends every rank the same one), else SIGTERM's 15.
    let common = codes.truncatingRemainder(dividingBy: stopping) == 0 ? Int32(codes / stopping) : 15
    stopAgreed = true
    localStop?.request(code: common)
  }

  /// One of the step's totals over every rank.
  func rankTotal(_ total: RankTotal, bank: Int) -> Double {
    rankTotals.base[bank * RankTotal.width + total.rawValue]
  }

  /// The batch's correct predictions over every rank.
  func batchCorrect(bank: Int) -> Int {
    processes.isDistributed ? Int(rankTotal(.correct, bank: bank)) : localCorrect(bank: bank)
  }

  /// This rank's part of a step of the whole batch (see ``part(ofRank:rows:)``).
  func localized(_ command: StepCommand) -> StepCommand {
    guard processes.isDistributed, command.kind == .step, !command.indices.isEmpty else { return command }
    var local = command
    let rows = command.indices.count
    let part = part(ofRank: processes.rank, rows: rows)
    local.indices = UnsafeBufferPointer(rebasing: command.indices[part.rows])
    local.batchRows = rows
    local.firstRow = part.rows.lowerBound
    if options.reproducible { (local.firstShard, local.shardLimit) = (part.shards.lowerBound, part.shards.count) }
    return local
  }

  /// Rank `rank`'s part of a batch of `rows` rows: a contiguous run of the
  /// rows, cut by ``ShardPlan`` over the ranks (empty for the last ranks
  /// when the batch has fewer rows than there are ranks).
  ///
  /// With ``TrainingOptions/reproducible`` the ranks take whole logical
  /// shards of the batch instead (each rank a contiguous run of them,
  /// `shards`), so each shard's rows, and its gradient, are those of one
  /// process.
  func part(ofRank rank: Int, rows: Int) -> (rows: Range<Int>, shards: Range<Int>) {
    guard options.reproducible else {
      let parts = ShardPlan(rows: rows, workers: processes.size)
      return (rank < parts.shardCount ? parts.range(of: rank) : rows..<rows, 0..<0)
    }
    let logical = ShardPlan(rows: rows, workers: logicalShardCount)
    let parts = ShardPlan(rows: logical.shardCount, workers: processes.size)
    guard rank < parts.shardCount else { return (rows..<rows, logical.shardCount..<logical.shardCount) }
    let shards = parts.range(of: rank)
    return (
      logical.range(of: shards.lowerBound).lowerBound..<logical.range(of: shards.upperBound - 1).upperBound, shards
    )
  }

  /// Whether the ranks exchange every logical shard's gradient and add them
  /// in shard order (reproducible across ranks), instead of summing theirs.
  var gathersShards: Bool { processes.isDistributed && options.reproducible }

  /// Worker 0, reproducible across ranks, once this rank's logical shards
  /// are computed: one sum over the ranks of the side-by-side shard
  /// gradients and losses, each rank having zeroed the shards it did not run
  /// (adding zeros is exact), gives every rank every shard's values; the
  /// loss is then their sum in shard order, as in one process.
  func gatherShards(bank: Int) {
    let started = clockIfProfiling()
    defer { slot(0, bank: bank)[Slot.ranks.rawValue] = clockIfProfiling() - started + statisticsSeconds }
    guard let rankShards else { return }
    let command = commands[bank]
    let total = reducedShards(command)
    let mine = command.firstShard..<(command.firstShard + command.shardLimit)
    let stride = ParameterLayout.aligned(model.parameters.count)
    let losses = shardLosses.base + bank * logicalShardCount
    for g in 0..<total where !mine.contains(g) {
      (rankShards.base + g * stride).update(repeating: 0, count: stride)
      losses[g] = 0
    }
    processes.sum(rankShards.base, count: total * stride)
    processes.sum(losses, count: total)
    let totals = rankTotals.base + bank * RankTotal.width
    var loss = 0.0
    for g in 0..<total { loss += losses[g] }
    totals[RankTotal.loss.rawValue] = loss
    totals[RankTotal.correct.rawValue] = Double(localCorrect(bank: bank))
    markStop(totals)
    processes.sum(totals + RankTotal.correct.rawValue, count: 3)
    agreeOnStop(totals)
    shareRunningStatistics(bank: bank)
  }

  /// Worker 0, once every worker's part of the mean gradient is in
  /// ``gradient``: sums the gradient, the loss and the correct count over
  /// the ranks, then the sum of squares of the summed gradient (the global
  /// norm, for clipping and the non-finite check).
  func reduceAcrossRanks(bank: Int) {
    let started = clockIfProfiling()
    defer { slot(0, bank: bank)[Slot.ranks.rawValue] = clockIfProfiling() - started + statisticsSeconds }
    let command = commands[bank]
    let totals = rankTotals.base + bank * RankTotal.width
    let count = model.parameters.count
    if command.indices.isEmpty {
      // No rows here: this rank adds nothing.
      gradient.base.update(repeating: 0, count: count)
      totals[RankTotal.loss.rawValue] = 0
      totals[RankTotal.correct.rawValue] = 0
    } else {
      totals[RankTotal.loss.rawValue] = localBatchLoss(bank: bank)
      totals[RankTotal.correct.rawValue] = Double(localCorrect(bank: bank))
    }
    markStop(totals)
    processes.sum(totals, count: 4)
    agreeOnStop(totals)
    shareRunningStatistics(bank: bank)
    // The whole vector in one call; the padding between tensors is 0 on every rank.
    processes.sum(gradient.base, count: count)
    var squares = 0.0
    for entry in network.layout.entries where entry.isTrainable {
      for i in entry.range { squares += Double(gradient.base[i]) * Double(gradient.base[i]) }
    }
    totals[RankTotal.squares.rawValue] = squares
  }

  /// This rank's correct predictions in the step of `bank`.
  func localCorrect(bank: Int) -> Int {
    if commands[bank].indices.isEmpty { return 0 }
    let shards = ShardPlan(rows: commands[bank].indices.count, workers: workerCount).shardCount
    var correct = 0
    for w in 0..<shards { correct += Int(slot(w, bank: bank)[Slot.correct.rawValue]) }
    return correct
  }
}
