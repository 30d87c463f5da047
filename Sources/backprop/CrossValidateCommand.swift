import ArgumentParser
import Backprop

/// `backprop cv`: k-fold cross-validation, folds side by side on disjoint cores.
struct CrossValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "cv",
    abstract: "Cross-validate a model: k folds, run side by side on their own cores or one after another.",
    usage: "backprop cv --data <name|file> --model <spec> [--folds <k>] [<options>]",
    discussion: """
      Every fold trains the model from the same initial weights on the other folds' samples and is \
      scored on its own (loss, accuracy, per-class precision, recall and F1, the epoch of the \
      lowest validation loss); then the mean ± standard deviation over the folds. Folds are \
      stratified by class for classification unless --no-stratified. --threads counts each fold's \
      threads. A fold's result does not depend on the schedule: folds side by side or one after \
      another give bitwise-equal folds for the same threads per fold.

      Examples:
        backprop cv --data fashion-mnist --model 784-256-relu-128-relu-10 --folds 5
        backprop cv --data my.csv --label-column species --model 4-16-relu-3 \\
          --scale standard --folds 10 --epochs 50 --output folds.csv
      """)

  @OptionGroup var arguments: TrainingArguments
  @OptionGroup var gradients: GradientsOption
  @OptionGroup var length: RunLengthOptions
  @OptionGroup var resources: ResourceOptions
  @OptionGroup var convolution: ConvolutionOption
  @OptionGroup var tensorBoard: TensorBoardOptions

  @Option(parsing: .unconditional, help: "The number of folds.")
  var folds: Int = 5
  @OptionGroup var schedule: FoldScheduleOptions
  @Option(
    help:
      "Also write the report: one row per fold to R.csv, the whole report to R.json, or both for a name without either extension."
  )
  var output: String?
  @Flag(help: "Print one JSON object instead of the table.")
  var json = false

  func validate() throws {
    if folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
    if arguments.source.data == nil { throw ValidationError("--data: missing") }
  }

  /// The options given on the command line.
  var settings: SessionOptions { arguments.session(adding: [gradients.settings, length.settings]) }

  func run() throws {
    Interruption.stopsCleanly()
    // Under mpirun only rank 0 writes the report.
    let files = ReportOutput(Ranks.group.isLeader ? output : nil)
    let outputs = try claimOutputs(files.claims, inputs: TrainingArguments.inputs(of: settings))
    defer { outputs.release() }
    try tensorBoard.prepare()
    var run = try CrossValidationRun(
      settings: settings, folds: folds, stratified: schedule.stratified, threads: schedule.threadsPerFold)
    run.validation.tensorBoard = tensorBoard.tensorboard.map { ($0, tensorBoard.tensorboardEvery) }
    let plan = try run.plan(parallel: schedule.parallel)
    if !json { writeStandardError("plan: \(plan.reason)\n") }
    var report = try run.execute(plan: plan, pinning: schedule.pin, quiet: json)
    // Stopped by a signal: what finished is reported and written all the same.
    let interrupted = Interruption.stop.isRequested
    if interrupted { report = report.finishedFolds }
    try files.write(csv: report.csv, json: report.json(model: run.session.model))
    if json {
      writeStandardOutput(report.json(model: run.session.model).serialized() + "\n")
    } else {
      writeStandardOutput(CrossValidationReportFormat.table(report))
    }
    if interrupted {
      Interruption.exitAfterPartialRun(
        finished: report.folds.count, of: folds, parts: "fold(s)", output: files.description)
    }
  }
}

/// The data and cross-validation a `cv` command (or a search trial) runs.
struct CrossValidationRun {
  let session: TrainingSession
  var validation: CrossValidation
  let requestedThreads: Int?

  init(settings: SessionOptions, folds: Int, stratified: Bool, threads: Int?) throws(CommandFailure) {
    do {
      (validation, session) = try CrossValidation.prepare(settings, folds: folds, stratified: stratified)
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

  /// Runs the folds, printing a line as each ends unless `quiet`. Under
  /// `mpirun` rank r runs folds r, r + R, …, and rank 0 gathers every
  /// rank's results into the report (the others' reports hold theirs only).
  func execute(plan: FoldPlan, pinning: PinningPolicy, quiet: Bool) throws(CommandFailure) -> CrossValidationReport {
    let ranks = Ranks.group
    var report: CrossValidationReport
    do {
      report = try validation.run(
        on: session.training, plan: plan, pinning: pinning, stop: Interruption.stop,
        only: ranks.isDistributed ? { $0 % ranks.size == ranks.rank } : nil
      ) { fold in
        guard !quiet else { return }
        writeStandardError(CrossValidationReportFormat.foldLine(fold) + "\n")
      }
    } catch {
      throw CommandFailure(error)
    }
    guard ranks.isDistributed else { return report }
    let mine = report.folds.map(\.exchanged).joined(separator: "\n")
    let gathered = ranks.gather(mine).flatMap { $0.split(separator: "\n").map(String.init) }
    if ranks.isLeader {
      let folds = gathered.compactMap(FoldResult.init(exchanged:))
      guard folds.count == gathered.count else {
        throw CommandFailure("cv: a rank sent a fold result that does not read back")
      }
      report.folds = folds.sorted { $0.fold < $1.fold }
    }
    return report
  }
}
