/// A search's trials ranked by their mean validation score, failed ones last
/// with their reason.
public struct Leaderboard: Sendable {
  /// The trials, best first.
  public let ranked: [Search.TrialResult]
  /// Whether they are ranked by mean validation accuracy (else by loss).
  public let byAccuracy: Bool

  /// Ranks `results` by mean validation accuracy (`byAccuracy`) or loss;
  /// ties keep the order the trials were given.
  public init(results: [Search.TrialResult], byAccuracy: Bool) {
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

  /// One row per trial, best first.
  public var csv: String {
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

  /// The JSON object: the ranked trials with their folds, and the schedule.
  public func json(plan: FoldPlan, wall: Double) -> JSONValue {
    .object([
      (
        "trials",
        .array(
          ranked.enumerated().map { rank, result in
            let accuracy = result.summary { $0.validationAccuracy }
            let loss = result.summary { $0.validationLoss }
            let setting: [(String, JSONValue)] = result.values.map { ($0.name, Search.TrialResult.jsonValue($0.value)) }
            return .object([
              ("rank", .integer(rank + 1)), ("trial", .integer(result.trial)),
              ("setting", .object(setting)),
              ("mean_val_accuracy", accuracy.map { .number($0.mean) } ?? .null),
              ("std_val_accuracy", accuracy.map { .number($0.std) } ?? .null),
              ("mean_val_loss", loss.map { .number($0.mean) } ?? .null),
              ("std_val_loss", loss.map { .number($0.std) } ?? .null), ("seconds", .number(result.seconds)),
              ("failure", result.failure.map { .string($0) } ?? .null),
              ("folds", .array(result.folds.map(\.json))),
            ])
          })
      ),
      ("ranked_by", .string(byAccuracy ? "val_accuracy" : "val_loss")),
      ("parallel_folds", .integer(plan.parallelFolds)), ("threads_per_fold", .integer(plan.threadsPerFold)),
      ("plan", .string(plan.reason)), ("wall_seconds", .number(wall)),
    ])
  }
}

extension Search.TrialResult {
  /// A setting's value as JSON: a number when it reads as one (`0.1`,
  /// `128`), else text (`adam`, `step:5:0.5`).
  static func jsonValue(_ text: String) -> JSONValue {
    if let whole = Int(text) { return .integer(whole) }
    if let number = Double(text), number.isFinite { return .number(number) }
    return .string(text)
  }

  /// The setting as `name=value` pairs.
  public var label: String { values.map { "\($0.name)=\($0.value)" }.joined(separator: " ") }
}
