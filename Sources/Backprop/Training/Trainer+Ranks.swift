/// Training across processes (``ProcessGroup``): each rank runs its part of
/// every batch on its own workers, worker 0 adds the ranks' gradients and
/// losses between two barriers of the step, and every rank applies the same
/// update to the same parameters.
extension Trainer {
  /// What ``rankTotals`` holds per bank.
  enum RankTotal: Int {
    case loss, correct, squares
    static let width = 4
  }

  /// One of the step's totals over every rank.
  func rankTotal(_ total: RankTotal, bank: Int) -> Double {
    rankTotals.base[bank * RankTotal.width + total.rawValue]
  }

  /// The batch's correct predictions over every rank.
  func batchCorrect(bank: Int) -> Int {
    processes.isDistributed ? Int(rankTotal(.correct, bank: bank)) : localCorrect(bank: bank)
  }

  /// This rank's part of a step of the whole batch: a contiguous run of the
  /// batch's rows, cut by ``ShardPlan`` over the ranks (empty for the last
  /// ranks when the batch has fewer rows than there are ranks).
  func localized(_ command: StepCommand) -> StepCommand {
    guard processes.isDistributed, command.kind == .step, !command.indices.isEmpty else { return command }
    var local = command
    let parts = ShardPlan(rows: command.indices.count, workers: processes.size)
    let range =
      processes.rank < parts.shardCount
      ? parts.range(of: processes.rank) : command.indices.count..<command.indices.count
    local.indices = UnsafeBufferPointer(rebasing: command.indices[range])
    local.batchRows = command.indices.count
    local.firstRow = range.lowerBound
    return local
  }

  /// Worker 0, once every worker's part of the mean gradient is in
  /// ``gradient``: sums the gradient, the loss and the correct count over
  /// the ranks, then the sum of squares of the summed gradient (the global
  /// norm, for clipping and the non-finite check).
  func reduceAcrossRanks(bank: Int) {
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
    processes.sum(totals, count: 2)
    // The whole vector in one call; the padding between tensors is 0 on every rank.
    processes.sum(gradient.base, count: count)
    var squares = 0.0
    for entry in network.layout.entries where entry.isTrainable {
      for i in entry.range { squares += Double(gradient.base[i]) * Double(gradient.base[i]) }
    }
    totals[RankTotal.squares.rawValue] = squares
  }

  /// This rank's correct predictions in the step of `bank`.
  private func localCorrect(bank: Int) -> Int {
    if commands[bank].indices.isEmpty { return 0 }
    let shards = ShardPlan(rows: commands[bank].indices.count, workers: workerCount).shardCount
    var correct = 0
    for w in 0..<shards { correct += Int(slot(w, bank: bank)[Slot.correct.rawValue]) }
    return correct
  }
}
