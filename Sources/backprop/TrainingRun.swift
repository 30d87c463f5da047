import Backprop

/// What a run trains: options with their defaults resolved, the data loaded
/// and checked against the model, and the model built. Shared by `train` and
/// `scale`.
struct TrainingSetup {
  var options: TrainingOptions
  let training: Dataset
  let evaluation: Dataset?
  let evaluationName: String
  let test: Dataset?
  let model: Model
  /// The arguments it was made from.
  let arguments: TrainingArguments

  /// The defaults a data set brings when an option is not given.
  struct Recipe {
    var epochs = 10
    var batchSize = 32
    var learningRate = 0.01
    var momentum = 0.0

    static func forData(_ name: String) -> Recipe {
      switch name.lowercased() {
      case "xor": Recipe(epochs: 500, batchSize: 4, learningRate: 0.5, momentum: 0.9)
      case "fashion-mnist", "fashion_mnist", "fashionmnist":
        Recipe(epochs: 10, batchSize: 128, learningRate: 0.05, momentum: 0.9)
      default: Recipe()
      }
    }
  }

  /// Sets up a run; `loaded` is the data when the caller has already read it
  /// (a search sets up many runs on the same data).
  init(arguments command: TrainingArguments, threads: Int, loaded preloaded: DatasetLoader.Loaded? = nil)
    throws(CommandFailure)
  {

    let recipe = Recipe.forData(command.source.data ?? "")
    let kind = command.optimizer ?? .sgd
    var settings = OptimizerSettings(
      kind: kind, learningRate: command.lr ?? (kind == .sgd ? recipe.learningRate : 0.001))
    if kind == .sgd {
      settings.momentum = command.momentum ?? recipe.momentum
      settings.nesterov = command.nesterov
      if settings.nesterov && settings.momentum == 0 {
        throw CommandFailure("--nesterov: needs --momentum greater than 0")
      }
    } else if command.momentum != nil || command.nesterov {
      throw CommandFailure("--momentum/--nesterov: apply to --optimizer sgd only (Adam uses --beta1)")
    }
    if let decay = command.weightDecay { settings.weightDecay = decay }
    settings.beta1 = command.beta1
    settings.beta2 = command.beta2
    settings.epsilon = command.eps

    var options = TrainingOptions()
    options.epochs = command.epochs ?? recipe.epochs
    options.maximumSteps = command.steps
    options.batchSize = command.batchSize ?? recipe.batchSize
    options.seed = command.seed
    options.shuffle = !command.noShuffle
    options.optimizer = settings
    options.schedule = LearningRateSchedule(parsing: command.schedule, warmupSteps: command.warmupSteps)!
    options.clipGradientNorm = command.clipGradNorm
    options.threads = threads
    options.minimumWorkPerThread = command.minWorkPerThread
    options.onNonFinite = command.onNaN
    options.earlyStoppingPatience = command.earlyStopping

    // Model: from the spec, or from the --init file's metadata.
    let spec: ModelSpec
    var initial: Model? = nil
    if let text = command.model {
      do {
        spec =
          text.lowercased().hasSuffix(".json") ? try ModelSpec(contentsOfJSONFile: text) : try ModelSpec(parsing: text)
      } catch {
        throw CommandFailure("--model: \(error.description)")
      }
    } else if let path = command.initialWeights {
      initial = try reporting { try Model.load(from: path) }
      spec = initial!.spec
    } else {
      throw CommandFailure(
        "--model: missing (give a spec such as 784-256-relu-128-relu-10, or --init weights.safetensors)")
    }
    let loss = command.loss ?? initial?.loss ?? .defaultLoss(outputs: spec.outputWidth)
    // Before anything of the model is allocated: refused with the estimate
    // when it cannot fit (the data is checked as it is read).
    do {
      try MemoryBudget.check(
        Trainer.estimatedBytes(spec: spec, options: options),
        for: "model \(spec) (batch \(options.batchSize), \(threads) thread(s))")
    } catch {
      throw CommandFailure("--model: \(error)")
    }
    let model = Model(spec: spec, loss: loss, initializer: command.initializer, seed: command.seed)
    if let path = command.initialWeights {
      try reporting { try model.loadParameters(from: path) }
    }

    // Data: training, then validation and test splits, all checked against the model.
    let loaded: DatasetLoader.Loaded
    if let preloaded { loaded = preloaded } else { loaded = try command.source.load() }
    var training = loaded.training
    var validation: Dataset? = nil
    if let fraction = command.validationSplit {
      let parts = try reporting { try training.splitValidation(fraction: fraction, seed: command.seed) }
      training = parts.training
      validation = parts.validation
    }
    var test = loaded.test
    if let path = command.testData {
      guard !loaded.isNamed else {
        throw CommandFailure("--test-data: the named set '\(command.source.data ?? "")' brings its own test split")
      }
      test = try reporting {
        try DatasetLoader.file(
          path, labels: command.testLabels, labelColumn: command.source.labelColumn, loop: .allCores)
      }
    }
    if command.scale != .none {
      let scaler = FeatureScaler(fitting: command.scale, to: training)
      model.featureScaler = scaler
      scaler.apply(to: &training)
      if validation != nil { scaler.apply(to: &validation!) }
      if test != nil { scaler.apply(to: &test!) }
    }
    for data in [training, validation, test].compactMap({ $0 }) {
      try reporting { try data.validate(inputWidth: spec.inputWidth, outputs: spec.outputWidth, loss: loss) }
    }

    // --steps alone sets the run's length: as many epochs as those steps need.
    if let steps = command.steps, command.epochs == nil {
      let perEpoch = options.stepsPerEpoch(samples: training.count)
      options.epochs = steps / perEpoch + (steps % perEpoch == 0 ? 0 : 1)
      guard options.epochs <= TrainingArguments.maximumEpochs else {
        throw CommandFailure(
          "--steps \(steps) takes \(options.epochs) epochs of \(perEpoch) steps, more than the \(TrainingArguments.maximumEpochs) a run may have"
        )
      }
    }
    self.options = options
    self.training = training
    self.evaluation = validation ?? test
    self.evaluationName = validation != nil ? "val" : "test"
    self.test = test
    self.model = model
    self.arguments = command
  }
}

/// One `backprop train` invocation: trains what the setup describes (from
/// a checkpoint when resuming), checkpointing as asked, then reports, saves
/// and logs the result.
struct TrainingRun {
  let command: TrainCommand
  let setup: TrainingSetup
  let resumed: ResumedRun?
  let checkpointPath: String?

  /// Trains and reports; `started` is when the command began, so that
  /// `wall_seconds` covers loading the data too.
  func execute(started: ContinuousClock.Instant) throws(CommandFailure) {
    let (model, options, training, evaluation, evaluationName, test) = (
      setup.model, setup.options, setup.training, setup.evaluation, setup.evaluationName, setup.test
    )
    let trainer = Trainer(
      model: model, training: training, options: options, pinning: command.pin, profiling: command.profile)
    let data = resumed != nil || checkpointPath != nil ? DataIdentity(training) : nil
    if let resumed, let data {
      let conflicts = resumed.checkpoint.conflicts(spec: model.spec, loss: model.loss, options: options, data: data)
      if !conflicts.isEmpty {
        throw CommandFailure(
          "--resume \(resumed.path): refused, this run differs from the checkpoint's in "
            + conflicts.joined(separator: "; "))
      }
      if let problem = resumed.checkpoint.positionProblem(options: options, samples: training.count) {
        throw CommandFailure("--resume \(resumed.path): damaged checkpoint: \(problem)")
      }
      trainer.restore(from: resumed.checkpoint)
      if trainer.workerCount != resumed.checkpoint.workers {
        writeStandardError(
          "backprop: warning: resuming on \(trainer.workerCount) worker(s) where the checkpoint ran \(resumed.checkpoint.workers): "
            + "the result will differ in the last bits from an uninterrupted run\n")
      }
    }
    for warning in Threads.warnings(threads: options.threads, batchSize: min(options.batchSize, training.count)) {
      writeStandardError("backprop: warning: \(warning)\n")
    }
    let every = command.checkpointEvery ?? resumed?.checkpointEvery
    var files: CheckpointFiles? = nil
    if let path = checkpointPath, let data {
      var metadata = [
        CheckpointFiles.commandKey: JSONValue.array(
          setup.arguments.commandLine(spec: model.spec, loss: model.loss).map { .string($0) }
        ).serialized()
      ]
      if let every { metadata[CheckpointFiles.intervalKey] = String(every) }
      // Until this run writes one, the checkpoint it resumed from is the last good one.
      let resumedHere = resumed.flatMap { $0.path == path ? (path, $0.checkpoint.position.steps) : nil }
      files = CheckpointFiles(
        path: path, keep: command.keepCheckpoints, data: data, metadata: metadata, last: resumedHere)
    }
    let control = RunControl(
      checkpointEverySteps: every,
      checkpoint: files.map { files in { try files.write(trainer: trainer, position: $0, history: $1) } },
      stop: Interruption.stop)
    if Interruption.stop.isRequested {
      writeStandardError("backprop: interrupted by \(Interruption.signalName) before training began\n")
      terminate(Interruption.exitStatus)
    }
    let clock = ContinuousClock()
    let progress = ProgressLine()
    var metricsLines = (resumed?.checkpoint.history ?? []).map {
      Report.metricsJSON($0, evaluationName: evaluationName).serialized()
    }
    // Read once: an option's property wrapper costs a generic-metadata
    // look-up per read, which showed in a tiny model's run of one step per epoch.
    let quiet = command.quiet
    let metricsPath = command.metrics
    var metricsFailure: AtomicFile.WriteError? = nil
    let history: [EpochMetrics]
    do {
      history = try trainer.train(
        evaluation: evaluation,
        control: control,
        // None when there is no line to draw: a progress report costs a clock read per step.
        progress: progress.enabled ? { progress.update($0) } : nil,
        epochEnd: { metrics in
          progress.clear()
          // Long runs print about twenty evenly spaced epochs, and the last.
          let every = max(1, options.epochs / 20)
          if !quiet && (metrics.epoch % every == 0 || metrics.epoch == options.epochs) {
            writeStandardError(Report.epochLine(metrics, evaluationName: evaluationName) + "\n")
          }
          if metrics.skippedBatches > 0 {
            writeStandardError(
              "backprop: warning: epoch \(metrics.epoch) skipped \(metrics.skippedBatches) batch(es) "
                + "with a non-finite loss or gradient (--on-nan skip-batch)\n")
          }
          if let path = metricsPath {
            metricsLines.append(Report.metricsJSON(metrics, evaluationName: evaluationName).serialized())
            // Rewritten whole each epoch, atomically, so the file is never
            // torn; a failed write fails the command once the model is saved.
            do throws(AtomicFile.WriteError) {
              try AtomicFile.write(metricsLines.joined(separator: "\n") + "\n", to: path)
              metricsFailure = nil
            } catch {
              if metricsFailure == nil { writeStandardError("backprop: warning: --metrics \(error)\n") }
              metricsFailure = error
            }
          }
        })
    } catch .interrupted(let epoch, let steps) {
      progress.clear()
      var message = "backprop: interrupted by \(Interruption.signalName) in epoch \(epoch) after \(steps) steps"
      if let failure = files?.failure {
        message += "; the checkpoint could not be written (\(failure))"
      }
      if let last = files?.last {
        let path = FilePath.printable(last.path)
        message += "; checkpoint \(path) (step \(last.steps)); resume with: backprop train --resume \(path)"
      } else if files != nil {
        message += "; nothing was saved"
      } else {
        message += "; nothing was saved (give --checkpoint PATH to be able to resume)"
      }
      writeStandardError(message + "\n")
      terminate(Interruption.exitStatus)
    } catch {
      progress.clear()
      var message = error.description
      if let last = files?.last {
        message += "; the last good checkpoint, \(FilePath.printable(last.path)) (step \(last.steps)), is kept"
      }
      throw CommandFailure(message)
    }
    let wall = (clock.now - started).seconds
    // Without a validation split the per-epoch evaluation is the test set's.
    let testResult = test.map { data in
      evaluationName == "test"
        ? history.last?.evaluation ?? model.evaluate(data, threads: options.threads)
        : model.evaluate(data, threads: options.threads)
    }
    if let path = command.save {
      try saveFinishedModel(
        model, to: path, option: "--save",
        metadata: ["backprop.version": BackpropVersion.string, "backprop.seed": String(options.seed)])
    }
    var summary = Report.summary(
      history: history, options: options, test: testResult,
      validation: evaluationName == "val" ? history.last?.evaluation : nil,
      wallSeconds: wall, model: model)
    if let epoch = trainer.bestEpoch, case .object(var members) = summary {
      // Early stopping: the saved weights and test scores are the best epoch's.
      members.append(("best_epoch", .integer(epoch)))
      summary = .object(members)
      if !command.quiet {
        writeStandardError("early stopping: the weights of epoch \(epoch), the lowest val_loss, are kept\n")
      }
    }
    if command.profile {
      writeStandardError(Threads.profileText(trainer))
      if let files, files.written > 0 {
        writeStandardError(
          "profile: \(files.written) checkpoint(s) written, \(Report.fixed(files.seconds / Double(files.written), 3)) s each\n"
        )
      }
      if case .object(var members) = summary {
        members.append(("profile", Threads.profileJSON(trainer)))
        summary = .object(members)
      }
    }
    if command.json {
      writeStandardOutput(summary.serialized() + "\n")
    } else {
      writeStandardOutput(Report.summaryLine(summary) + "\n")
    }
    if let metricsFailure { throw CommandFailure("--metrics \(metricsFailure)") }
  }
}
