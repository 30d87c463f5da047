import Backprop
import Testing
import _BackpropTestSupport

/// `--augment`: crops and flips as torchvision draws them, per sample and
/// epoch, whatever the workers.
@Suite struct AugmentationTests {
  @Test func readsAndWritesItsForm() {
    #expect(Augmentation(parsing: "crop4,flip") == Augmentation(cropPadding: 4, flip: true))
    #expect(Augmentation(parsing: "flip, crop2")?.description == "crop2,flip")
    for bad in ["", "crop", "crop0", "crop-1", "flip,flip", "rotate", "crop4,", "crop4x"] {
      #expect(Augmentation(parsing: bad) == nil, "\(bad)")
    }
  }

  /// Every crop is the image padded with zeros and cut back to its size at
  /// some corner within the padding, mirrored or not: checked against the
  /// padded image built here, over many draws, which also reach every shift
  /// and both flips.
  @Test func eachDrawIsAPaddedCropOfTheImageMirroredOrNot() {
    let shape = Shape(channels: 2, height: 5, width: 6)
    let image = (0..<shape.count).map { Float($0 + 1) }
    let augmentation = Augmentation(cropPadding: 2, flip: true)
    var shifts = Set<[Int]>()
    var flips = Set<Bool>()
    for sample in 0..<400 {
      var copy = image
      augmentation.apply(to: &copy, shape: shape, seed: 7, epoch: 3, sample: sample)
      var found: (Int, Int, Bool)? = nil
      search: for flipped in [false, true] {
        for down in -2...2 {
          for right in -2...2 where Self.crop(image, shape, down, right, flipped) == copy {
            found = (down, right, flipped)
            break search
          }
        }
      }
      guard let (down, right, flipped) = found else {
        Issue.record("sample \(sample): not a crop of the padded image")
        return
      }
      shifts.insert([down, right])
      flips.insert(flipped)
    }
    #expect(shifts.count == 25)
    #expect(flips == [false, true])
  }

  /// The image mirrored (or not), padded with 2 zeros and cut at (2 + down, 2 + right).
  static func crop(_ image: [Float], _ shape: Shape, _ down: Int, _ right: Int, _ flipped: Bool) -> [Float] {
    var result: [Float] = []
    for c in 0..<shape.channels {
      for y in 0..<shape.height {
        for x in 0..<shape.width {
          let (sy, sx) = (y + down, x + right)
          guard sy >= 0, sy < shape.height, sx >= 0, sx < shape.width else {
            result.append(0)
            continue
          }
          let column = flipped ? shape.width - 1 - sx : sx
          result.append(image[(c * shape.height + sy) * shape.width + column])
        }
      }
    }
    return result
  }

  @Test func drawsDependOnSampleAndEpochOnly() {
    let shape = Shape(channels: 1, height: 8, width: 8)
    let image = (0..<64).map { Float($0) }
    func draw(epoch: Int, sample: Int, seed: UInt64 = 1) -> [Float] {
      var copy = image
      Augmentation(cropPadding: 3, flip: true).apply(to: &copy, shape: shape, seed: seed, epoch: epoch, sample: sample)
      return copy
    }
    #expect(draw(epoch: 0, sample: 5) == draw(epoch: 0, sample: 5))
    #expect((0..<10).contains { draw(epoch: $0, sample: 5) != draw(epoch: 0, sample: 5) })
    #expect((0..<10).contains { draw(epoch: 0, sample: $0) != draw(epoch: 0, sample: 0) })
    #expect((1..<10).contains { draw(epoch: 0, sample: 5, seed: $0) != draw(epoch: 0, sample: 5) })
  }

  /// With `reproducible`, an augmented run is bitwise the same at 1, 2 and 3
  /// workers; and augmentation changes what is learned.
  @Test func augmentedRunsDoNotDependOnTheWorkers() throws {
    var generator = TestData(seed: 12)
    var data = generator.classification(rows: 40, features: 2 * 6 * 6, classes: 3)
    data.sampleShape = Shape(channels: 2, height: 6, width: 6)
    let spec = try ModelSpec(parsing: "2x6x6-conv3k3p1-relu-maxpool2-flatten-3")
    func run(threads: Int, augmentation: Augmentation?) throws -> [UInt32] {
      var options = TrainingOptions()
      (options.threads, options.batchSize, options.epochs, options.reproducible) = (threads, 16, 3, true)
      (options.minimumWorkPerThread, options.augmentation) = (0, augmentation)
      options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.1)
      let trainer = Trainer(model: Model(spec: spec, seed: 1), training: data, options: options)
      try trainer.train()
      return trainer.model.parameters.array.map(\.bitPattern)
    }
    let augmentation = Augmentation(cropPadding: 1, flip: true)
    let one = try run(threads: 1, augmentation: augmentation)
    #expect(try run(threads: 2, augmentation: augmentation) == one)
    #expect(try run(threads: 3, augmentation: augmentation) == one)
    #expect(try run(threads: 1, augmentation: nil) != one)
  }
}
