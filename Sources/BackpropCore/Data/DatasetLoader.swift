#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Finds and reads data sets by name or by path.
///
/// Named sets: `fashion-mnist` (IDX files from the Debian package
/// `dataset-fashion-mnist`, or from the folder given by the option or by
/// ``DatasetLoader/fashionMNISTEnvironmentVariable``), scaled to [0, 1], with
/// its own test split; and `xor`, the four points of the classic example,
/// whose test split is the same four points.
///
/// Files: the format is recognised from the contents (after gzip, if
/// compressed): NumPy `.npy`, IDX, or else CSV with a header line.
public enum DatasetLoader {
  /// Where the Debian package puts Fashion-MNIST.
  public static let fashionMNISTDefaultDirectory = "/usr/share/datasets/fashion-mnist"
  /// An environment variable naming another Fashion-MNIST folder.
  public static let fashionMNISTEnvironmentVariable = "BACKPROP_FASHION_MNIST_DIR"

  /// A set's training samples and, for named sets, their own test samples.
  public struct Loaded: Sendable {
    /// The training samples.
    public var training: Dataset
    /// The set's own test split, if it has one.
    public var test: Dataset?
    /// Whether the data came by name (and is already scaled as such sets are).
    public var isNamed: Bool
  }

  /// The names of the built-in sets.
  public static let namedSets = ["fashion-mnist", "xor"]

  /// Whether `data` names a built-in set (`xor`, `fashion-mnist`) rather
  /// than a file.
  public static func isNamedSet(_ data: String) -> Bool {
    ["xor", "fashion-mnist", "fashion_mnist", "fashionmnist"].contains(data.lowercased())
  }

  /// The files Fashion-MNIST may be read from (each of its four IDX files,
  /// gzipped or not) in `directory`, or where ``load(data:labels:labelColumn:fashionMNISTDirectory:requireLabels:)``
  /// would look without it: what a command checks its outputs against.
  public static func fashionMNISTFiles(directory: String?) -> [String] {
    let folder = directory ?? environment(fashionMNISTEnvironmentVariable) ?? fashionMNISTDefaultDirectory
    return ["train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
      .flatMap { ["\(folder)/\($0).gz", "\(folder)/\($0)"] }
  }

  /// Loads `data`, a set's name or a file's path.
  ///
  /// - Parameters:
  ///   - labels: the labels file for IDX and `.npy` features (`nil` for CSV,
  ///     which holds its labels, and for named sets).
  ///   - columns: the CSV columns to read (by default the labels from
  ///     `label` and every other column as a feature).
  ///   - fashionMNISTDirectory: a folder that overrides where Fashion-MNIST is read.
  ///   - requireLabels: whether files must come with labels; when `false`
  ///     (prediction), features alone are read and targets are zero.
  ///   - loop: how large IDX files are converted (``ParallelLoop/allCores``
  ///     from the engine spreads them over the cores).
  /// - Throws: ``DatasetError`` naming the file or option and what is wrong.
  public static func load(
    data: String, labels: String?, columns: ColumnSelection = ColumnSelection(), fashionMNISTDirectory: String? = nil,
    requireLabels: Bool = true, loop: ParallelLoop = .serial
  ) throws(DatasetError) -> Loaded {
    switch data.lowercased() {
    case "xor":
      try rejectLabels(labels, for: data)
      let xor = xorSet()
      return Loaded(training: xor, test: xor, isNamed: true)
    case "fashion-mnist", "fashion_mnist", "fashionmnist":
      try rejectLabels(labels, for: data)
      let directory =
        fashionMNISTDirectory ?? environment(fashionMNISTEnvironmentVariable)
        ?? fashionMNISTDefaultDirectory
      let training = try imageSet(
        directory: directory, images: "train-images-idx3-ubyte", labels: "train-labels-idx1-ubyte",
        name: "fashion-mnist", loop: loop)
      let test = try imageSet(
        directory: directory, images: "t10k-images-idx3-ubyte", labels: "t10k-labels-idx1-ubyte",
        name: "fashion-mnist test", loop: loop)
      return Loaded(training: training, test: test, isNamed: true)
    default:
      let set = try file(data, labels: labels, columns: columns, requireLabels: requireLabels, loop: loop)
      return Loaded(training: set, test: nil, isNamed: false)
    }
  }

  /// Reads a data set from files: features from `path`, labels from `labels`
  /// (required unless `path` is a CSV file, which must not have one, or
  /// `requireLabels` is `false`).
  ///
  /// Features of unsigned bytes (IDX type `0x08`, `.npy` dtype `|u1`), such
  /// as images, are divided by 255 into [0, 1] as they are read, exactly as
  /// the named sets are (and as torchvision's `ToTensor` does); the set's
  /// ``Dataset/scaledFromBytes`` says so.
  public static func file(
    _ path: String, labels: String?, columns: ColumnSelection = ColumnSelection(), requireLabels: Bool = true,
    loop: ParallelLoop = .serial
  ) throws(DatasetError) -> Dataset {
    let name = path.lowercased().replacingSuffix(".gz", with: "")
    let bytes = try FileBytes.read(
      path, announcedSize: { (head) throws(DatasetError) in try announcedSize(head, name: name, path: path) })
    // .npy by its magic string; CSV by name (or by not looking like IDX when
    // no labels file is given); anything else is read as IDX, whose own
    // checks then say what is wrong with it.
    let isCSV = name.hasSuffix(".csv") || (labels == nil && !bytes.starts(with: [0, 0]) && !isNPY(bytes))
    if !isCSV {
      let features = try array(bytes, path: path, scalingBytes: true, loop: loop)
      guard let rows = features.shape.first, rows > 0, features.values.count > 0 else {
        throw .mismatch(source: path, reason: "the data set is empty")
      }
      guard let labels else {
        guard !requireLabels else {
          throw .badOption(option: "--labels", reason: "required with the features file \(path) (IDX or .npy)")
        }
        var set = Dataset(
          features: features.values, featureWidth: features.values.count / rows,
          targets: [Float](repeating: 0, count: rows), targetWidth: 1, source: path)
        set.scaledFromBytes = features.scaledFromBytes
        set.sampleShape = sampleShape(features.shape)
        set.classNames = columns.classNames
        return set
      }
      let labelName = labels.lowercased().replacingSuffix(".gz", with: "")
      let labelBytes = try FileBytes.read(
        labels, announcedSize: { (head) throws(DatasetError) in try announcedSize(head, name: labelName, path: labels) }
      )
      let targets = try array(labelBytes, path: labels, scalingBytes: false, loop: loop)
      let width = features.values.count / rows
      let targetRows = targets.shape.first ?? 0
      guard targetRows == rows else {
        throw .mismatch(source: labels, reason: "\(targetRows) labels for the \(rows) samples of \(path)")
      }
      guard width > 0, targets.values.count > 0 else { throw .mismatch(source: path, reason: "the data set is empty") }
      var set = Dataset(
        features: features.values, featureWidth: width, targets: targets.values,
        targetWidth: targets.values.count / rows, source: path)
      set.labelSource = labels
      set.scaledFromBytes = features.scaledFromBytes
      set.sampleShape = sampleShape(features.shape)
      set.classNames = columns.classNames
      return set
    }
    if let labels {
      throw .badOption(
        option: "--labels", reason: "\(labels) given, but \(path) is CSV, which holds its labels (see --label-column)")
    }
    return try CSVReader.parse(bytes, path: path, columns: columns, requireLabels: requireLabels)
  }

  /// The four points of XOR: inputs {0,1}², label 1 when exactly one is 1.
  public static func xorSet() -> Dataset {
    Dataset(
      features: [0, 0, 0, 1, 1, 0, 1, 1], featureWidth: 2, targets: [0, 1, 1, 0], targetWidth: 1,
      source: "xor")
  }

  private static func isNPY(_ bytes: [UInt8]) -> Bool { NPYFile.hasMagic(bytes) }

  /// One sample's shape in an array of `shape` (samples first): `[N, H, W]`
  /// is a one-channel image, `[N, C, H, W]` an image of `C` channels, as
  /// PyTorch lays them out; anything else a flat row of the rest.
  private static func sampleShape(_ shape: [Int]) -> Shape {
    switch shape.count {
    case 3: Shape(channels: 1, height: shape[1], width: shape[2])
    case 4: Shape(channels: shape[1], height: shape[2], width: shape[3])
    default: Shape(flat: shape.dropFirst().reduce(1, *))
    }
  }

  /// The size the header at the start of a data file announces, by its
  /// format: `.npy` by name or magic string (a file named `.npy` without
  /// the magic string is refused as not one), IDX by its two zero bytes;
  /// `nil` for CSV, which has no such header.
  private static func announcedSize(_ head: [UInt8], name: String, path: String) throws(DatasetError) -> Int? {
    if name.hasSuffix(".npy") || isNPY(head) { return try NPYFile.announcedSize(head, path: path) }
    if !name.hasSuffix(".csv") && head.starts(with: [0, 0]) { return try IDXReader.announcedSize(head, path: path) }
    return nil
  }

  /// The array in `bytes` (`.npy` or IDX), unsigned bytes divided by 255
  /// when `scalingBytes`.
  private static func array(
    _ bytes: [UInt8], path: String, scalingBytes: Bool, loop: ParallelLoop
  ) throws(DatasetError) -> (shape: [Int], values: [Float], scaledFromBytes: Bool) {
    if isNPY(bytes) {
      var contents = try NPYFile.parse(bytes, path: path)
      let scaled = scalingBytes && contents.isUnsignedBytes
      if scaled {
        contents.values.withUnsafeMutableBufferPointer { values in
          for i in values.indices { values[i] /= 255 }
        }
      }
      return (contents.shape.isEmpty ? [1] : contents.shape, contents.values, scaled)
    }
    // IDX's third byte is its element type; 0x08 is unsigned bytes.
    let scaled = scalingBytes && bytes.count > 2 && bytes[2] == 0x08
    let contents = try IDXReader.parse(bytes, path: path, dividingBy: scaled ? 255 : 1, loop: loop)
    return (contents.shape, contents.values, scaled)
  }

  private static func imageSet(directory: String, images: String, labels: String, name: String, loop: ParallelLoop)
    throws(DatasetError) -> Dataset
  {
    let imagePath = try locate(directory: directory, stem: images)
    let labelPath = try locate(directory: directory, stem: labels)
    // Pixels are bytes: divided by 255 as any byte features are (while
    // converting them, to spare a pass over the whole set).
    var data = try file(imagePath, labels: labelPath, loop: loop)
    data.source = name
    return data
  }

  private static func locate(directory: String, stem: String) throws(DatasetError) -> String {
    for candidate in ["\(directory)/\(stem).gz", "\(directory)/\(stem)"] where access(candidate, R_OK) == 0 {
      return candidate
    }
    throw .unreadable(
      path: "\(directory)/\(stem).gz",
      reason:
        "not found (install the Debian package dataset-fashion-mnist, or point --fashion-mnist-dir or \(fashionMNISTEnvironmentVariable) at a folder with the four IDX files)"
    )
  }

  private static func rejectLabels(_ labels: String?, for name: String) throws(DatasetError) {
    if labels != nil {
      throw .badOption(option: "--labels", reason: "not used with the named data set '\(name)'")
    }
  }

  private static func environment(_ name: String) -> String? {
    guard let value = getenv(name) else { return nil }
    let text = String(cString: value)
    return text.isEmpty ? nil : text
  }
}
