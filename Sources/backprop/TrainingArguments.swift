import ArgumentParser
import Backprop

/// The options that say what to train and how: data, model, optimizer,
/// schedule, batches and seed. Shared by `train`, `scale`, `cv` and `search`
/// (and laid over a checkpoint's saved ones on `train --resume`).
struct TrainingArguments: ParsableArguments {
  @OptionGroup var source: DataOptions

  @Option(help: "Test features (a file); the named sets bring their own.")
  var testData: String?
  @Option(help: "Test labels for IDX or .npy test features.")
  var testLabels: String?
  @Option(
    parsing: .unconditional, help: "Hold out this fraction of the training data (seeded) and report it each epoch.")
  var validationSplit: Double?
  @Option(help: "Feature scaling fitted on the training split: none, unit ([0,1]) or standard.")
  var scale: FeatureScaling = .none

  @Option(help: "The model spec, such as 784-256-relu-128-relu-10, or a .json file (taken from --init when omitted).")
  var model: String?
  @Option(
    help:
      "The loss: cross-entropy, binary-cross-entropy or mse (default: cross-entropy for several outputs, binary-cross-entropy for one)."
  )
  var loss: Loss?
  @Option(help: "Weight initialisation: pytorch, glorot-uniform, glorot-normal, he-uniform, he-normal.")
  var initializer: Initializer = .pytorch
  @Option(name: .customLong("init"), help: "Start from the weights in this .safetensors file.")
  var initialWeights: String?

  @Option(help: "The optimizer: sgd, adam or adamw.")
  var optimizer: OptimizerSettings.Kind?
  @Option(parsing: .unconditional, help: "The learning rate (default 0.01 for SGD, 0.001 for Adam and AdamW).")
  var lr: Double?
  @Option(parsing: .unconditional, help: "SGD momentum.")
  var momentum: Double?
  @Flag(help: "Use Nesterov momentum (SGD).")
  var nesterov = false
  @Option(
    parsing: .unconditional, help: "Weight decay (L2 for SGD and Adam, decoupled for AdamW; AdamW's default is 0.01).")
  var weightDecay: Double?
  @Option(parsing: .unconditional, help: "Adam's beta1.")
  var beta1: Double = 0.9
  @Option(parsing: .unconditional, help: "Adam's beta2.")
  var beta2: Double = 0.999
  @Option(parsing: .unconditional, help: "Adam's epsilon.")
  var eps: Double = 1e-8
  @Option(help: "Learning-rate schedule: constant, step:EPOCHS:GAMMA (as step:5:0.5) or cosine[:MIN_LR].")
  var schedule: String = "constant"
  @Option(parsing: .unconditional, help: "Linear learning-rate warm-up over this many steps.")
  var warmupSteps: Int = 0
  @Option(parsing: .unconditional, help: "Clip the mean gradient to this global L2 norm.")
  var clipGradNorm: Double?

  @Option(parsing: .unconditional, help: "Passes over the training data.")
  var epochs: Int?
  @Option(parsing: .unconditional, help: "Stop after this many optimizer steps.")
  var steps: Int?
  @Option(parsing: .unconditional, help: "Samples per optimizer step.")
  var batchSize: Int?
  @Option(parsing: .unconditional, help: "The seed of initialisation, shuffling, dropout and the validation split.")
  var seed: UInt64 = 0
  @Flag(help: "Keep the training samples in file order.")
  var noShuffle = false
  @Option(
    parsing: .unconditional,
    help:
      "Use fewer threads when a step has less than this many training FLOPs (6·params·batch) per thread; 0 uses every thread."
  )
  var minWorkPerThread: Double = TrainingOptions().minimumWorkPerThread
  @Option(
    name: .customLong("on-nan"),
    help:
      "What a batch with a non-finite loss or gradient does: stop (the run, keeping the last checkpoint) or skip-batch (its update is dropped)."
  )
  var onNaN: NonFinitePolicy = .stop
  @Option(
    parsing: .unconditional,
    help:
      "Stop when the validation loss has not improved for this many epochs, ending with the best epoch's weights (train: with --validation-split; cv, search: on each fold)."
  )
  var earlyStopping: Int?

  /// The options as a command line that parses back to the same training,
  /// as kept in a checkpoint: every option that differs from its default,
  /// paths made absolute, and the model and loss as given by `spec` and
  /// `loss` (so neither a JSON spec file nor `--init` is needed again; the
  /// weights come from the checkpoint).
  func commandLine(spec: ModelSpec? = nil, loss: Loss? = nil) -> [String] {
    var arguments = source.commandLine
    func add(_ name: String, _ value: (some CustomStringConvertible)?) {
      if let value { arguments += ["--\(name)", value.description] }
    }
    add("test-data", testData.map(absolutePath))
    add("test-labels", testLabels.map(absolutePath))
    add("validation-split", validationSplit)
    if scale != .none { add("scale", scale.rawValue) }
    add("model", spec?.description ?? model.map { $0.lowercased().hasSuffix(".json") ? absolutePath($0) : $0 })
    add("loss", (loss ?? self.loss)?.rawValue)
    if spec == nil {
      if initializer != .pytorch { add("initializer", initializer.rawValue) }
      add("init", initialWeights.map(absolutePath))
    }
    add("optimizer", optimizer?.rawValue)
    add("lr", lr)
    add("momentum", momentum)
    if nesterov { arguments.append("--nesterov") }
    add("weight-decay", weightDecay)
    if beta1 != 0.9 { add("beta1", beta1) }
    if beta2 != 0.999 { add("beta2", beta2) }
    if eps != 1e-8 { add("eps", eps) }
    if schedule != "constant" { add("schedule", schedule) }
    if warmupSteps != 0 { add("warmup-steps", warmupSteps) }
    add("clip-grad-norm", clipGradNorm)
    add("epochs", epochs)
    add("steps", steps)
    add("batch-size", batchSize)
    if seed != 0 { add("seed", seed) }
    if noShuffle { arguments.append("--no-shuffle") }
    if minWorkPerThread != TrainingOptions().minimumWorkPerThread { add("min-work-per-thread", minWorkPerThread) }
    if onNaN != .stop { add("on-nan", onNaN.rawValue) }
    add("early-stopping", earlyStopping)
    return arguments
  }

  /// The files the options name, for the check that no output is one of them.
  var inputs: [OutputFiles.Named?] {
    var files = source.inputs
    files += [named("--test-data", testData), named("--test-labels", testLabels), named("--init", initialWeights)]
    if let model, model.lowercased().hasSuffix(".json") { files.append(named("--model", model)) }
    return files
  }

  /// The most epochs a run may have (each keeps about 100 bytes of metrics).
  static let maximumEpochs = 100_000_000

  /// The names of the options that take no value.
  static let flags: Set<String> = ["--nesterov", "--no-shuffle"]

  /// `base` with every option of `top` replacing the same option in it (or
  /// added). Both are command lines as ``TrainingArguments/commandLine(spec:loss:)``
  /// writes them: `--name value` pairs and the bare flags (a resumed run's
  /// options over the saved ones, a search setting's over the command's).
  static func overlay(_ top: [String], on base: [String]) -> [String] {
    func pairs(_ arguments: [String]) -> [(String, String?)] {
      var result: [(String, String?)] = []
      var i = 0
      while i < arguments.count {
        let name = arguments[i]
        if TrainingArguments.flags.contains(name) || i + 1 == arguments.count {
          result.append((name, nil))
          i += 1
        } else {
          result.append((name, arguments[i + 1]))
          i += 2
        }
      }
      return result
    }
    let given = pairs(top)
    let givenNames = Set(given.map(\.0))
    let kept = pairs(base).filter { !givenNames.contains($0.0) }
    return (kept + given).flatMap { name, value in [name] + (value.map { [$0] } ?? []) }
  }

  func validate() throws {
    if let epochs, epochs < 1 { throw ValidationError("--epochs must be at least 1, got \(epochs)") }
    // Each epoch keeps its metrics for the run: a bound keeps that history in memory.
    if let epochs, epochs > TrainingArguments.maximumEpochs {
      throw ValidationError("--epochs \(epochs) is more than the \(TrainingArguments.maximumEpochs) a run may have")
    }
    if let steps, steps < 1 { throw ValidationError("--steps must be at least 1, got \(steps)") }
    if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, got \(lr)") }
    if let momentum, !(momentum >= 0 && momentum < 1) {
      throw ValidationError("--momentum must be in [0, 1), got \(momentum)")
    }
    if let weightDecay, !(weightDecay >= 0 && weightDecay.isFinite) {
      throw ValidationError("--weight-decay must be a non-negative number, got \(weightDecay)")
    }
    if !(beta1 >= 0 && beta1 < 1) { throw ValidationError("--beta1 must be in [0, 1), got \(beta1)") }
    if !(beta2 >= 0 && beta2 < 1) { throw ValidationError("--beta2 must be in [0, 1), got \(beta2)") }
    if !(eps > 0 && eps.isFinite) { throw ValidationError("--eps must be positive, got \(eps)") }
    if LearningRateSchedule(parsing: schedule) == nil {
      throw ValidationError("--schedule '\(schedule)' is not constant, step:EPOCHS:GAMMA or cosine[:MIN_LR]")
    }
    if warmupSteps < 0 { throw ValidationError("--warmup-steps must not be negative, got \(warmupSteps)") }
    if !(minWorkPerThread >= 0 && minWorkPerThread.isFinite) {
      throw ValidationError("--min-work-per-thread must be a non-negative number, got \(minWorkPerThread)")
    }
    if let clipGradNorm, !(clipGradNorm > 0 && clipGradNorm.isFinite) {
      throw ValidationError("--clip-grad-norm must be positive, got \(clipGradNorm)")
    }
    if let validationSplit, !(validationSplit > 0 && validationSplit < 1) {
      throw ValidationError("--validation-split must be in (0, 1), got \(validationSplit)")
    }
    if testLabels != nil && testData == nil { throw ValidationError("--test-labels needs --test-data") }
    if let earlyStopping, earlyStopping < 1 {
      throw ValidationError("--early-stopping must be at least 1 epoch, got \(earlyStopping)")
    }
  }
}
