import ArgumentParser
import Backprop

/// The options that say what to train and how: data, model, optimizer,
/// schedule, batches and seed. Shared by `train`, `scale`, `cv` and `search`
/// (and laid over a checkpoint's saved ones on `train --resume`); the
/// groups below add what only some of them take, so that each command's
/// help lists only the options it uses.
struct TrainingArguments: ParsableArguments {
  @OptionGroup var source: DataOptions

  @Option(
    help:
      "Feature scaling fitted on the training split: none, unit ([0,1]) or standard (default: none, or the scaling saved with --init weights)."
  )
  var scale: FeatureScaling?

  @Option(help: "The model spec, such as 784-256-relu-128-relu-10, or a .json file (taken from --init when omitted).")
  var model: String?
  @Option(
    help:
      "The loss: cross-entropy, binary-cross-entropy or mse (default: cross-entropy for several outputs, binary-cross-entropy for one)."
  )
  var loss: Loss?
  @Option(help: "Weight initialisation: pytorch, glorot-uniform, glorot-normal, he-uniform, he-normal.")
  var initializer: Initializer = .pytorch

  @Option(help: "The optimizer: sgd, adam or adamw (default: sgd).")
  var optimizer: OptimizerSettings.Kind?
  @Option(
    parsing: .unconditional,
    help: "The learning rate (default: the data's recipe for SGD, 0.01 for most files; 0.001 for Adam and AdamW).")
  var lr: Double?
  @Option(parsing: .unconditional, help: "SGD momentum (default: the data's recipe, 0 for most files).")
  var momentum: Double?
  @Flag(help: "Use Nesterov momentum (SGD).")
  var nesterov = false
  @Option(
    parsing: .unconditional,
    help: "Weight decay (L2 for SGD and Adam, decoupled for AdamW; default: 0, and 0.01 for AdamW).")
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
  @Option(parsing: .unconditional, help: "Clip the mean gradient to this global L2 norm (default: no clipping).")
  var clipGradNorm: Double?
  @Option(
    help:
      "Augment training images, drawn afresh per sample and epoch: crop<P> (pad P zeros, crop back at a random place), flip (mirror half), or crop4,flip (default: none)."
  )
  var augment: Augmentation?

  @Option(
    parsing: .unconditional,
    help: "Samples per optimizer step (default: the data's recipe, 32 for most files, 128 for 8-bit images).")
  var batchSize: Int?
  @Option(parsing: .unconditional, help: "The seed of initialisation, shuffling, dropout and the validation split.")
  var seed: UInt64 = 0
  @Flag(help: "Keep the training samples in file order.")
  var noShuffle = false
  @Option(
    parsing: .unconditional,
    help:
      "Use fewer threads when a step has less than this many training FLOPs (counted by the layers) per thread; 0 uses every thread."
  )
  var minWorkPerThread: Int = Int(TrainingOptions().minimumWorkPerThread)
  @Option(
    name: .customLong("on-nan"),
    help:
      "What a batch with a non-finite loss or gradient does: stop (the run, keeping the last checkpoint) or skip-batch (its update is dropped)."
  )
  var onNaN: NonFinitePolicy = .stop

  /// The options as the library's typed settings: every option given, and
  /// those with defaults only where they differ from the default (so that
  /// laid over saved settings, only what was asked for replaces them).
  var session: SessionOptions {
    var settings = source.settings
    settings.scaling = scale
    settings.model = model
    settings.loss = loss
    if initializer != .pytorch { settings.initializer = initializer }
    settings.optimizer = optimizer
    settings.learningRate = lr
    settings.momentum = momentum
    if nesterov { settings.nesterov = true }
    settings.weightDecay = weightDecay
    if beta1 != 0.9 { settings.beta1 = beta1 }
    if beta2 != 0.999 { settings.beta2 = beta2 }
    if eps != 1e-8 { settings.epsilon = eps }
    if schedule != "constant" { settings.schedule = schedule }
    if warmupSteps != 0 { settings.warmupSteps = warmupSteps }
    settings.clipGradientNorm = clipGradNorm
    settings.augmentation = augment
    settings.batchSize = batchSize
    if seed != 0 { settings.seed = seed }
    if noShuffle { settings.shuffle = false }
    if Double(minWorkPerThread) != TrainingOptions().minimumWorkPerThread {
      settings.minimumWorkPerThread = Double(minWorkPerThread)
    }
    if onNaN != .stop { settings.onNonFinite = onNaN }
    return settings
  }

  /// These options with those of `groups` laid over them.
  func session(adding groups: [SessionOptions]) -> SessionOptions {
    groups.reduce(session) { $1.overlaid(on: $0) }
  }

  /// The files `settings` name (a resumed run's saved ones included).
  static func inputs(of settings: SessionOptions) -> [OutputFiles.Named?] {
    var files = [named("--labels", settings.labels)]
    if let data = settings.data {
      if !DatasetLoader.isNamedSet(data) {
        files.append(named("--data", data))
      } else if data.lowercased() != "xor" {
        files += DatasetLoader.fashionMNISTFiles(directory: settings.fashionMNISTDirectory).map { named("--data", $0) }
      }
    }
    files += [
      named("--test-data", settings.testData), named("--test-labels", settings.testLabels),
      named("--init", settings.initialWeights),
    ]
    if let model = settings.model, model.lowercased().hasSuffix(".json") { files.append(named("--model", model)) }
    return files
  }

  func validate() throws {
    do { try session.validate() } catch { throw ValidationError(error.description) }
    if minWorkPerThread < 0 {
      throw ValidationError("--min-work-per-thread must be a non-negative number, got \(minWorkPerThread)")
    }
  }
}

/// How long a run trains: `train`, `cv` and `search`.
struct RunLengthOptions: ParsableArguments {
  @Option(
    parsing: .unconditional,
    help: "Passes over the training data (default: 10, 500 for xor; as many as --steps needs when only it is given).")
  var epochs: Int?
  @Option(parsing: .unconditional, help: "Stop after this many optimizer steps (default: no limit).")
  var steps: Int?
  @Option(
    parsing: .unconditional,
    help:
      "Stop when the validation loss has not improved for this many epochs, ending with the best epoch's weights (train: with --validation-split; cv, search: on each fold)."
  )
  var earlyStopping: Int?

  /// These options as a session's.
  var settings: SessionOptions {
    var settings = SessionOptions()
    (settings.epochs, settings.steps, settings.earlyStoppingPatience) = (epochs, steps, earlyStopping)
    return settings
  }

  func validate() throws {
    do { try settings.validate() } catch { throw ValidationError(error.description) }
  }
}

/// Weights a run starts from: `train` and `scale` (each fold of `cv` and
/// `search` starts from a fresh initialisation).
struct InitialWeightsOption: ParsableArguments {
  @Option(
    name: .customLong("init"),
    help:
      "Start from the weights in this .safetensors file (its model, loss, CSV columns and feature scaling too, unless given)."
  )
  var initialWeights: String?

  /// This option as a session's.
  var settings: SessionOptions {
    var settings = SessionOptions()
    settings.initialWeights = initialWeights
    return settings
  }
}

/// The gradient strategy of `train`, `cv` and `search` (`scale` takes a list).
struct GradientsOption: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "How the workers' shards become the mean gradient: all-reduce (each worker's own gradient buffer, summed by slices), unit-slices (each worker computes whole output units over the batch) or auto.",
      discussion:
        "auto chooses by the model, the batch and the workers; --profile says which it chose and why. (default: auto)"
    ))
  var gradients: GradientChoice?
  @Flag(
    help:
      "Bitwise-identical weights for any thread count: every batch is cut into logical shards by its size alone (one per 32 rows, at most 4), each with its own gradient buffer, added in order (all-reduce)."
  )
  var reproducible = false

  /// These options as a session's.
  var settings: SessionOptions {
    var settings = SessionOptions()
    settings.gradients = gradients
    if reproducible { settings.reproducible = true }
    return settings
  }
}

/// Test files scored after training: `train` and `search --refit`.
struct TestDataOptions: ParsableArguments {
  @Option(help: "Test features (a file); the named sets bring their own.")
  var testData: String?
  @Option(help: "Test labels for IDX or .npy test features.")
  var testLabels: String?

  /// These options as a session's.
  var settings: SessionOptions {
    var settings = SessionOptions()
    (settings.testData, settings.testLabels) = (testData, testLabels)
    return settings
  }

  func validate() throws {
    do { try settings.validate() } catch { throw ValidationError(error.description) }
  }
}
