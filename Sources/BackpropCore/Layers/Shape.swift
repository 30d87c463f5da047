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
}
