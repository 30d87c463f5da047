/// Inference over rows of a data set on the calling thread, batch by batch
/// in one workspace: the serial part that ``Model/evaluate(_:threads:batchSize:)``
/// runs on each thread's share.
extension Model {
  /// The rows of one forward pass when a data set is scored: the trainer's
  /// evaluation after each epoch adds the batches' sums in this order,
  /// however many workers score them, so its results do not depend on the
  /// worker count.
  package static let evaluationBatchRows = 1024

  /// The bytes a scoring workspace aims at (see ``scoringRows(spec:)``).
  package static let scoringBytes = 32 << 20

  /// The rows a scoring workspace holds at once: ``evaluationBatchRows``,
  /// or fewer for a model whose rows are large, so that a worker's scoring
  /// space stays near ``scoringBytes`` (a convolutional network's row of
  /// activations can take a megabyte). A batch larger than the workspace is
  /// scored in parts, in order; the rule depends on the spec alone, so
  /// results still do not depend on the worker count.
  package static func scoringRows(spec: ModelSpec) -> Int {
    guard let floats = rowFloats(spec: spec, targetWidth: 1), floats > 0 else { return 1 }
    return max(1, min(evaluationBatchRows, scoringBytes / 4 / floats))
  }

  /// The summed loss and the correct count of `rows` of `data`, batch by
  /// batch in `workspace`, writing their predicted classes to `predictions`
  /// (indexed by row) when given.
  package func scoreRows(
    _ rows: Range<Int>, of data: Dataset, workspace: Workspace<Float>, predictions: UnsafeMutablePointer<Int>?
  ) -> (loss: Double, correct: Int) {
    let width = spec.outputWidth
    var loss = 0.0
    var correct = 0
    forEachBatch(of: data, rows: rows, workspace: workspace) { start, count, logits, targets in
      let result = self.loss.evaluate(
        logits: logits, targets: targets, rows: count, outputs: width, targetWidth: data.targetWidth, gradient: nil)
      loss += result.loss
      correct += result.correct
      guard let predictions else { return }
      for row in 0..<count {
        let line = logits + row * width
        predictions[start + row] = width == 1 ? (line[0] > 0 ? 1 : 0) : (0..<width).max { line[$0] < line[$1] }!
      }
    }
    return (loss, correct)
  }

  /// The mean loss and, where it has a meaning, the accuracy, from sums over `data`.
  package func evaluation(loss: Double, correct: Int, of data: Dataset) -> Evaluation {
    let count = Double(max(data.count, 1))
    let hasAccuracy = self.loss.reportsAccuracy(outputs: spec.outputWidth, targetWidth: data.targetWidth)
    return Evaluation(loss: loss / count, accuracy: hasAccuracy ? Double(correct) / count : nil, count: data.count)
  }

  /// Runs inference over `rows` of `data` in batches of up to the
  /// workspace's capacity; `body` gets the first row, the row count, the
  /// outputs and the targets of each batch.
  package func forEachBatch(
    of data: Dataset, rows: Range<Int>, workspace: Workspace<Float>,
    _ body: (Int, Int, UnsafeMutablePointer<Float>, UnsafePointer<Float>) -> Void
  ) {
    precondition(
      data.featureWidth == spec.inputWidth, "data has \(data.featureWidth) features, model takes \(spec.inputWidth)")
    let inputWidth = spec.inputWidth
    data.features.withUnsafeBufferPointer { features in
      data.targets.withUnsafeBufferPointer { targets in
        var start = rows.lowerBound
        while start < rows.upperBound {
          let count = min(workspace.capacity, rows.upperBound - start)
          workspace.input.base.update(from: features.baseAddress! + start * inputWidth, count: count * inputWidth)
          let logits = network.forward(parameters: parameters.base, workspace: workspace, rows: count, mode: .inference)
          body(start, count, logits, targets.baseAddress! + start * data.targetWidth)
          start += count
        }
      }
    }
  }
}
