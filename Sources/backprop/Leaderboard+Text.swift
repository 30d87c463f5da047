import Backprop

extension Leaderboard {
  private static func meanStd(_ value: (mean: Double, std: Double)?) -> String {
    value.map { "\(Report.fixed($0.mean, 4)) ± \(Report.fixed($0.std, 4))" } ?? "-"
  }

  /// The terminal table.
  var table: String {
    var lines = ["rank  trial  val_accuracy       val_loss           seconds  setting"]
    for (rank, result) in ranked.enumerated() {
      let head = Report.leftAligned("\(rank + 1)", 6) + Report.leftAligned("\(result.trial)", 7)
      if let failure = result.failure {
        lines.append(head + "failed: \(failure)  [\(result.label)]")
        continue
      }
      lines.append(
        head + Report.leftAligned(Self.meanStd(result.summary { $0.validationAccuracy }), 19)
          + Report.leftAligned(Self.meanStd(result.summary { $0.validationLoss }), 19)
          + Report.leftAligned(Report.fixed(result.seconds, 1), 9)
          + result.label)
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
