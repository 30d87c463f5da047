/// The shape of one sample's values at some point of a network: channels ×
/// height × width, with flat vectors as `1 × 1 × width`.
///
/// Values are stored channel-major (channel, then row, then column), as
/// PyTorch stores a `[C, H, W]` tensor, so a flat view of an image is the
/// same memory.
public struct Shape: Sendable, Hashable, CustomStringConvertible {
  /// The number of channels (1 for a flat vector).
  public let channels: Int
  /// The number of rows of each channel (1 for a flat vector).
  public let height: Int
  /// The number of columns of each channel (the length of a flat vector).
  public let width: Int

  /// An image-like shape.
  public init(channels: Int, height: Int, width: Int) {
    self.channels = channels
    self.height = height
    self.width = width
  }

  /// A flat vector of `count` values.
  public init(flat count: Int) {
    self.init(channels: 1, height: 1, width: count)
  }

  /// Whether the shape is a flat vector.
  public var isFlat: Bool { channels == 1 && height == 1 }

  /// The number of values (the caller's model spec has checked it fits an `Int`).
  public var count: Int { channels * height * width }

  /// `784` for a flat vector, `1x28x28` otherwise: the model spec's form.
  public var description: String { isFlat ? String(width) : "\(channels)x\(height)x\(width)" }

  /// Reads the spec's form of an input shape: `784` (flat) or `1x28x28`
  /// (channels × height × width); `nil` when `text` is neither.
  ///
  /// - Throws: ``ModelSpecError`` when it is one of them but a size is not
  ///   positive or the whole does not fit a model.
  public init?(parsing text: String) throws(ModelSpecError) {
    let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
    guard parts.count == 1 || parts.count == 3,
      parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } })
    else { return nil }
    let sizes = parts.map { Int($0) }
    guard let values = sizes as? [Int], values.allSatisfy({ $0 > 0 }) else {
      throw .invalid("input shape '\(text)': every size must be a positive integer")
    }
    let (count, overflow) = values.reduce((1, false)) { partial, size in
      let product = partial.0.multipliedReportingOverflow(by: size)
      return (product.partialValue, partial.1 || product.overflow)
    }
    guard !overflow, count <= ModelSpec.maximumParameters else {
      throw .invalid("input shape '\(text)' has more than \(ModelSpec.maximumParameters) values per sample")
    }
    self = values.count == 1 ? Shape(flat: values[0]) : Shape(channels: values[0], height: values[1], width: values[2])
  }

  /// The JSON form: the width of a flat vector, `[channels, height, width]` otherwise.
  public var json: JSONValue {
    isFlat ? .integer(width) : .array([.integer(channels), .integer(height), .integer(width)])
  }
}
