import ArgumentParser
import Backprop

/// Where samples come from: a named set or files, shared by every command.
struct DataOptions: ParsableArguments {
  @Option(help: "A named data set (fashion-mnist, xor) or a features file (IDX, .npy or CSV; .gz accepted).")
  var data: String?

  @Option(help: "The labels file for IDX or .npy features.")
  var labels: String?

  @Option(help: "The CSV column that holds the labels.")
  var labelColumn: String = "label"

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
    if labelColumn != "label" { settings.labelColumn = labelColumn }
    return settings
  }

  /// Loads the data named by the options (large files on all cores).
  func load(requireLabels: Bool = true) throws(CommandFailure) -> DatasetLoader.Loaded {
    do { return try TrainingSession.load(settings, requireLabels: requireLabels) } catch {
      throw CommandFailure(error.description)
    }
  }

  /// The files the options name, for the check that no output is one of them.
  var inputs: [OutputFiles.Named?] { TrainingArguments.inputs(of: settings) }
}

extension FeatureScaling: ExpressibleByArgument {}
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
