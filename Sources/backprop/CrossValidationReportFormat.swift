import Backprop

/// How `cv` shows its results: a line per fold as it ends, the table, CSV
/// rows and the JSON object.
enum CrossValidationReportFormat {
  /// The fold's line, printed as it ends.
  static func foldLine(_ fold: FoldResult) -> String {
    if let failure = fold.failure { return "fold \(fold.fold)  failed: \(failure)" }
    var parts = ["fold \(fold.fold)", "val_loss \(Report.fixed(fold.validationLoss, 4))"]
    if let accuracy = fold.validationAccuracy { parts.append("val_accuracy \(Report.fixed(accuracy, 4))") }
    parts += ["best epoch \(fold.bestEpoch)", "\(Report.fixed(fold.seconds, 2)) s", "cpus \(cpuList(fold.cpus))"]
    return parts.joined(separator: "  ")
  }

  static func cpuList(_ cpus: [Int]) -> String { cpus.isEmpty ? "-" : cpus.map(String.init).joined(separator: ",") }

  /// Macro-averaged F1 of a fold, if it classifies.
  static func macroF1(_ fold: FoldResult) -> Double? {
    fold.classes.map { classes in classes.reduce(0) { $0 + $1.f1 } / Double(max(classes.count, 1)) }
  }

  /// The terminal table and the mean ± std line.
  static func table(_ report: CrossValidationReport) -> String {
    var lines = ["fold  train    val      val_loss  val_accuracy  macro_f1  best_epoch  seconds  cpus"]
    for fold in report.folds {
      if let failure = fold.failure {
        lines.append(pad("\(fold.fold)", 6) + "failed: \(failure)")
        continue
      }
      lines.append(
        pad("\(fold.fold)", 6) + pad("\(fold.trainSamples)", 9) + pad("\(fold.validationSamples)", 9)
          + pad(Report.fixed(fold.validationLoss, 4), 10)
          + pad(fold.validationAccuracy.map { Report.fixed($0, 4) } ?? "-", 14)
          + pad(macroF1(fold).map { Report.fixed($0, 4) } ?? "-", 10) + pad("\(fold.bestEpoch)", 12)
          + pad(Report.fixed(fold.seconds, 2), 9) + cpuList(fold.cpus))
    }
    var summary: [String] = []
    if let loss = report.summary({ $0.validationLoss }) {
      summary.append("val_loss \(Report.fixed(loss.mean, 4)) ± \(Report.fixed(loss.std, 4))")
    }
    if let accuracy = report.summary({ $0.validationAccuracy }) {
      summary.append("val_accuracy \(Report.fixed(accuracy.mean, 4)) ± \(Report.fixed(accuracy.std, 4))")
    }
    if let f1 = report.summary(macroF1) {
      summary.append("macro_f1 \(Report.fixed(f1.mean, 4)) ± \(Report.fixed(f1.std, 4))")
    }
    let failed = report.folds.count - report.succeeded.count
    lines.append(
      "mean ± std over \(report.succeeded.count) fold(s)\(failed > 0 ? " (\(failed) failed)" : ""): "
        + summary.joined(separator: "  "))
    lines.append(
      "\(report.plan.parallelFolds) fold(s) side by side, \(report.plan.threadsPerFold) thread(s) each; wall \(Report.fixed(report.wallSeconds, 2)) s"
    )
    return lines.joined(separator: "\n") + "\n"
  }

  private static func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text + String(repeating: " ", count: width - text.count)
  }

  /// One row per fold, with per-class precision, recall and F1 columns.
  static func csv(_ report: CrossValidationReport) -> String {
    let classes = report.folds.compactMap(\.classes).first?.count ?? 0
    var header = [
      "fold", "train_samples", "val_samples", "val_loss", "val_accuracy", "macro_f1", "best_epoch", "epochs",
      "seconds", "cpus", "failure",
    ]
    for c in 0..<classes { header += ["precision_\(c)", "recall_\(c)", "f1_\(c)"] }
    var rows = [header.joined(separator: ",")]
    for fold in report.folds {
      var row = [
        "\(fold.fold)", "\(fold.trainSamples)", "\(fold.validationSamples)",
        fold.failure == nil ? "\(fold.validationLoss)" : "", fold.validationAccuracy.map { "\($0)" } ?? "",
        macroF1(fold).map { "\($0)" } ?? "", "\(fold.bestEpoch)", "\(fold.epochs)", "\(fold.seconds)",
        fold.cpus.map(String.init).joined(separator: " "), quoted(fold.failure ?? ""),
      ]
      for c in 0..<classes {
        let metrics = fold.classes?[c]
        row += [
          metrics.map { "\($0.precision)" } ?? "", metrics.map { "\($0.recall)" } ?? "",
          metrics.map { "\($0.f1)" } ?? "",
        ]
      }
      rows.append(row.joined(separator: ","))
    }
    return rows.joined(separator: "\n") + "\n"
  }

  private static func quoted(_ text: String) -> String {
    text.contains(",") || text.contains("\"")
      ? "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" : text
  }

  /// The fold's JSON object.
  static func foldJSON(_ fold: FoldResult) -> JSONValue {
    var members: [(String, JSONValue)] = [
      ("fold", .integer(fold.fold)), ("train_samples", .integer(fold.trainSamples)),
      ("val_samples", .integer(fold.validationSamples)),
    ]
    if let failure = fold.failure {
      members += [("failure", .string(failure)), ("seconds", .number(fold.seconds))]
      return .object(members)
    }
    members += [
      ("val_loss", .number(fold.validationLoss)),
      ("val_accuracy", fold.validationAccuracy.map { .number($0) } ?? .null),
      ("macro_f1", macroF1(fold).map { .number($0) } ?? .null), ("best_epoch", .integer(fold.bestEpoch)),
      ("epochs", .integer(fold.epochs)), ("seconds", .number(fold.seconds)),
      ("cpus", .array(fold.cpus.map { .integer($0) })), ("workers", .integer(fold.workers)),
      ("execution", .string(fold.execution)),
      ("weights_crc32", .string(fold.weightsChecksum)),
    ]
    if let classes = fold.classes {
      members.append(
        (
          "classes",
          .array(
            classes.map {
              .object([
                ("label", .integer($0.label)), ("precision", .number($0.precision)), ("recall", .number($0.recall)),
                ("f1", .number($0.f1)), ("support", .integer($0.support)),
              ])
            })
        ))
    }
    return .object(members)
  }

  /// The `--json` object.
  static func json(_ report: CrossValidationReport, model: Model) -> JSONValue {
    var members: [(String, JSONValue)] = [
      ("model", .string(model.spec.description)), ("folds", .array(report.folds.map(foldJSON))),
    ]
    func add(_ name: String, _ value: (FoldResult) -> Double?) {
      let summary = report.summary(value)
      members.append(("mean_\(name)", summary.map { .number($0.mean) } ?? .null))
      members.append(("std_\(name)", summary.map { .number($0.std) } ?? .null))
    }
    add("val_loss") { $0.validationLoss }
    add("val_accuracy") { $0.validationAccuracy }
    add("macro_f1", macroF1)
    members += [
      ("failed_folds", .integer(report.folds.count - report.succeeded.count)),
      ("parallel_folds", .integer(report.plan.parallelFolds)),
      ("threads_per_fold", .integer(report.plan.threadsPerFold)),
      ("plan", .string(report.plan.reason)), ("wall_seconds", .number(report.wallSeconds)),
    ]
    return .object(members)
  }
}
