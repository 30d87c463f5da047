import Dispatch

/// Inference over whole data sets, split across threads: each thread takes a
/// contiguous share of the rows (``ShardPlan``) with its own workspace, and
/// results are combined in share order, so they do not depend on scheduling.
extension Model {
  /// The network's outputs for every sample of `data`, `data.count × outputWidth`.
  ///
  /// - Parameters:
  ///   - threads: how many threads share the rows.
  ///   - batchSize: the most rows one forward pass takes (fewer for a model
  ///     whose rows are large: see ``Model/scoringRows(spec:)``).
  public func outputs(for data: Dataset, threads: Int = 1, batchSize: Int = 1024) -> [Float] {
    let width = spec.outputWidth
    guard data.count > 0 else { return [] }
    var result = [Float](repeating: 0, count: data.count * width)
    let plan = ShardPlan(rows: data.count, workers: max(1, min(threads, data.count)))
    result.withUnsafeMutableBufferPointer { buffer in
      // Each share writes only its own rows of the result.
      nonisolated(unsafe) let output = buffer.baseAddress!
      forEachShare(of: plan, batchSize: batchSize) { _, rows, workspace in
        self.forEachBatch(of: data, rows: rows, workspace: workspace) { start, count, logits, _ in
          (output + start * width).update(from: logits, count: count * width)
        }
      }
    }
    return result
  }

  /// The mean loss and, where it has a meaning, the accuracy over `data`.
  ///
  /// - Parameters:
  ///   - threads: how many threads share the rows.
  ///   - batchSize: the most rows one forward pass takes (fewer for a model
  ///     whose rows are large: see ``Model/scoringRows(spec:)``).
  public func evaluate(_ data: Dataset, threads: Int = 1, batchSize: Int = 1024) -> Evaluation {
    score(data, threads: threads, batchSize: batchSize, predictions: nil)
  }

  /// The loss and accuracy on `data` and the predicted class of every
  /// sample (the largest output, or output > 0 for a single one), in one
  /// pass shared by `threads` threads.
  public func evaluateAndPredict(_ data: Dataset, threads: Int = 1) -> (Evaluation, predicted: [Int]) {
    var predicted = [Int](repeating: 0, count: data.count)
    let evaluation = predicted.withUnsafeMutableBufferPointer { buffer in
      score(data, threads: threads, batchSize: 1024, predictions: buffer.baseAddress)
    }
    return (evaluation, predicted)
  }

  /// ``evaluate(_:threads:batchSize:)``, also writing each sample's
  /// predicted class to `predictions` when given.
  private func score(
    _ data: Dataset, threads: Int, batchSize: Int, predictions: UnsafeMutablePointer<Int>?
  ) -> Evaluation {
    guard data.count > 0 else { return evaluation(loss: 0, correct: 0, of: data) }
    let plan = ShardPlan(rows: data.count, workers: max(1, min(threads, data.count)))
    let totals = AlignedBuffer<Double>(count: plan.shardCount * 8)  // one cache line per share
    // Shares write disjoint rows of the predictions and their own line of the totals.
    nonisolated(unsafe) let predictions = predictions
    forEachShare(of: plan, batchSize: batchSize) { share, rows, workspace in
      let (loss, correct) = self.scoreRows(rows, of: data, workspace: workspace, predictions: predictions)
      totals.base[share * 8] = loss
      totals.base[share * 8 + 1] = Double(correct)
    }
    var loss = 0.0
    var correct = 0
    for share in 0..<plan.shardCount {
      loss += totals.base[share * 8]
      correct += Int(totals.base[share * 8 + 1])
    }
    return evaluation(loss: loss, correct: correct, of: data)
  }

  /// Runs `body` for every share of `plan` with the share's rows and a
  /// workspace of its own for batches of up to `batchSize` rows: on the
  /// calling thread when there is one share, else each on a Dispatch worker.
  private func forEachShare(
    of plan: ShardPlan, batchSize: Int, _ body: @escaping (Int, Range<Int>, Workspace<Float>) -> Void
  ) {
    let run = { (share: Int) in
      let rows = plan.range(of: share)
      let capacity = min(batchSize, Model.scoringRows(spec: self.spec), rows.count)
      body(share, rows, Workspace<Float>(spec: self.spec, capacity: max(1, capacity)))
    }
    if plan.shardCount == 1 {
      run(0)
    } else {
      // Shares touch disjoint rows and their own workspaces.
      nonisolated(unsafe) let shared = run
      DispatchQueue.concurrentPerform(iterations: plan.shardCount) { shared($0) }
    }
  }
}
