import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One `backprop train` invocation: trains what the setup describes (from
/// a checkpoint when resuming), checkpointing as asked, then reports, saves
/// and logs the result.
struct TrainingRun {
  let command: TrainCommand
  let session: TrainingSession
  let resumed: ResumedRun?
  let checkpointPath: String?

  /// Trains and reports; `started` is when the command began, so that
  /// `wall_seconds` covers loading the data too.
  func execute(started: ContinuousClock.Instant) throws(CommandFailure) {
    let (model, options, training, evaluation, evaluationName, test) = (
      session.model, session.options, session.training, session.evaluation, session.evaluationName, session.test
    )
    let trainer = Trainer(
      model: model, training: training, options: options, pinning: command.pin, profiling: command.profile,
      processes: Ranks.group)
    if let resumed {
      let warning: String?
      do { warning = try session.resume(trainer, from: resumed.checkpoint, path: resumed.path) } catch {
        throw CommandFailure(error.description)
      }
      if let warning { writeStandardError("backprop: warning: \(warning)\n") }
    }
    session.report(
      extraWarnings: Threads.warnings(threads: options.threads, batchSize: min(options.batchSize, training.count)))
    // The model's summary, for a person watching (not in logs or pipes).
    if !command.quiet && isatty(2) == 1 {
      var shown = options
      shown.threads = trainer.workerCount
      writeStandardError(ModelSummary(spec: model.spec, options: shown).text)
    }
    let every = command.checkpointEvery ?? resumed?.checkpointEvery
    var files: CheckpointRotation? = nil
    if let path = checkpointPath {
      // The strategy the trainer used, not `auto`: a resumed run keeps it.
      var saved = session.savedSettings
      saved.gradients = GradientChoice(rawValue: trainer.strategy.rawValue)
      var metadata = [CheckpointRotation.settingsKey: saved.json.serialized()]
      if let every { metadata[CheckpointRotation.intervalKey] = String(every) }
      // Until this run writes one, the checkpoint it resumed from is the last good one.
      let resumedHere = resumed.flatMap { $0.path == path ? (path, $0.checkpoint.position.steps) : nil }
      files = CheckpointRotation(
        path: path, keep: command.keepCheckpoints, data: DataIdentity(training), metadata: metadata, last: resumedHere)
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
    let progress = ProgressLine(quiet: command.quiet)
    let board = try makeTensorBoardRecorder(evaluationName: evaluationName)
    // Long runs print about twenty evenly spaced epochs, and the last; said once.
    let lineEvery = max(1, options.epochs / 20)
    if lineEvery > 1 && !command.quiet {
      writeStandardError(
        "showing every \(lineEvery)th epoch's line and the last\(command.metrics == nil ? " (--metrics FILE records every epoch)" : "")\n"
      )
    }
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
        // None when nothing takes it: a progress report costs a clock read per step.
        progress: progress.enabled || board?.every != nil
          ? { step in
            if progress.enabled { progress.update(step) }
            board?.stepEnded(step)
          } : nil,
        epochEnd: { metrics in
          progress.clear()
          board?.epochEnded(metrics)
          if !quiet && (metrics.epoch % lineEvery == 0 || metrics.epoch == options.epochs) {
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
      _ = board?.close()
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
      // Every rank stopped after the same step: they end together, none aborts.
      Ranks.group.finish()
      Interruption.exitAfterAgreedStop()
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
    // The summary describes the weights that were kept: with early stopping
    // the best epoch's, scored again on the validation split.
    let validation =
      trainer.bestEpoch != nil
      ? session.validation.map { model.evaluate($0, threads: options.threads) }
      : evaluationName == "val" ? history.last?.evaluation : nil
    var summary = Report.summary(
      history: history, options: options, samples: training.count, test: testResult, validation: validation,
      wallSeconds: wall, model: model, strategy: trainer.strategy, keptEpoch: trainer.bestEpoch)
    if let epoch = trainer.bestEpoch, !command.quiet {
      writeStandardError("early stopping: the weights of epoch \(epoch), the lowest val_loss, are kept\n")
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
    if let failure = board?.close() { throw CommandFailure(failure.description) }
  }
}

extension TrainingRun {
  /// The TensorBoard recorder `--tensorboard` asks for: a new event file in
  /// the folder, starting where a resumed run resumes.
  func makeTensorBoardRecorder(evaluationName: String) throws(CommandFailure) -> TensorBoardRecorder? {
    guard let folder = command.tensorBoard.tensorboard else { return nil }
    do {
      return try TensorBoardRecorder(
        folder: folder, every: command.tensorBoard.tensorboardEvery, evaluationName: evaluationName,
        resumingAt: resumed.map { $0.checkpoint.position.steps + 1 })
    } catch { throw CommandFailure(error.description) }
  }
}

extension TrainingSession {
  /// Prints the session's notes and warnings (and `extraWarnings`) to
  /// standard error, one line each.
  func report(extraWarnings: [String] = []) {
    for note in notes { writeStandardError("backprop: note: \(note)\n") }
    for warning in warnings + extraWarnings { writeStandardError("backprop: warning: \(warning)\n") }
  }
}
