import ArgumentParser
import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

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
extension OptimizerSettings.Kind: ExpressibleByArgument {}

extension Loss: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
  public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

extension Initializer: ExpressibleByArgument {
  public init?(argument: String) { self.init(name: argument) }
  public static var allValueStrings: [String] { allCases.map(\.rawValue) }
}

/// Checks that a file can be written at `path` before any long work starts,
/// so a run never ends in an error about its output.
func checkWritable(_ path: String, option: String) throws(CommandFailure) {
  let folder: String
  if let slash = path.lastIndex(of: "/") {
    folder = slash == path.startIndex ? "/" : String(path[..<slash])
  } else {
    folder = "."
  }
  var info = stat()
  if stat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFDIR {
    throw CommandFailure("\(option) \(path): is a folder")
  }
  guard access(folder, W_OK) == 0 else {
    throw CommandFailure("\(option) \(path): cannot write in folder '\(folder)' (\(String(cString: strerror(errno))))")
  }
}
