import Dispatch

/// Inference over whole data sets, split across threads: each thread takes a
/// contiguous share of the rows (``ShardPlan``) with its own workspace, and
/// results are combined in share order, so they do not depend on scheduling.
extension Model {
  /// The network's outputs for every sample of `data`, `data.count × outputWidth`.
  ///
  /// - Parameters:
  ///   - threads: how many threads share the rows.
  ///   - batchSize: how many rows one forward pass takes.
  public func outputs(for data: Dataset, threads: Int = 1, batchSize: Int = 1024) -> [Float] {
    let width = spec.outputWidth
    var result = [Float](repeating: 0, count: data.count * width)
    result.withUnsafeMutableBufferPointer { buffer in
      // Each share writes only its own rows of the result.
      nonisolated(unsafe) let output = buffer.baseAddress!
      forEachBatch(of: data, threads: threads, batchSize: batchSize) { _, start, rows, logits, _ in
        (output + start * width).update(from: logits, count: rows * width)
      }
    }
    return result
  }

  /// The mean loss and, where it has a meaning, the accuracy over `data`.
  ///
  /// - Parameters:
  ///   - threads: how many threads share the rows.
  ///   - batchSize: how many rows one forward pass takes.
  public func evaluate(_ data: Dataset, threads: Int = 1, batchSize: Int = 1024) -> Evaluation {
    score(data, threads: threads, batchSize: batchSize, predictions: nil)
  }

  /// The loss and accuracy on `data` and the predicted class of every
  /// sample (the largest output, or output > 0 for a single one), in one pass.
  func evaluateAndPredict(_ data: Dataset) -> (Evaluation, predicted: [Int]) {
    var predicted = [Int](repeating: 0, count: data.count)
    let evaluation = predicted.withUnsafeMutableBufferPointer { buffer in
      score(data, threads: 1, batchSize: 1024, predictions: buffer.baseAddress)
    }
    return (evaluation, predicted)
  }

  /// ``evaluate(_:threads:batchSize:)``, also writing each sample's
  /// predicted class to `predictions` when given.
  private func score(
    _ data: Dataset, threads: Int, batchSize: Int, predictions: UnsafeMutablePointer<Int>?
  ) -> Evaluation {
    let width = spec.outputWidth
    let shares = max(1, min(threads, data.count))
    let totals = AlignedBuffer<Double>(count: shares * 8)  // one cache line per share
    // Shares write disjoint rows of the predictions.
    nonisolated(unsafe) let predictions = predictions
    forEachBatch(of: data, threads: shares, batchSize: batchSize) { share, start, rows, logits, targets in
      let result = self.loss.evaluate(
        logits: logits, targets: targets, rows: rows, outputs: width, targetWidth: data.targetWidth, gradient: nil)
      totals.base[share * 8] += result.loss
      totals.base[share * 8 + 1] += Double(result.correct)
      guard let predictions else { return }
      for row in 0..<rows {
        let line = logits + row * width
        predictions[start + row] = width == 1 ? (line[0] > 0 ? 1 : 0) : (0..<width).max { line[$0] < line[$1] }!
      }
    }
    var total = 0.0
    var correct = 0.0
    for share in 0..<shares {
      total += totals.base[share * 8]
      correct += totals.base[share * 8 + 1]
    }
    let count = Double(max(data.count, 1))
    let hasAccuracy = loss.reportsAccuracy(outputs: width, targetWidth: data.targetWidth)
    return Evaluation(loss: total / count, accuracy: hasAccuracy ? correct / count : nil, count: data.count)
  }

  /// Runs inference over `data` in batches, the rows shared among `threads`
  /// threads; `body` gets the share, the first row, the row count, the
  /// outputs and the targets of each batch.
  private func forEachBatch(
    of data: Dataset, threads: Int, batchSize: Int,
    _ body: @escaping (Int, Int, Int, UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> Void
  ) {
    precondition(
      data.featureWidth == spec.inputWidth, "data has \(data.featureWidth) features, model takes \(spec.inputWidth)")
    guard data.count > 0 else { return }
    let plan = ShardPlan(rows: data.count, workers: max(1, threads))
    let inputWidth = spec.inputWidth
    data.features.withUnsafeBufferPointer { features in
      data.targets.withUnsafeBufferPointer { targets in
        let run = { (share: Int) in
          let range = plan.range(of: share)
          let workspace = Workspace<Float>(spec: self.spec, capacity: max(1, min(batchSize, range.count)))
          var start = range.lowerBound
          while start < range.upperBound {
            let rows = min(workspace.capacity, range.upperBound - start)
            workspace.input.base.update(from: features.baseAddress! + start * inputWidth, count: rows * inputWidth)
            let logits = self.network.forward(
              parameters: self.parameters.base, workspace: workspace, rows: rows, mode: .inference)
            body(share, start, rows, logits, targets.baseAddress! + start * data.targetWidth)
            start += rows
          }
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
  }
}
