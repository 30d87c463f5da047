import ArgumentParser
import Backprop

/// Where samples come from: a named set or files, shared by every command.
struct DataOptions: ParsableArguments {
  @Option(help: "A named data set (fashion-mnist, xor) or a features file (IDX, .npy or CSV; .gz accepted).")
  var data: String?

  @Option(help: "The labels file for IDX or .npy features.")
  var labels: String?

  @Option(help: "The CSV column that holds the labels (default: label, or the one the weights were trained with).")
  var labelColumn: String?

  @Option(
    help: ArgumentHelp(
      "The CSV feature columns by name, comma-separated, in the model's input order (default: every column but the label's, or the weights' features).",
      valueName: "names"))
  var featureColumns: String?

  @Option(
    help: ArgumentHelp("CSV columns to leave out of the features, comma-separated (an id, say).", valueName: "names"))
  var dropColumns: String?

  @Option(
    help: ArgumentHelp(
      "The classes' names, comma-separated, in the order of their indices: CSV text labels are looked up here (default: the sorted distinct labels, or the weights' names); predictions name them.",
      valueName: "names"))
  var classNames: String?

  @Option(
    help: ArgumentHelp(
      "The folder with Fashion-MNIST's four IDX files.",
      discussion:
        "Default: $\(DatasetLoader.fashionMNISTEnvironmentVariable), else \(DatasetLoader.fashionMNISTDefaultDirectory)."
    ))
  var fashionMnistDir: String?

  /// The data part of a session's options.
  var settings: SessionOptions {
    var settings = SessionOptions()
    (settings.data, settings.labels, settings.fashionMNISTDirectory) = (data, labels, fashionMnistDir)
    settings.labelColumn = labelColumn
    settings.featureColumns = featureColumns.map { ColumnSelection.names($0) }
    settings.dropColumns = dropColumns.map { ColumnSelection.names($0) }
    settings.classNames = classNames.map { ColumnSelection.names($0) }
    return settings
  }

  /// Loads the data named by the options (large files on all cores), CSV
  /// columns read as `model` (saved in `weights`) was trained on when it knows them.
  func load(for model: Model? = nil, weights: String = "", requireLabels: Bool = true) throws(CommandFailure)
    -> DatasetLoader.Loaded
  {
    let loaded: DatasetLoader.Loaded
    let columns = TrainingSession.columns(settings, schema: model?.dataSchema, savedIn: weights)
    do {
      try settings.validate()
      loaded = try TrainingSession.load(settings, columns: columns, requireLabels: requireLabels)
    } catch {
      throw CommandFailure(error.description)
    }
    // Text labels sorted afresh may not be the classes the model learnt.
    if model != nil, columns.classNames == nil, let names = (loaded.test ?? loaded.training).classNames {
      throw CommandFailure(
        "\(settings.data ?? ""): the labels are text (\(names.prefix(5).joined(separator: ", "))\(names.count > 5 ? ", …" : "")) but \(weights) names no classes: give --class-names in the order of the model's outputs"
      )
    }
    return loaded
  }

  /// The files the options name, for the check that no output is one of them.
  var inputs: [OutputFiles.Named?] { TrainingArguments.inputs(of: settings) }
}

extension FeatureScaling: ExpressibleByArgument {}
extension GradientChoice: ExpressibleByArgument {}
extension Augmentation: ExpressibleByArgument {
  public init?(argument: String) { self.init(parsing: argument) }
}
extension PinningPolicy: ExpressibleByArgument {}
extension NonFinitePolicy: ExpressibleByArgument {}
extension OptimizerSettings.Kind: ExpressibleByArgument {}

extension Loss: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
  public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension Initializer: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
  public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
