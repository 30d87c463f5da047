import Backprop

/// How `cv` shows its results on a terminal: a line per fold as it ends and
/// the table (CSV and JSON are the library's).
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

  /// The terminal table and the mean ± std line.
  static func table(_ report: CrossValidationReport) -> String {
    var lines = ["fold  train    val      val_loss  val_accuracy  macro_f1  best_epoch  seconds  cpus"]
    for fold in report.folds {
      if let failure = fold.failure {
        lines.append(Report.leftAligned("\(fold.fold)", 6) + "failed: \(failure)")
        continue
      }
      lines.append(
        Report.leftAligned("\(fold.fold)", 6) + Report.leftAligned("\(fold.trainSamples)", 9)
          + Report.leftAligned("\(fold.validationSamples)", 9)
          + Report.leftAligned(Report.fixed(fold.validationLoss, 4), 10)
          + Report.leftAligned(fold.validationAccuracy.map { Report.fixed($0, 4) } ?? "-", 14)
          + Report.leftAligned(fold.macroF1.map { Report.fixed($0, 4) } ?? "-", 10)
          + Report.leftAligned("\(fold.bestEpoch)", 12)
          + Report.leftAligned(Report.fixed(fold.seconds, 2), 9) + cpuList(fold.cpus))
    }
    var summary: [String] = []
    if let loss = report.summary({ $0.validationLoss }) {
      summary.append("val_loss \(Report.fixed(loss.mean, 4)) ± \(Report.fixed(loss.std, 4))")
    }
    if let accuracy = report.summary({ $0.validationAccuracy }) {
      summary.append("val_accuracy \(Report.fixed(accuracy.mean, 4)) ± \(Report.fixed(accuracy.std, 4))")
    }
    if let f1 = report.summary({ $0.macroF1 }) {
      summary.append("macro_f1 \(Report.fixed(f1.mean, 4)) ± \(Report.fixed(f1.std, 4))")
    }
    let failed = report.folds.count - report.succeeded.count
    lines.append(
      "mean ± std over \(report.succeeded.count) fold(s)\(failed > 0 ? " (\(failed) failed)" : ""): "
        + summary.joined(separator: "  "))
    lines.append(ranLine(report))
    return lines.joined(separator: "\n") + "\n"
  }

  /// How the folds ran: how many trained at once at most (against the
  /// plan's), their workers and the CPUs they were seen on, and the wall time.
  static func ranLine(_ report: CrossValidationReport) -> String {
    let plan = report.plan
    let workers = Set(report.succeeded.map(\.workers)).sorted().map(String.init).joined(separator: "/")
    var line = "ran \(report.folds.count) fold(s), at most \(report.mostFoldsAtOnce) at once"
    if report.mostFoldsAtOnce < min(plan.parallelFolds, report.succeeded.count) {
      line += " (planned \(plan.parallelFolds) side by side; the folds were too short to overlap)"
    }
    line += ", \(workers.isEmpty ? "-" : workers) worker(s) each (of \(plan.threadsPerFold) thread(s) per fold)"
    line += ", on CPUs \(cpuList(report.cpusUsed)); wall \(Report.fixed(report.wallSeconds, 2)) s"
    return line
  }
}
