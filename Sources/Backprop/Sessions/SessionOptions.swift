/// What a training session is asked for, as typed values: the data, the
/// model, the optimizer and schedule, the length of the run and its seed.
///
/// Every option is optional: `nil` means "not given", and the session
/// fills it from the data set's ``TrainingRecipe`` or the usual default.
/// That makes the options composable: ``overlaid(on:)`` lays the options
/// given now over saved ones (`train --resume`), and ``set(_:to:)`` applies
/// one setting of a search by the option's name. The names are those of the
/// `backprop train` options, without the dashes (`lr`, `batch-size`).
public struct SessionOptions: Sendable, Hashable {
  /// A named data set (`fashion-mnist`, `xor`) or a features file.
  public var data: String?
  /// The labels file of IDX or `.npy` features.
  public var labels: String?
  /// The CSV column that holds the labels (`label`, or the one the
  /// initial weights were trained with).
  public var labelColumn: String?
  /// The CSV feature columns by name, in the model's input order (every
  /// column but the label's, or the initial weights' features).
  public var featureColumns: [String]?
  /// CSV columns left out of the features.
  public var dropColumns: [String]?
  /// The classes' names in the order of their indices: CSV text labels are
  /// looked up here, and predictions name them.
  public var classNames: [String]?
  /// A folder that overrides where Fashion-MNIST is read.
  public var fashionMNISTDirectory: String?
  /// Test features, and their labels.
  public var testData: String?, testLabels: String?
  /// The seeded fraction of the training data held out for validation.
  public var validationSplit: Double?
  /// Feature scaling fitted on the training split (`.none`).
  public var scaling: FeatureScaling?
  /// The model spec's text form, or the path of its JSON form.
  public var model: String?
  /// The loss (by default the one the model's outputs call for).
  public var loss: Loss?
  /// How initial weights are drawn (`.pytorch`).
  public var initializer: Initializer?
  /// A weights file the run starts from.
  public var initialWeights: String?
  /// The optimizer (`.sgd`).
  public var optimizer: OptimizerSettings.Kind?
  /// The learning rate (from the recipe for SGD, 0.001 for Adam and AdamW).
  public var learningRate: Double?
  /// SGD's momentum (from the recipe), and whether it is Nesterov's.
  public var momentum: Double?, nesterov: Bool?
  /// Weight decay.
  public var weightDecay: Double?
  /// Adam's β₁ (0.9), β₂ (0.999) and ε (1e-8).
  public var beta1: Double?, beta2: Double?, epsilon: Double?
  /// The learning-rate schedule's text form (`constant`, `step:5:0.5`, `cosine`).
  public var schedule: String?
  /// Steps of linear warm-up (0).
  public var warmupSteps: Int?
  /// The global L2 norm the mean gradient is clipped to.
  public var clipGradientNorm: Double?
  /// Passes over the training data (from the recipe, or as many as `steps` needs).
  public var epochs: Int?
  /// The most optimizer steps the run takes.
  public var steps: Int?
  /// Samples per step (from the recipe).
  public var batchSize: Int?
  /// The seed of initialisation, shuffling, dropout and the validation split (0).
  public var seed: UInt64?
  /// Whether samples are shuffled each epoch (`true`).
  public var shuffle: Bool?
  /// Training FLOPs per step a thread must have (see ``TrainingOptions/minimumWorkPerThread``).
  public var minimumWorkPerThread: Double?
  /// What a non-finite loss or gradient does (`.stop`).
  public var onNonFinite: NonFinitePolicy?
  /// How the workers' shards become the mean gradient (`.auto`).
  public var gradients: GradientChoice?
  /// Whether the weights must be bitwise the same for any thread count (`false`).
  public var reproducible: Bool?
  /// Random crops and flips of training images (none).
  public var augmentation: Augmentation?
  /// Epochs without a lower validation loss before the run stops.
  public var earlyStoppingPatience: Int?

  /// Options of which none is given.
  public init() {}

  /// These options, with those not given here taken from `base`.
  public func overlaid(on base: SessionOptions) -> SessionOptions {
    var result = base
    for field in SessionOptions.fields { field.copy(self, &result) }
    return result
  }

  /// Applies one option by its name (`lr`, `batch-size`, `nesterov`), its
  /// value read from `text` as the option's type.
  ///
  /// - Throws: ``SessionError`` when no option has that name or the value
  ///   is not of its type.
  public mutating func set(_ name: String, to text: String) throws(SessionError) {
    guard let field = SessionOptions.fields.first(where: { $0.name == name }) else {
      throw SessionError(option: "--\(name)", message: "there is no such option")
    }
    guard field.parse(&self, text) else {
      throw SessionError(option: "--\(name)", message: "'\(text)' is not \(field.kind)")
    }
  }

  /// Whether an option of this name exists.
  public static func hasOption(_ name: String) -> Bool { fields.contains { $0.name == name } }

  /// The given options as JSON, each under its name with a value of its
  /// type (the form a checkpoint keeps).
  public var json: JSONValue {
    .object(SessionOptions.fields.compactMap { field in field.encode(self).map { (field.name, $0) } })
  }

  /// Reads the JSON form.
  ///
  /// - Throws: ``SessionError`` naming a member that is unknown or of the wrong type.
  public init(json: JSONValue) throws(SessionError) {
    guard case .object(let members) = json else {
      throw SessionError(option: "options", message: "not a JSON object")
    }
    for (name, value) in members {
      guard let field = SessionOptions.fields.first(where: { $0.name == name }) else {
        throw SessionError(option: "--\(name)", message: "there is no such option")
      }
      guard field.decode(&self, value) else {
        throw SessionError(option: "--\(name)", message: "\(value.serialized()) is not \(field.kind)")
      }
    }
  }

  /// Reads a command line of `--name value` pairs and bare flags, the form
  /// checkpoints of version 0.6 and earlier keep.
  ///
  /// - Throws: ``SessionError`` naming an option that is unknown or malformed.
  public init(commandLine arguments: [String]) throws(SessionError) {
    var index = 0
    while index < arguments.count {
      let name = String(arguments[index].drop { $0 == "-" })
      guard let field = SessionOptions.fields.first(where: { $0.name == name }) else {
        throw SessionError(option: arguments[index], message: "there is no such option")
      }
      if field.isFlag {
        _ = field.parse(&self, "true")
        index += 1
      } else {
        guard index + 1 < arguments.count else { throw SessionError(option: arguments[index], message: "no value") }
        try set(name, to: arguments[index + 1])
        index += 2
      }
    }
  }

  /// These options with every file path made absolute against the working
  /// folder, so that saved options find their files from elsewhere.
  public func withAbsolutePaths() -> SessionOptions {
    var result = self
    if let data, !DatasetLoader.isNamedSet(data) { result.data = FilePath.absolute(data) }
    result.labels = labels.map(FilePath.absolute)
    result.fashionMNISTDirectory = fashionMNISTDirectory.map(FilePath.absolute)
    result.testData = testData.map(FilePath.absolute)
    result.testLabels = testLabels.map(FilePath.absolute)
    result.initialWeights = initialWeights.map(FilePath.absolute)
    if let model, model.lowercased().hasSuffix(".json") { result.model = FilePath.absolute(model) }
    return result
  }
}

/// Options that cannot make a session: the command-line option they
/// concern and one line that names it and says what is wrong.
public struct SessionError: Error, Sendable, Hashable, CustomStringConvertible {
  /// The option, as `backprop train` spells it (`--lr`).
  public let option: String
  /// The whole message, which names the option.
  public let description: String

  /// `option: message`.
  public init(option: String, message: String) {
    self.init(option: option, line: "\(option): \(message)")
  }

  /// An error about `option` whose message `line` already names it.
  public init(option: String, line: String) {
    self.option = option
    self.description = line
  }
}
