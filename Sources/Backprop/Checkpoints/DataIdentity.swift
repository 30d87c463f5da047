/// What a run trained on, as a checkpoint records it: where the data came
/// from, its size, and a checksum of every value, so a resume against other
/// data (a changed file, another split or scaling) is caught.
public struct DataIdentity: Sendable, Hashable {
  /// Where the data came from (a path or a named set), for messages.
  public var source: String
  /// The number of samples.
  public var samples: Int
  /// The features per sample.
  public var featureWidth: Int
  /// The target values per sample.
  public var targetWidth: Int
  /// CRC-32 of the features' then the targets' bytes, as 8 hex digits.
  public var checksum: String

  /// The identity of `data` as it is trained on (after any split and scaling).
  public init(_ data: Dataset) {
    var crc = CRC32()
    crc.add(contentsOf: data.features)
    crc.add(contentsOf: data.targets)
    self.init(
      source: data.source, samples: data.count, featureWidth: data.featureWidth, targetWidth: data.targetWidth,
      checksum: crc.hex)
  }

  /// An identity from its parts.
  public init(source: String, samples: Int, featureWidth: Int, targetWidth: Int, checksum: String) {
    self.source = source
    self.samples = samples
    self.featureWidth = featureWidth
    self.targetWidth = targetWidth
    self.checksum = checksum
  }

  /// How `other` differs from this identity, in words; `nil` when it is the
  /// same data (the source may have moved).
  public func difference(from other: DataIdentity) -> String? {
    if samples != other.samples || featureWidth != other.featureWidth || targetWidth != other.targetWidth {
      return "the checkpoint trained on \(samples) samples of \(featureWidth) features (\(source)), "
        + "this data has \(other.samples) of \(other.featureWidth) (\(other.source))"
    }
    if checksum != other.checksum {
      return "the checkpoint trained on other values than these (checksum \(checksum) of \(source), "
        + "now \(other.checksum) of \(other.source)): the file, the split or the scaling changed"
    }
    return nil
  }

  /// The identity, as written in a checkpoint.
  public var json: JSONValue {
    .object([
      ("source", .string(source)), ("samples", .integer(samples)), ("feature_width", .integer(featureWidth)),
      ("target_width", .integer(targetWidth)), ("crc32", .string(checksum)),
    ])
  }

  /// Reads ``json``; `nil` if it is malformed.
  public init?(json: JSONValue) {
    guard let source = json["source"]?.stringValue, let samples = json["samples"]?.integerValue,
      let featureWidth = json["feature_width"]?.integerValue, let targetWidth = json["target_width"]?.integerValue,
      let checksum = json["crc32"]?.stringValue
    else { return nil }
    self.init(
      source: source, samples: samples, featureWidth: featureWidth, targetWidth: targetWidth, checksum: checksum)
  }
}
