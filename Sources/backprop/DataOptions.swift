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

  /// Loads the data named by the options.
  func load(requireLabels: Bool = true) throws(CommandFailure) -> DatasetLoader.Loaded {
    guard let data else { throw CommandFailure("--data: missing (give a named set such as fashion-mnist, or a file)") }
    do {
      return try DatasetLoader.load(
        data: data, labels: labels, labelColumn: labelColumn, fashionMNISTDirectory: fashionMnistDir,
        requireLabels: requireLabels, loop: .allCores)
    } catch {
      throw CommandFailure(error)
    }
  }

  /// The files the options name, for the check that no output is one of them.
  var inputs: [OutputFiles.Named?] {
    guard let data else { return [] }
    var files = [named("--labels", labels)]
    if DatasetLoader.isNamedSet(data) {
      if data.lowercased() != "xor" {
        files += DatasetLoader.fashionMNISTFiles(directory: fashionMnistDir).map { named("--data", $0) }
      }
    } else {
      files.append(named("--data", data))
    }
    return files
  }

  /// The options as command-line arguments, paths made absolute.
  var commandLine: [String] {
    var arguments: [String] = []
    if let data { arguments += ["--data", DatasetLoader.isNamedSet(data) ? data : absolutePath(data)] }
    if let labels { arguments += ["--labels", absolutePath(labels)] }
    if labelColumn != "label" { arguments += ["--label-column", labelColumn] }
    if let fashionMnistDir { arguments += ["--fashion-mnist-dir", absolutePath(fashionMnistDir)] }
    return arguments
  }
}

/// `path` made absolute against the working folder (unchanged if it is
/// absolute already), so that a command line saved in a checkpoint still
/// finds its files when resumed from elsewhere.
func absolutePath(_ path: String) -> String {
  var full = path
  if !path.hasPrefix("/") {
    guard let folder = getcwd(nil, 0) else { return path }
    defer { free(folder) }
    full = String(cString: folder) + "/" + path
  }
  // `.` and `..` resolved by name (links are left as they are).
  var parts: [Substring] = []
  for part in full.split(separator: "/") where part != "." {
    if part == ".." { _ = parts.popLast() } else { parts.append(part) }
  }
  return "/" + parts.joined(separator: "/")
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
