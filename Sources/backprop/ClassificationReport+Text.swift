import Backprop

extension ClassificationReport {
  /// The per-class table and the confusion matrix, as text.
  var text: String {
    // A class's label, and its name when the weights hold one (cut to 20 characters).
    func label(_ index: Int) -> String {
      guard let name = names?[index] else { return String(index) }
      let printable = FilePath.printable(name)
      return "\(index) " + (printable.count > 20 ? String(printable.prefix(19)) + "…" : printable)
    }
    let width = max(12, (0..<classes.count).map { label($0).count }.max() ?? 0) + 2
    func row(_ name: String, _ values: (precision: Double, recall: Double, f1: Double), support: Int) -> String {
      Report.leftAligned(name, width) + Report.rightAligned(Report.fixed(values.precision, 4), 10)
        + Report.rightAligned(Report.fixed(values.recall, 4), 8)
        + Report.rightAligned(Report.fixed(values.f1, 4), 8) + Report.rightAligned(String(support), 9)
    }
    var lines = [
      Report.leftAligned("class", width) + Report.rightAligned("precision", 10) + Report.rightAligned("recall", 8)
        + Report.rightAligned("f1", 8) + Report.rightAligned("support", 9)
    ]
    for metrics in classes {
      lines.append(row(label(metrics.label), (metrics.precision, metrics.recall, metrics.f1), support: metrics.support))
    }
    let total = classes.reduce(0) { $0 + $1.support }
    lines.append(row("macro avg", macroAverage, support: total))
    lines.append(row("weighted avg", weightedAverage, support: total))
    lines.append("")
    lines.append("confusion matrix (a row per true class, a column per predicted class)")
    let cell = max(6, String(confusion.flatMap { $0 }.max() ?? 0).count + 2)
    lines.append(
      Report.leftAligned("", width) + (0..<classes.count).map { Report.rightAligned(String($0), cell) }.joined())
    for (index, counts) in confusion.enumerated() {
      lines.append(
        Report.leftAligned(label(index), width) + counts.map { Report.rightAligned(String($0), cell) }.joined())
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
