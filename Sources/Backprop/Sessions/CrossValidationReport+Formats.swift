/// A cross-validation's results as CSV and JSON, with each fold's macro-F1.
extension FoldResult {
  /// Macro-averaged F1 (the mean of the classes' F1), if the fold classifies.
  public var macroF1: Double? {
    classes.map { classes in classes.reduce(0) { $0 + $1.f1 } / Double(max(classes.count, 1)) }
  }

  /// The fold's JSON object (a failed fold: its sizes, failure and seconds).
  public var json: JSONValue {
    let fold = self
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
      ("macro_f1", fold.macroF1.map { .number($0) } ?? .null), ("best_epoch", .integer(fold.bestEpoch)),
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
}

extension CrossValidationReport {
  /// One row per fold, with per-class precision, recall and F1 columns.
  public var csv: String {
    let report = self
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
        fold.macroF1.map { "\($0)" } ?? "", "\(fold.bestEpoch)", "\(fold.epochs)", "\(fold.seconds)",
        fold.cpus.map(String.init).joined(separator: " "), CrossValidationReport.quoted(fold.failure ?? ""),
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

  /// `text` as a CSV cell: quoted, with quotes doubled, when it holds a comma or a quote.
  static func quoted(_ text: String) -> String {
    text.contains(",") || text.contains("\"")
      ? "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\"" : text
  }

  /// The report as one JSON object: the model, every fold, the mean and
  /// standard deviation of each score, and the schedule.
  public func json(model: Model) -> JSONValue {
    let report = self
    var members: [(String, JSONValue)] = [
      ("model", .string(model.spec.description)), ("folds", .array(report.folds.map(\.json))),
    ]
    func add(_ name: String, _ value: (FoldResult) -> Double?) {
      let summary = report.summary(value)
      members.append(("mean_\(name)", summary.map { .number($0.mean) } ?? .null))
      members.append(("std_\(name)", summary.map { .number($0.std) } ?? .null))
    }
    add("val_loss") { $0.validationLoss }
    add("val_accuracy") { $0.validationAccuracy }
    add("macro_f1") { $0.macroF1 }
    members += [
      ("failed_folds", .integer(report.folds.count - report.succeeded.count)),
      ("parallel_folds", .integer(report.plan.parallelFolds)),
      ("threads_per_fold", .integer(report.plan.threadsPerFold)),
      ("plan", .string(report.plan.reason)), ("most_folds_at_once", .integer(report.mostFoldsAtOnce)),
      ("cpus_used", .array(report.cpusUsed.map { .integer($0) })), ("wall_seconds", .number(report.wallSeconds)),
    ]
    return .object(members)
  }
}
