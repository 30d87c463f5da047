import Backprop

extension ModelSummary {
  /// The summary as a table: a line per layer, the totals, and the memory.
  var text: String {
    // Widths; the layer and its output shape are left-aligned, the counts right-aligned.
    let columns = [4, 15, 12, 14, 15, 16]
    func line(_ cells: [String]) -> String {
      zip(cells, columns).enumerated().map { index, cell in
        index == 1 || index == 2 ? "  " + Report.leftAligned(cell.0, cell.1 - 2) : Report.rightAligned(cell.0, cell.1)
      }.joined().trimmingTrailingSpaces
    }
    var lines = [
      "model \(model)",
      line(["#", "layer", "output", "parameters", "forward FLOPs", "training FLOPs"]),
      line(["", "input", inputShape.description, "", "", ""]),
    ]
    for row in rows {
      let parameters = Report.grouped(Double(row.parameters)) + (row.buffers > 0 ? "+\(row.buffers)" : "")
      lines.append(
        line([
          String(row.index), row.layer.allSatisfy(\.isNumber) ? "dense \(row.layer)" : row.layer,
          row.outputShape.description, row.parameters + row.buffers > 0 ? parameters : "",
          Report.grouped(Double(row.forwardFLOPs)), Report.grouped(Double(row.trainingFLOPs)),
        ]))
    }
    lines.append(
      line([
        "", "total", "", Report.grouped(Double(parameters)), Report.grouped(Double(forwardFLOPs)),
        Report.grouped(Double(trainingFLOPs)),
      ]))
    var trained =
      "parameters: \(Report.grouped(Double(parameters))) trained (\(MemoryBudget.describe(parameters * 4)) as float32)"
    if buffers > 0 { trained += "; \(Report.grouped(Double(buffers))) running statistics, not trained (+N above)" }
    lines.append(trained)
    let rowsEach = (memory.batchSize + memory.workers - 1) / memory.workers
    var memoryLine =
      "memory at batch \(memory.batchSize) with \(memory.workers) worker(s): \(MemoryBudget.describe(memory.perWorker)) per worker (\(rowsEach) row(s) and its working space), \(MemoryBudget.describe(memory.vectors)) of parameters, gradient and optimizer state"
    if let total = memory.total {
      memoryLine +=
        "; about \(MemoryBudget.describe(total)) in all, \(MemoryBudget.describe(memory.scoring)) of it to score the evaluation set (\(memory.scoringRows) row(s) per worker)"
    }
    lines.append(memoryLine)
    return lines.joined(separator: "\n") + "\n"
  }
}

extension String {
  /// The text without the spaces at its end.
  fileprivate var trimmingTrailingSpaces: String {
    String(self[..<(lastIndex { $0 != " " }.map { index(after: $0) } ?? startIndex)])
  }
}
