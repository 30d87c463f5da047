import Backprop

/// A search's trials ranked by their mean validation score, failed ones last
/// with their reason.
struct Leaderboard {
  let ranked: [Search.TrialResult]
  let byAccuracy: Bool

  init(results: [Search.TrialResult], byAccuracy: Bool) {
    self.byAccuracy = byAccuracy
    func score(_ result: Search.TrialResult) -> Double? {
      byAccuracy
        ? result.summary { $0.validationAccuracy }?.mean : result.summary { $0.validationLoss }.map { -$0.mean }
    }
    // Best first; ties keep the order the trials were given.
    ranked = results.enumerated().sorted { a, b in
      switch (score(a.element), score(b.element)) {
      case (let x?, let y?): x != y ? x > y : a.offset < b.offset
      case (.some, nil): true
      case (nil, .some): false
      default: a.offset < b.offset
      }
    }.map(\.element)
  }

  private static func meanStd(_ value: (mean: Double, std: Double)?) -> String {
    value.map { "\(Report.fixed($0.mean, 4)) ± \(Report.fixed($0.std, 4))" } ?? "-"
  }

  /// The terminal table.
  var table: String {
    var lines = ["rank  trial  val_accuracy       val_loss           seconds  setting"]
    for (rank, result) in ranked.enumerated() {
      let head = pad("\(rank + 1)", 6) + pad("\(result.trial)", 7)
      if let failure = result.failure {
        lines.append(head + "failed: \(failure)  [\(result.label)]")
        continue
      }
      lines.append(
        head + pad(Self.meanStd(result.summary { $0.validationAccuracy }), 19)
          + pad(Self.meanStd(result.summary { $0.validationLoss }), 19) + pad(Report.fixed(result.seconds, 1), 9)
          + result.label)
    }
    return lines.joined(separator: "\n") + "\n"
  }

  private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }

  /// One row per trial, best first.
  var csv: String {
    let names = ranked.first?.values.map(\.name) ?? []
    var rows = [
      (["rank", "trial"] + names + [
        "mean_val_accuracy", "std_val_accuracy", "mean_val_loss", "std_val_loss", "folds", "seconds", "failure",
      ]).joined(separator: ",")
    ]
    for (rank, result) in ranked.enumerated() {
      let accuracy = result.summary { $0.validationAccuracy }
      let loss = result.summary { $0.validationLoss }
      let failure = (result.failure ?? "").split(separator: "\"", omittingEmptySubsequences: false).joined(
        separator: "\"\"")
      rows.append(
        (["\(rank + 1)", "\(result.trial)"] + result.values.map(\.value) + [
          accuracy.map { "\($0.mean)" } ?? "", accuracy.map { "\($0.std)" } ?? "", loss.map { "\($0.mean)" } ?? "",
          loss.map { "\($0.std)" } ?? "", "\(result.folds.count)", "\(result.seconds)", "\"\(failure)\"",
        ]).joined(separator: ","))
    }
    return rows.joined(separator: "\n") + "\n"
  }

  /// The JSON object: the ranked trials with their folds.
  func json(plan: FoldPlan, wall: Double) -> JSONValue {
    .object([
      (
        "trials",
        .array(
          ranked.enumerated().map { rank, result in
            let accuracy = result.summary { $0.validationAccuracy }
            let loss = result.summary { $0.validationLoss }
            return .object([
              ("rank", .integer(rank + 1)), ("trial", .integer(result.trial)),
              ("setting", .object(result.values.map { ($0.name, .string($0.value)) })),
              ("mean_val_accuracy", accuracy.map { .number($0.mean) } ?? .null),
              ("std_val_accuracy", accuracy.map { .number($0.std) } ?? .null),
              ("mean_val_loss", loss.map { .number($0.mean) } ?? .null),
              ("std_val_loss", loss.map { .number($0.std) } ?? .null), ("seconds", .number(result.seconds)),
              ("failure", result.failure.map { .string($0) } ?? .null),
              ("folds", .array(result.folds.map(CrossValidationReportFormat.foldJSON))),
            ])
          })
      ),
      ("ranked_by", .string(byAccuracy ? "val_accuracy" : "val_loss")),
      ("parallel_folds", .integer(plan.parallelFolds)), ("threads_per_fold", .integer(plan.threadsPerFold)),
      ("plan", .string(plan.reason)), ("wall_seconds", .number(wall)),
    ])
  }
}
