/// Random changes to training images, drawn afresh for every sample in
/// every epoch, as torchvision's `RandomCrop(size, padding=P)` and
/// `RandomHorizontalFlip()`: written `crop4,flip` (`--augment`).
///
/// Each sample's draw depends only on the run's seed, the epoch and the
/// sample's index in the training set, so it does not depend on the batch,
/// the worker that gathers it, or how many workers there are.
public struct Augmentation: Sendable, Hashable, CustomStringConvertible {
  /// Zeros added around the image before a crop of its own size at a
  /// random place (a shift of up to this many pixels each way); 0 for none.
  public var cropPadding: Int
  /// Whether half the images are mirrored left to right.
  public var flip: Bool

  /// Augmentation with a crop of `cropPadding` and, with `flip`, mirroring.
  public init(cropPadding: Int = 0, flip: Bool = false) {
    self.cropPadding = cropPadding
    self.flip = flip
  }

  /// Reads `crop4,flip` (either part alone, in any order); `nil` for anything else.
  public init?(parsing text: String) {
    var result = Augmentation()
    let parts = text.lowercased().split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingWhitespace()
    }
    guard !parts.isEmpty, Set(parts).count == parts.count else { return nil }
    for part in parts {
      if part == "flip" {
        result.flip = true
      } else if part.hasPrefix("crop"), let padding = Int(part.dropFirst(4)), padding > 0, padding <= 1 << 20 {
        result.cropPadding = padding
      } else {
        return nil
      }
    }
    self = result
  }

  /// The form ``init(parsing:)`` reads.
  public var description: String {
    ((cropPadding > 0 ? ["crop\(cropPadding)"] : []) + (flip ? ["flip"] : [])).joined(separator: ",")
  }

  /// Why images of `shape` cannot be augmented so, or `nil`.
  public func problem(for shape: Shape) -> String? {
    if shape.isFlat { return "needs images (a model whose spec starts with a shape such as 1x28x28)" }
    if cropPadding >= min(shape.height, shape.width) {
      return "shifts images by up to \(cropPadding) pixels, as much as their side (\(shape.height)×\(shape.width))"
    }
    return nil
  }

  /// Changes one image of `shape` in place as drawn for the sample `sample`
  /// of epoch `epoch` in a run seeded `seed`.
  public func apply(to image: UnsafeMutablePointer<Float>, shape: Shape, seed: UInt64, epoch: Int, sample: Int) {
    let key = CounterHash.mix(seed, RandomStream.augmentation << 32 | UInt64(truncatingIfNeeded: epoch), UInt64(sample))
    let span = 2 * cropPadding + 1
    // The crop's corner in the padded image, as RandomCrop draws it: a shift of −P…P.
    let down = cropPadding > 0 ? min(Int(CounterHash.unitFloat(key, 0) * Float(span)), span - 1) - cropPadding : 0
    let right = cropPadding > 0 ? min(Int(CounterHash.unitFloat(key, 1) * Float(span)), span - 1) - cropPadding : 0
    let mirrored = flip && CounterHash.unitFloat(key, 2) < 0.5
    let (height, width) = (shape.height, shape.width)
    for channel in 0..<shape.channels {
      let plane = image + channel * height * width
      if mirrored {
        for y in 0..<height {
          let line = plane + y * width
          for x in 0..<(width / 2) { line.swapAt(x, width - 1 - x) }
        }
      }
      guard down != 0 || right != 0 else { continue }
      // In place: walk away from where values come from, so none is read after it is overwritten.
      for step in 0..<height {
        let y = down > 0 ? step : height - 1 - step
        let line = plane + y * width
        let source = y + down
        for column in 0..<width {
          let x = right > 0 ? column : width - 1 - column
          let from = x + right
          line[x] = source >= 0 && source < height && from >= 0 && from < width ? plane[source * width + from] : 0
        }
      }
    }
  }
}

extension UnsafeMutablePointer {
  /// Swaps the elements at `i` and `j`.
  fileprivate func swapAt(_ i: Int, _ j: Int) {
    let value = self[i]
    self[i] = self[j]
    self[j] = value
  }
}
