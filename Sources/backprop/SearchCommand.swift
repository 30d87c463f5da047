import ArgumentParser
import Backprop

/// `backprop search`: grid or random search, every trial scored by k-fold
/// cross-validation or a hold-out split, trials' folds scheduled across core
/// groups like the folds of `cv`.
struct SearchCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "search",
    abstract: "Search hyperparameters: a grid or random settings, each scored by cross-validation.",
    usage: """
      backprop search --data <name|file> --model <spec> --grid <space> [<options>]
      backprop search --data <name|file> --model <spec> --random <n> --space <space> [<options>]
      """,
    discussion: """
      NAME is any option of train (lr, momentum, weight-decay, batch-size, epochs, optimizer, \
      schedule, …) or a {NAME} placeholder in --model, as in --model '784-{hidden}-relu-10' \
      --grid 'lr=0.1,0.01 hidden=128,256'. Random search draws --random N settings from --space: \
      lists are chosen from uniformly; ranges LOW:HIGH are sampled uniformly, log-uniformly for \
      lr, weight-decay and eps (or with log:LOW:HIGH), and as whole numbers when both bounds are.

      Examples:
        backprop search --data fashion-mnist --model '784-{hidden}-relu-10' \\
          --grid 'lr=0.1,0.01 hidden=128,256'
        backprop search --data my.csv --model 4-16-relu-3 --scale standard \\
          --random 20 --space 'lr=1e-4:1e-1 momentum=0.8:0.99' --holdout 0.2 \\
          --refit --save best.safetensors
      """)

  @OptionGroup var arguments: TrainingArguments
  @OptionGroup var gradients: GradientsOption
  @OptionGroup var length: RunLengthOptions
  /// Scored by the refit only.
  @OptionGroup var test: TestDataOptions
  @OptionGroup var resources: ResourceOptions
  @OptionGroup var convolution: ConvolutionOption
  @OptionGroup var tensorBoard: TensorBoardOptions

  @Option(help: "Grid search over every combination: 'lr=0.1,0.03,0.01 hidden=128,256'.")
  var grid: String?
  @Option(parsing: .unconditional, help: "Random search: this many settings drawn from --space (seeded by --seed).")
  var random: Int?
  @Option(help: "The space of random search: 'lr=1e-4:1e-1 momentum=0.8:0.99 hidden=64,128,256'.")
  var space: String?
  @Option(parsing: .unconditional, help: "Score every trial by k-fold cross-validation with this many folds.")
  var folds: Int = 3
  @Option(
    parsing: .unconditional, help: "Score every trial on one seeded hold-out split of this fraction instead of folds.")
  var holdout: Double?
  @OptionGroup var schedule: FoldScheduleOptions
  @Option(help: "Rank by val_accuracy (default for classification) or val_loss.")
  var metric: String?
  @Option(
    help: "Write the leaderboard to L.csv or L.json, or to both for a name without either extension.")
  var output: String?
  @Flag(help: "Print one JSON object instead of the leaderboard.")
  var json = false
  @Flag(help: "Train the best setting on all the training data and report its test accuracy.")
  var refit = false
  @Option(help: "With --refit, save the refitted weights to this .safetensors file.")
  var save: String?

  func validate() throws {
    if (grid == nil) == (random == nil) {
      throw ValidationError("give either --grid SPACE or --random N --space SPACE")
    }
    if random != nil && space == nil { throw ValidationError("--random needs --space SPACE") }
    if grid != nil && space != nil { throw ValidationError("--space goes with --random; --grid takes its own lists") }
    if let random, random < 1 { throw ValidationError("--random must be at least 1, got \(random)") }
    if let random, random > SearchSpace.maximumTrials {
      throw ValidationError("--random \(random) is more than the \(SearchSpace.maximumTrials) trials a search may try")
    }
    if folds < 2 { throw ValidationError("--folds must be at least 2, got \(folds)") }
    if let holdout, !(holdout > 0 && holdout < 1) {
      throw ValidationError("--holdout must be in (0, 1), got \(holdout)")
    }
    if let metric, !["val_accuracy", "val_loss"].contains(metric) {
      throw ValidationError("--metric must be val_accuracy or val_loss, got '\(metric)'")
    }
    if save != nil && !refit { throw ValidationError("--save: needs --refit (it saves the refitted weights)") }
    if test.testData != nil && !refit {
      throw ValidationError(
        "--test-data: needs --refit (the trials are scored on validation folds, never on test data)")
    }
    if arguments.source.data == nil { throw ValidationError("--data: missing") }
  }

  /// The options given on the command line.
  var given: SessionOptions { arguments.session(adding: [gradients.settings, length.settings, test.settings]) }

  func run() throws {
    Interruption.stopsCleanly()
    // Under mpirun only rank 0 writes the leaderboard and the refitted weights.
    let leads = Ranks.group.isLeader
    let files = ReportOutput(leads ? output : nil)
    let outputs = try claimOutputs(
      files.claims + [named("--save", leads ? save : nil)], inputs: TrainingArguments.inputs(of: given))
    defer { outputs.release() }
    try tensorBoard.prepare()
    let settings: [[(name: String, value: String)]]
    do {
      if let grid {
        settings = try SearchSpace(parsing: grid).grid()
      } else {
        settings = try SearchSpace(parsing: space!).sample(count: random!, seed: arguments.seed)
      }
    } catch {
      throw CommandFailure("\(grid != nil ? "--grid" : "--space"): \(error.description)")
    }
    let loaded = try arguments.source.load()
    let trials = settings.enumerated().map { trial($1, number: $0 + 1, of: settings.count, loaded: loaded) }
    guard let first = trials.firstIndex(where: { $0.failure == nil }) else {
      throw CommandFailure("no setting could be set up; the first: \(trials[0].failure ?? "")")
    }
    let base = trials[first].validation!
    // The first trial's data, unscaled (each fold fits its own scaling).
    let data: Dataset
    do {
      let session = try CrossValidation.prepare(
        try setting(settings[first]), folds: folds, stratified: schedule.stratified, data: loaded
      ).session
      session.report()
      data = session.training
    } catch {
      throw CommandFailure(error.description)
    }
    // Under mpirun rank r runs runs r, r + R, … of all the trials' folds.
    let ranks = Ranks.group
    let runs = trials.reduce(0) { $0 + ($1.failure == nil ? (holdout == nil ? folds : 1) : 0) }
    let share = ranks.isDistributed ? (runs - ranks.rank + ranks.size - 1) / ranks.size : runs
    let plan: FoldPlan
    do {
      plan = try FoldPlan.choose(
        folds: holdout == nil ? folds : 1, parallel: schedule.parallel, threads: schedule.threadsPerFold,
        model: Model(spec: base.spec, loss: base.loss), options: base.options, samples: data.count,
        runs: max(share, 1),
        holdoutFraction: holdout)
    } catch {
      throw CommandFailure(error.description)
    }
    if !json { writeStandardError("plan: \(plan.reason)\n") }
    let started = ContinuousClock.now
    var all = Search.run(
      trials: trials, on: data, plan: plan, pinning: schedule.pin, stop: Interruption.stop,
      only: ranks.isDistributed ? { $0 % ranks.size == ranks.rank } : nil
    ) { trial, fold in
      guard !json else { return }
      writeStandardError("trial \(trial + 1) \(CrossValidationReportFormat.foldLine(fold))\n")
    }
    if ranks.isDistributed {
      // Every rank learns every fold, so that all agree on the best setting and refit it together.
      guard let merged = Search.merging(all, exchanged: ranks.gather(Search.exchanged(all), everywhere: true)) else {
        throw CommandFailure("search: a rank sent a fold result that does not read back")
      }
      all = merged
    }
    let wall = (ContinuousClock.now - started).seconds
    // Stopped by a signal: the trials that finished are ranked and written all the same.
    let interrupted = Interruption.stop.isRequested
    let results = interrupted ? all.filter { !$0.interrupted } : all
    let classifies = base.loss.reportsAccuracy(outputs: base.spec.outputWidth, targetWidth: data.targetWidth)
    let board = Leaderboard(
      results: results, byAccuracy: (metric ?? (classifies ? "val_accuracy" : "val_loss")) == "val_accuracy")
    try files.write(csv: board.csv, json: board.json(plan: plan, wall: wall))
    var summary = board.json(plan: plan, wall: wall)
    if refit, !interrupted, let best = board.ranked.first(where: { $0.failure == nil }) {
      let refitted = try refitBest(best, loaded: loaded)
      if case .object(var members) = summary {
        members.append(("refit", refitted))
        summary = .object(members)
      }
    }
    if json {
      writeStandardOutput(summary.serialized() + "\n")
    } else {
      writeStandardOutput(board.table)
      writeStandardOutput(
        "\(plan.parallelFolds) fold(s) side by side, \(plan.threadsPerFold) thread(s) each; wall \(Report.fixed(wall, 2)) s\n"
      )
      if let refit = summary["refit"] {
        var line = "refit of the best setting (\(refit["setting"]?.stringValue ?? "")) on all the training data"
        if let loss = refit["test_loss"]?.doubleValue {
          line += ": test loss \(Report.fixed(loss, 4))"
          if let accuracy = refit["test_accuracy"]?.doubleValue { line += ", accuracy \(Report.fixed(accuracy, 4))" }
        } else {
          line += " (no test data to score it on: give --test-data, or use a named set)"
        }
        if let saved = refit["saved"]?.stringValue { line += "; saved to \(saved)" }
        writeStandardOutput(line + "\n")
      }
    }
    if interrupted {
      Interruption.exitAfterPartialRun(
        finished: results.count, of: trials.count, parts: "trial(s)", output: files.description,
        note: refit ? "; no refit" : "")
    }
  }

  /// The options of one setting: the command's own, with the setting applied.
  func setting(_ setting: [(name: String, value: String)]) throws(SessionError) -> SessionOptions {
    try given.applying(setting)
  }

  /// The trial of one setting (the `number`th of `count`), or its failure to set up.
  func trial(_ setting: [(name: String, value: String)], number: Int, of count: Int, loaded: DatasetLoader.Loaded)
    -> Search.Trial
  {
    do {
      var (cv, _) = try CrossValidation.prepare(
        try self.setting(setting), folds: folds, stratified: schedule.stratified, data: loaded)
      cv.holdoutFraction = holdout
      cv.tensorBoard = tensorBoard.tensorboard.map { folder in
        (SearchCommand.runFolder(folder, trial: number, of: count, setting: setting), tensorBoard.tensorboardEvery)
      }
      return Search.Trial(values: setting, validation: cv)
    } catch {
      return Search.Trial(values: setting, validation: nil, failure: error.description)
    }
  }

  /// Trial `number`'s TensorBoard folder in `folder`: `trial-03_lr=0.1_hidden=8`
  /// (numbers padded so that runs sort in order; a `/` in a value becomes `_`).
  static func runFolder(_ folder: String, trial number: Int, of count: Int, setting: [(name: String, value: String)])
    -> String
  {
    let label = setting.map { "_\($0.name)=\($0.value)" }.joined().map { $0 == "/" ? "_" : $0 }
    return TensorBoardLog.path(TensorBoardLog.runName("trial-", number, of: count) + String(label), in: folder)
  }

  /// Trains the best setting on all the training data and scores the test set.
  func refitBest(_ best: Search.TrialResult, loaded: DatasetLoader.Loaded) throws(CommandFailure) -> JSONValue {
    let setup: TrainingSession
    do {
      setup = try TrainingSession(
        try setting(best.values), threads: schedule.threadsPerFold ?? Topology.shared.allowedCores, data: loaded)
    } catch {
      throw CommandFailure(error.description)
    }
    // Under mpirun every rank trains its part of each batch.
    let trainer = Trainer(
      model: setup.model, training: setup.training, options: setup.options, processes: Ranks.group)
    do { try trainer.train(control: RunControl(stop: Interruption.stop)) } catch .interrupted {
      writeStandardError("backprop: interrupted by \(Interruption.signalName) during --refit; nothing was saved\n")
      terminate(Interruption.exitStatus)
    } catch {
      throw CommandFailure("--refit: \(error)")
    }
    let test = setup.test.map { setup.model.evaluate($0, threads: setup.options.threads) }
    if let save, Ranks.group.isLeader {
      try saveFinishedModel(
        setup.model, to: save, option: "--save",
        metadata: ["backprop.version": BackpropVersion.string, "backprop.search": best.label])
    }
    return .object([
      ("trial", .integer(best.trial)), ("setting", .string(best.label)),
      ("test_loss", test.map { .number($0.loss) } ?? .null),
      ("test_accuracy", test?.accuracy.map { .number($0) } ?? .null),
      ("saved", save.map { .string($0) } ?? .null),
    ])
  }
}
