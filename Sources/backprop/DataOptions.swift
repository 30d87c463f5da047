import ArgumentParser
import Backprop

/// Where samples come from: a named set or files, shared by every command.
struct DataOptions: ParsableArguments {
  @Option(help: "A named data set (fashion-mnist, xor) or a features file (IDX, .npy or CSV; .gz accepted).")
  var data: String

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

  /// Loads the data named by the options.
  func load(requireLabels: Bool = true) throws(CommandFailure) -> DatasetLoader.Loaded {
    do {
      return try DatasetLoader.load(
        data: data, labels: labels, labelColumn: labelColumn, fashionMNISTDirectory: fashionMnistDir,
        requireLabels: requireLabels)
    } catch {
      throw CommandFailure(error)
    }
  }
}

extension FeatureScaling: ExpressibleByArgument {}
extension PinningPolicy: ExpressibleByArgument {}
extension OptimizerSettings.Kind: ExpressibleByArgument {}

extension Loss: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
  public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension Initializer: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
  public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}
