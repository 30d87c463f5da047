import ArgumentParser
import Backprop

/// `backprop cv`: k-fold cross-validation, folds side by side on disjoint cores.
struct CrossValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cv",
    abstract: "Cross-validate a model: k folds, run side by side on their own cores or one after another.",
    discussion: """
      Every fold trains the model from the same initial weights on the other folds' samples and is \
      scored on its own (loss, accuracy, per-class precision, recall and F1, the epoch of the \
      lowest validation loss); then the mean ± standard deviation over the folds. Folds are \
      stratified by class for classification unless --no-stratified. --threads counts each fold's \
      threads. A fold's result does not depend on the schedule: folds side by side or one after \
      another give bitwise-equal folds for the same threads per fold.
      """)

  @OptionGroup var arguments: TrainingArguments
  @OptionGroup var resources: ResourceOptions

  @Option(parsing: .unconditional, help: "The number of folds.")
  var folds: Int = 5
  @OptionGroup var schedule: FoldScheduleOptions
  @Option(help: "Also write one row per fold to this CSV file.")
  var output: String?
  @Flag(help: "Print one JSON object instead of the table.")
  var json = false

  func validate() throws {
    if folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
    if arguments.validationSplit != nil {
      throw ValidationError("--validation-split: cv holds out each fold in turn instead")
    }
    if arguments.source.data == nil { throw ValidationError("--data: missing") }
  }

  func run() throws {
    Interruption.stopsCleanly()
    let outputs = try claimOutputs([named("--output", output)], inputs: arguments.inputs)
    defer { outputs.release() }
    let run = try CrossValidationRun(
      arguments: arguments, folds: folds, stratified: schedule.stratified, threads: schedule.threadsPerFold)
    let plan = try run.plan(parallel: schedule.parallel)
    if !json { writeStandardError("plan: \(plan.reason)\n") }
    var report = try run.execute(plan: plan, pinning: schedule.pin, quiet: json)
    // Stopped by a signal: what finished is reported and written all the same.
    let interrupted = Interruption.stop.isRequested
    if interrupted { report = report.finishedFolds }
    if let output { try reporting { try AtomicFile.write(report.csv, to: output) } }
    if json {
      writeStandardOutput(report.json(model: run.session.model).serialized() + "\n")
    } else {
      writeStandardOutput(CrossValidationReportFormat.table(report))
    }
    if interrupted {
      Interruption.exitAfterPartialRun(finished: report.folds.count, of: folds, parts: "fold(s)", output: output)
    }
  }
}

/// The data and cross-validation a `cv` command (or a search trial) runs.
struct CrossValidationRun {
  let session: TrainingSession
  let validation: CrossValidation
  let requestedThreads: Int?

  init(arguments: TrainingArguments, folds: Int, stratified: Bool, threads: Int?) throws(CommandFailure) {
    do {
      (validation, session) = try CrossValidation.prepare(arguments.session, folds: folds, stratified: stratified)
    } catch {
      throw CommandFailure(error.description)
    }
    requestedThreads = threads
    do { _ = try validation.split(session.training) } catch { throw CommandFailure(error) }
    session.report()
  }

  /// The schedule: as asked, or chosen (`parallel` nil).
  func plan(parallel: Int?) throws(CommandFailure) -> FoldPlan {
    do {
      return try FoldPlan.choose(
        folds: validation.folds, parallel: parallel, threads: requestedThreads, model: session.model,
        options: session.options, samples: session.training.count)
    } catch {
      throw CommandFailure(error.description)
    }
  }

  /// Runs the folds, printing a line as each ends unless `quiet`.
  func execute(plan: FoldPlan, pinning: PinningPolicy, quiet: Bool) throws(CommandFailure) -> CrossValidationReport {
    do {
      return try validation.run(on: session.training, plan: plan, pinning: pinning, stop: Interruption.stop) { fold in
        guard !quiet else { return }
        writeStandardError(CrossValidationReportFormat.foldLine(fold) + "\n")
      }
    } catch {
      throw CommandFailure(error)
    }
  }
}
