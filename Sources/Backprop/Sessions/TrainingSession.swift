#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A training run set up from ``SessionOptions``: the defaults of the data
/// set's recipe filled in, the data loaded, split and scaled, everything
/// checked against the model, and the model built.
///
/// The feature scaler is fitted on the training split only and applied to
/// validation and test data (and kept with the model, so that predictions
/// scale their inputs the same way). `steps` given without `epochs` sets the
/// run's length to as many epochs as the steps need.
public struct TrainingSession {
  /// The options as given.
  public let settings: SessionOptions
  /// How the trainer trains: the given options with the recipe's defaults.
  public var options: TrainingOptions
  /// The training data (split and scaled).
  public let training: Dataset
  /// The validation split, if asked for.
  public let validation: Dataset?
  /// The test data: a named set's own, or the given test files.
  public let test: Dataset?
  /// The model, initialised or loaded.
  public let model: Model
  /// Likely mistakes in the setup that do not stop it (a model wider than
  /// the labels' classes, an activation after the output layer), one line
  /// each, naming the option.
  public let warnings: [String]
  /// What the session did that a user should know of (8-bit features
  /// divided by 255, the initial weights' scaling reused), one line each.
  public let notes: [String]
  /// Whether the features are scaled by the initial weights' saved scaling.
  let scalesAsInitialWeights: Bool

  /// Sets up a session.
  ///
  /// - Parameters:
  ///   - settings: the options (checked with ``SessionOptions/validate()``).
  ///   - threads: the worker threads of the trainer.
  ///   - data: the data when already read (a search sets up many sessions on
  ///     the same data); else it is loaded from `settings`, large files
  ///     converted on all cores.
  /// - Throws: ``SessionError`` naming the option and what is wrong.
  public init(_ settings: SessionOptions, threads: Int, data preloaded: DatasetLoader.Loaded? = nil)
    throws(SessionError)
  {
    try settings.validate()
    self.settings = settings

    // Model: from the spec, or from the initial weights' metadata, which
    // also bring the training data's columns and feature scaling.
    var initial: Model? = nil
    var givenSpec: ModelSpec? = nil
    if let text = settings.model {
      do {
        givenSpec = try ModelSpec(specOrJSONFile: text)
      } catch {
        throw SessionError(option: "--model", message: error.description)
      }
    }
    if let path = settings.initialWeights {
      do { initial = try Model.load(from: path, spec: givenSpec) } catch {
        throw SessionError(option: "--init", line: "--init \(error)")
      }
    }
    guard let spec = givenSpec ?? initial?.spec else {
      throw SessionError(
        option: "--model",
        message: "missing (give a spec such as 784-256-relu-128-relu-10, or --init weights.safetensors)")
    }
    let loss = settings.loss ?? initial?.loss ?? .defaultLoss(outputs: spec.outputWidth)

    // Data: training, then validation and test splits.
    let columns = TrainingSession.columns(
      settings, schema: initial?.dataSchema, savedIn: "--init \(settings.initialWeights ?? "")")
    let loaded: DatasetLoader.Loaded
    if let preloaded { loaded = preloaded } else { loaded = try TrainingSession.load(settings, columns: columns) }
    var training = loaded.training
    let recipe = TrainingRecipe.forData(settings.data ?? "", bytes: training.scaledFromBytes)
    options = try TrainingSession.options(settings, recipe: recipe, threads: threads)
    if let augmentation = options.augmentation, let problem = augmentation.problem(for: spec.inputShape) {
      throw SessionError(option: "--augment", message: "\(augmentation) \(problem)")
    }
    let seed = settings.seed ?? 0
    var validation: Dataset? = nil
    if let fraction = settings.validationSplit {
      do {
        (training, validation) = try training.splitValidation(fraction: fraction, seed: seed)
      } catch {
        throw SessionError(option: "--validation-split", line: "\(error)")
      }
    }
    var test = loaded.test
    if let path = settings.testData {
      guard !loaded.isNamed else {
        throw SessionError(
          option: "--test-data", message: "the named set '\(settings.data ?? "")' brings its own test split")
      }
      // The test file's columns are matched to the training file's by name.
      var testColumns = columns
      testColumns.featureColumns = training.featureNames
      testColumns.dropColumns = []
      testColumns.classNames = training.classNames
      do {
        test = try DatasetLoader.file(path, labels: settings.testLabels, columns: testColumns, loop: .allCores)
      } catch {
        throw SessionError(option: "--test-data", line: "\(error)")
      }
    }

    // Before anything of the model is allocated: refused with the estimate
    // when it cannot fit.
    do {
      try MemoryBudget.check(
        Trainer.estimatedBytes(spec: spec, options: options),
        for: "model \(spec) (batch \(options.batchSize), \(threads) thread(s))")
    } catch {
      throw SessionError(option: "--model", message: "\(error)")
    }
    if let initial {
      model = Model(spec: spec, loss: loss, parameters: Array(initial.parameters.pointer))
    } else {
      model = Model(spec: spec, loss: loss, initializer: settings.initializer ?? .pytorch, seed: seed)
    }
    model.dataSchema = DataSchema(of: training)

    // Scaling: fitted on the training split, or the initial weights' own
    // unless --scale is given.
    var notes: [String] = []
    let scaler: FeatureScaler?
    var scalesAsInitialWeights = false
    if let scaling = settings.scaling {
      scaler = scaling == .none ? nil : FeatureScaler(fitting: scaling, to: training)
      if let path = settings.initialWeights, initial?.featureScaler != nil {
        notes.append(
          "--scale \(scaling.rawValue): the feature scaling saved in --init \(path) is "
            + (scaling == .none ? "not applied" : "replaced by one fitted on this training data"))
      }
    } else if let saved = initial?.featureScaler, saved.shift.count == training.featureWidth {
      scaler = saved
      scalesAsInitialWeights = true
      notes.append("--init: features scaled as saved in \(settings.initialWeights ?? "") (give --scale to refit)")
    } else {
      scaler = nil
    }
    if let scaler {
      model.featureScaler = scaler
      scaler.apply(to: &training)
      if validation != nil { scaler.apply(to: &validation!) }
      if test != nil { scaler.apply(to: &test!) }
    }
    if training.scaledFromBytes && !loaded.isNamed {
      notes.append(
        "--data: the 8-bit features of \(loaded.training.source) are divided by 255 to [0, 1] as they are read, as the named sets' are"
      )
    }
    if loss == .meanSquaredError && spec.outputWidth == 1, let names = training.classNames {
      throw SessionError(
        option: settings.classNames != nil ? "--class-names" : "--data",
        message:
          "the labels are classes (\(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")) but loss mse with one output is regression: give a model with one output per class, or another loss"
      )
    }
    do {
      training = try training.classIndices(for: loss, outputs: spec.outputWidth)
      validation = try validation?.classIndices(for: loss, outputs: spec.outputWidth)
      test = try test?.classIndices(for: loss, outputs: spec.outputWidth)
      for data in [training, validation, test].compactMap({ $0 }) {
        try data.validate(input: spec.inputShape, outputs: spec.outputWidth, loss: loss)
      }
    } catch {
      throw SessionError(option: "--data", line: "\(error)")
    }

    // Steps alone set the run's length: as many epochs as those steps need.
    if let steps = settings.steps, settings.epochs == nil {
      let perEpoch = options.stepsPerEpoch(samples: training.count)
      options.epochs = steps / perEpoch + (steps % perEpoch == 0 ? 0 : 1)
      guard options.epochs <= SessionOptions.maximumEpochs else {
        throw SessionError(
          option: "--steps",
          message:
            "\(steps) takes \(options.epochs) epochs of \(perEpoch) steps, more than the \(SessionOptions.maximumEpochs) a run may have"
        )
      }
    }
    self.training = training
    self.validation = validation
    self.test = test
    self.notes = notes
    self.scalesAsInitialWeights = scalesAsInitialWeights
    warnings = TrainingSession.warnings(
      spec: spec, loss: loss, training: training, scaled: settings.scaling != nil || scaler != nil)
  }

  /// How the settings' CSV columns are read: as given, else as `schema`
  /// (the data a model was saved with, in `weights`) says. The schema's
  /// feature names win over `drop-columns`: columns found by name need
  /// nothing dropped, and dropping would fall back to their positions.
  public static func columns(_ settings: SessionOptions, schema: DataSchema?, savedIn weights: String)
    -> ColumnSelection
  {
    var columns = ColumnSelection(
      labelColumn: settings.labelColumn ?? schema?.labelColumn ?? "label", featureColumns: settings.featureColumns,
      dropColumns: settings.dropColumns ?? [], classNames: settings.classNames ?? schema?.classNames)
    if settings.featureColumns == nil, let names = schema?.featureNames {
      columns.featureColumns = names
      columns.dropColumns = []
      columns.featuresNamedBy = "one of the features \(weights) was trained on"
    }
    return columns
  }

  /// The likely mistakes of a model for `training` (see ``warnings``).
  ///
  /// - Parameter scaled: whether the features were scaled (by `--scale` or
  ///   the initial weights' scaling); if not, features far outside [-1, 1]
  ///   are warned about.
  static func warnings(spec: ModelSpec, loss: Loss, training: Dataset, scaled: Bool) -> [String] {
    var warnings: [String] = []
    if loss == .softmaxCrossEntropy, training.targetWidth == 1, spec.outputWidth > 1 {
      let classes = training.classNames?.count ?? Int(training.targets.max() ?? 0) + 1
      if classes < spec.outputWidth {
        let named = training.classNames.map { " (\($0.joined(separator: ", ")))" } ?? " (0-\(classes - 1))"
        warnings.append(
          "--model: \(spec) has \(spec.outputWidth) outputs but the labels of \(training.labelSource ?? training.source) have \(classes) classes\(named); the last layer's width is usually the number of classes"
        )
      }
    }
    if !scaled,
      let largest = training.features.indices.max(by: { abs(training.features[$0]) < abs(training.features[$1]) }),
      abs(training.features[largest]) > 10
    {
      let column = largest % training.featureWidth
      let name = training.featureNames.map { "column '\(FilePath.printable($0[column]))'" } ?? "feature \(column)"
      warnings.append(
        "--scale: the features of \(training.source) are not scaled and reach \(training.features[largest].messageText) (\(name)); networks train best on features near [-1, 1]: give --scale standard or --scale unit"
      )
    }
    let lastIndex = spec.layers.count - 1
    if loss != .meanSquaredError, !spec.layers[lastIndex].hasParameters(input: spec.shapes[lastIndex]) {
      let function = loss == .softmaxCrossEntropy ? "softmax" : "a sigmoid"
      warnings.append(
        "--model: '\(spec.layers[lastIndex])' after the output layer of \(spec): \(loss.rawValue) applies \(function) itself, so the model should end at its output layer (drop '\(spec.layers[lastIndex])')"
      )
    }
    return warnings
  }

  /// The data the settings name, large files converted on all cores.
  ///
  /// - Parameter columns: how CSV files are read (by default as the
  ///   settings' `label-column`, `feature-columns`, `drop-columns` and
  ///   `class-names` say).
  public static func load(
    _ settings: SessionOptions, columns: ColumnSelection? = nil, requireLabels: Bool = true
  ) throws(SessionError) -> DatasetLoader.Loaded {
    guard let data = settings.data else {
      throw SessionError(option: "--data", message: "missing (give a named set such as fashion-mnist, or a file)")
    }
    do {
      return try DatasetLoader.load(
        data: data, labels: settings.labels,
        columns: columns ?? TrainingSession.columns(settings, schema: nil, savedIn: ""),
        fashionMNISTDirectory: settings.fashionMNISTDirectory, requireLabels: requireLabels, loop: .allCores)
    } catch {
      // A bare name (no folder, no extension) that is not a file is most
      // likely a named set misspelt.
      if !data.contains("/") && !data.contains(".") && access(data, F_OK) != 0 {
        throw SessionError(
          option: "--data",
          message:
            "'\(data)' is not a file, nor one of the named sets (\(DatasetLoader.namedSets.joined(separator: ", ")))")
      }
      throw SessionError(option: "--data", line: "\(error)")
    }
  }

  /// The trainer's options: the given ones, the rest from `recipe` and the defaults.
  static func options(_ settings: SessionOptions, recipe: TrainingRecipe, threads: Int) throws(SessionError)
    -> TrainingOptions
  {
    let kind = settings.optimizer ?? .sgd
    var optimizer = OptimizerSettings(
      kind: kind, learningRate: settings.learningRate ?? (kind == .sgd ? recipe.learningRate : 0.001))
    if kind == .sgd {
      optimizer.momentum = settings.momentum ?? recipe.momentum
      optimizer.nesterov = settings.nesterov ?? false
      if optimizer.nesterov && optimizer.momentum == 0 {
        throw SessionError(option: "--nesterov", message: "needs --momentum greater than 0")
      }
    } else if settings.momentum != nil || settings.nesterov == true {
      throw SessionError(
        option: "--momentum/--nesterov", message: "apply to --optimizer sgd only (Adam uses --beta1)")
    }
    if let decay = settings.weightDecay { optimizer.weightDecay = decay }
    optimizer.beta1 = settings.beta1 ?? 0.9
    optimizer.beta2 = settings.beta2 ?? 0.999
    optimizer.epsilon = settings.epsilon ?? 1e-8

    var options = TrainingOptions()
    options.epochs = settings.epochs ?? recipe.epochs
    options.maximumSteps = settings.steps
    options.batchSize = settings.batchSize ?? recipe.batchSize
    options.seed = settings.seed ?? 0
    options.shuffle = settings.shuffle ?? true
    options.optimizer = optimizer
    options.schedule = LearningRateSchedule(
      parsing: settings.schedule ?? "constant", warmupSteps: settings.warmupSteps ?? 0)!
    options.clipGradientNorm = settings.clipGradientNorm
    options.threads = threads
    options.minimumWorkPerThread = settings.minimumWorkPerThread ?? TrainingOptions().minimumWorkPerThread
    options.onNonFinite = settings.onNonFinite ?? .stop
    options.earlyStoppingPatience = settings.earlyStoppingPatience
    options.gradients = settings.gradients?.strategy
    options.reproducible = settings.reproducible ?? false
    options.augmentation = settings.augmentation
    if options.reproducible && options.gradients == .unitSlices {
      throw SessionError(
        option: "--reproducible",
        message:
          "sums logical shards' gradient buffers, which --gradients unit-slices does not have (leave it out, or give all-reduce)"
      )
    }
    return options
  }

  /// The data scored after every epoch: the validation split, else the test data.
  public var evaluation: Dataset? { validation ?? test }

  /// What the per-epoch scores are called: `val` or `test`.
  public var evaluationName: String { validation != nil ? "val" : "test" }

  /// The options to keep with a checkpoint: the settings with paths made
  /// absolute, the model given by its spec and loss, and the CSV columns by
  /// the names read (so that neither a JSON spec file nor the initial
  /// weights are needed again; the weights come from the checkpoint). Only
  /// when the features are scaled as the initial weights were is their file
  /// kept, for that scaling.
  public var savedSettings: SessionOptions {
    var saved = settings.withAbsolutePaths()
    saved.model = model.spec.description
    saved.loss = model.loss
    saved.initializer = nil
    if !scalesAsInitialWeights { saved.initialWeights = nil }
    if let schema = model.dataSchema {
      if let names = schema.featureNames { (saved.featureColumns, saved.dropColumns) = (names, nil) }
      saved.labelColumn = schema.labelColumn ?? saved.labelColumn
      saved.classNames = schema.classNames
    }
    return saved
  }
}
