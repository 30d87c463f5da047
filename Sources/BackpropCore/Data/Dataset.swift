/// Samples for training or evaluation: features as one contiguous row-major
/// `Float` matrix and targets (class labels or regression values) beside it.
public struct Dataset: Sendable {
  /// `count × featureWidth` features, row-major.
  public var features: [Float]
  /// The number of features per sample.
  public let featureWidth: Int
  /// `count × targetWidth` targets; class labels are stored as whole numbers.
  public var targets: [Float]
  /// The number of targets per sample (1 for class labels).
  public private(set) var targetWidth: Int
  /// Where the data came from (a path or a set's name), for messages.
  public var source: String
  /// Where the targets came from when not from ``source`` (a separate
  /// labels file), so that messages about labels name it.
  public var labelSource: String? = nil
  /// The features' names (a CSV file's columns, in the order of the
  /// features), so that other files can be matched to them by name.
  public var featureNames: [String]? = nil
  /// The CSV column the labels came from.
  public var labelColumn: String? = nil
  /// The classes' names when the labels were text (label `i` is
  /// `classNames[i]`), or as given by `--class-names`.
  public var classNames: [String]? = nil
  /// Whether the features were 8-bit values divided by 255 as they were
  /// read (IDX or `.npy` files of unsigned bytes, such as images).
  public var scaledFromBytes = false
  /// The shape of one sample: an image's `C×H×W` when the file gave one
  /// (an IDX or `.npy` array `[N, H, W]` or `[N, C, H, W]`), else a flat row.
  public var sampleShape: Shape

  /// Creates a data set, checking that features and targets agree in count.
  public init(features: [Float], featureWidth: Int, targets: [Float], targetWidth: Int, source: String) {
    precondition(featureWidth > 0 && targetWidth > 0, "widths must be positive")
    precondition(
      features.count % featureWidth == 0 && targets.count % targetWidth == 0
        && features.count / featureWidth == targets.count / targetWidth,
      "\(features.count / featureWidth) feature rows but \(targets.count / targetWidth) target rows")
    self.features = features
    self.featureWidth = featureWidth
    self.targets = targets
    self.targetWidth = targetWidth
    self.source = source
    sampleShape = Shape(flat: featureWidth)
  }

  /// The number of samples.
  public var count: Int { targets.count / targetWidth }

  /// The samples at `indices`, in that order.
  ///
  /// - Complexity: O(`indices.count` · (`featureWidth` + `targetWidth`)).
  public func subset(_ indices: some Collection<Int>) -> Dataset {
    var features: [Float] = []
    var targets: [Float] = []
    features.reserveCapacity(indices.count * featureWidth)
    targets.reserveCapacity(indices.count * targetWidth)
    for i in indices {
      features.append(contentsOf: self.features[(i * featureWidth)..<((i + 1) * featureWidth)])
      targets.append(contentsOf: self.targets[(i * targetWidth)..<((i + 1) * targetWidth)])
    }
    var subset = self
    subset.features = features
    subset.targets = targets
    return subset
  }

  /// Splits off a seeded random fraction of the samples for validation.
  ///
  /// - Parameters:
  ///   - fraction: the share for validation, in (0, 1).
  ///   - seed: the run's seed; the same seed gives the same split.
  /// - Returns: the training part and the validation part, each in the
  ///   original order of its samples.
  /// - Throws: ``DatasetError/badOption(option:reason:)`` if either part would be empty.
  public func splitValidation(fraction: Double, seed: UInt64) throws(DatasetError) -> (
    training: Dataset, validation: Dataset
  ) {
    let validationCount = Int((Double(count) * fraction).rounded())
    guard fraction > 0, fraction < 1, validationCount > 0, validationCount < count else {
      throw .badOption(
        option: "--validation-split",
        reason: "\(fraction) of \(count) samples leaves an empty training or validation part")
    }
    var order = Array(0..<count)
    var generator = SeededGenerator(seed: seed, stream: RandomStream.validationSplit)
    generator.shuffle(&order)
    let validation = order[..<validationCount].sorted()
    let training = order[validationCount...].sorted()
    var trainingPart = subset(training)
    var validationPart = subset(validation)
    trainingPart.source = source + " (training part)"
    validationPart.source = source + " (validation part)"
    return (trainingPart, validationPart)
  }

  /// The data with one-hot targets (one row of 0s and a single 1 per
  /// sample) turned into class indices, as `loss` takes them: for
  /// cross-entropy, targets as wide as the model's outputs; else unchanged.
  ///
  /// - Throws: ``DatasetError/mismatch(source:reason:)`` naming the first
  ///   row that is not one-hot.
  public func classIndices(for loss: Loss, outputs: Int) throws(DatasetError) -> Dataset {
    guard loss == .softmaxCrossEntropy, targetWidth > 1, targetWidth == outputs else { return self }
    var indices: [Float] = []
    indices.reserveCapacity(count)
    for row in 0..<count {
      let line = targets[(row * targetWidth)..<((row + 1) * targetWidth)]
      guard line.allSatisfy({ $0 == 0 || $0 == 1 }), line.filter({ $0 == 1 }).count == 1 else {
        throw .mismatch(
          source: labelSource ?? source,
          reason:
            "the targets of sample \(row) (0-based) are \(targetWidth) values but not one-hot (a single 1): give class indices 0...\(outputs - 1), one per sample"
        )
      }
      indices.append(Float(line.firstIndex(of: 1)! - row * targetWidth))
    }
    var converted = self
    converted.targets = indices
    converted.targetWidth = 1
    return converted
  }

  /// Checks that every feature is finite.
  ///
  /// - Throws: ``DatasetError/mismatch(source:reason:)`` naming the first
  ///   NaN or infinite feature (by its column's name when known) and its sample.
  public func checkFeaturesAreFinite() throws(DatasetError) {
    guard let index = features.firstIndex(where: { !$0.isFinite }) else { return }
    let feature =
      featureNames.map { "'\(FilePath.printable($0[index % featureWidth]))'" } ?? "\(index % featureWidth) (0-based)"
    throw .mismatch(
      source: source,
      reason:
        "feature \(feature) of sample \(index / featureWidth) (0-based) is \(features[index]) (NaN and infinite values are not allowed)"
    )
  }

  /// Checks that each sample fits a model whose input is `input`: as many
  /// features for a flat input (an image may feed a dense layer), the very
  /// same image shape for an image input.
  ///
  /// - Throws: ``DatasetError/mismatch(source:reason:)`` saying what the
  ///   samples are and what the model takes.
  public func checkShape(for input: Shape) throws(DatasetError) {
    if input.isFlat {
      guard featureWidth == input.count else {
        throw .mismatch(
          source: source, reason: "samples have \(featureWidth) features but the model takes \(input.count) inputs")
      }
      return
    }
    guard !sampleShape.isFlat else {
      throw .mismatch(
        source: source,
        reason:
          "samples are flat rows of \(featureWidth) values but the model takes images of \(input) (channels × height × width); give images as IDX or .npy [N, C, H, W] or [N, H, W]"
      )
    }
    guard sampleShape == input else {
      throw .mismatch(
        source: source, reason: "samples are images of \(sampleShape) but the model takes images of \(input)")
    }
  }

  /// Checks that the data suits a model whose input is `input` and
  /// `outputs` outputs trained with `loss`.
  ///
  /// - Throws: ``DatasetError/mismatch(source:reason:)`` for an empty set, a
  ///   feature count that differs from the model's, a NaN or infinite
  ///   feature, or a target that is not a valid label.
  public func validate(input: Shape, outputs: Int, loss: Loss) throws(DatasetError) {
    guard count > 0 else { throw .mismatch(source: source, reason: "the data set is empty") }
    try checkShape(for: input)
    try checkFeaturesAreFinite()
    guard loss.accepts(outputs: outputs, targetWidth: targetWidth) else {
      let hint = loss == .softmaxCrossEntropy ? " (give class indices 0...\(outputs - 1), one per sample)" : ""
      throw .mismatch(
        source: labelSource ?? source,
        reason:
          "\(targetWidth) target value(s) per sample do not fit loss \(loss.rawValue) with \(outputs) outputs\(hint)")
    }
    let labels = labelSource ?? source
    if let bound = loss.labelBound(outputs: outputs, targetWidth: targetWidth) {
      if let index = targets.firstIndex(where: { !($0.isFinite && $0.rounded() == $0) }) {
        throw .mismatch(
          source: labels,
          reason:
            "label \(targets[index].messageText) of sample \(index / targetWidth) (0-based) is not a whole number: loss \(loss.rawValue) takes class labels 0...\(bound - 1) (for regression targets, give --loss mse)"
        )
      }
      if let index = targets.firstIndex(where: { !($0 >= 0 && $0 < Float(bound)) }) {
        let value = targets[index]
        let label =
          classNames.flatMap { names in Int(exactly: value).flatMap { names.indices.contains($0) ? names[$0] : nil } }
          .map { "'\(FilePath.printable($0))' (class \(value.messageText) of \(classNames!.count))" }
          ?? value.messageText
        throw .mismatch(
          source: labels,
          reason:
            "label \(label) of sample \(index / targetWidth) (0-based) is out of range: the model's \(outputs) output(s) with loss \(loss.rawValue) take labels 0...\(bound - 1)"
        )
      }
    } else if let index = targets.firstIndex(where: { !$0.isFinite }) {
      throw .mismatch(
        source: labels, reason: "target of sample \(index / targetWidth) (0-based) is \(targets[index])")
    }
  }
}
