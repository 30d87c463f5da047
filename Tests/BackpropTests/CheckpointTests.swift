import Backprop
import Foundation
import Synchronization
import Testing
import _BackpropTestSupport

/// Checkpoints and exact resume through the library. Serialized (trainers
/// with several workers share Dispatch's pool), and run again under the
/// thread sanitizer in CI.
@Suite(.serialized) struct CheckpointTests {
  static let spec = try! ModelSpec(parsing: "6-40-tanh-dropout0.2-20-relu-3")

  static func data() -> Dataset {
    var data = TestData(seed: 8)
    return data.classification(rows: 45, features: 6, classes: 3)
  }

  static func options(threads: Int, adam: Bool) -> TrainingOptions {
    var options = TrainingOptions()
    options.threads = threads
    options.batchSize = 8  // 6 batches per epoch, the last one short
    options.epochs = 3
    options.seed = 4
    options.minimumWorkPerThread = 0
    if adam {
      options.optimizer = OptimizerSettings(kind: .adamw, learningRate: 0.01)
      options.schedule = LearningRateSchedule(shape: .cosine(minimum: 0.001), warmupSteps: 2)
    } else {
      options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.1)
      options.optimizer.momentum = 0.9
    }
    return options
  }

  /// Trains, stopping after each of `stops` (optimizer steps) and resuming
  /// from the checkpoint in a fresh trainer and model, until the run ends.
  static func runWithStops(
    _ stops: [Int], options: TrainingOptions, folder: ScratchFolder, evaluation: Dataset? = nil
  ) throws -> (
    parameters: [Float], history: [EpochMetrics]
  ) {
    let data = Self.data()
    let path = folder.file("run.safetensors")
    var checkpoint: Checkpoint? = nil
    for stopAt in stops + [Int.max] {
      // After a stop, a different initialisation: everything must come from the checkpoint.
      let trainer = Trainer(
        model: Model(spec: spec, seed: checkpoint == nil ? 1 : UInt64(stopAt % 1000) + 100), training: data,
        options: options)
      if let checkpoint { trainer.restore(from: checkpoint) }
      let stop = StopRequest()
      let control = RunControl(
        checkpoint: { position, history in
          try! Checkpoint.write(
            trainer: trainer, position: position, history: history, data: DataIdentity(data), to: path)
        }, stop: stop)
      do {
        let history = try trainer.train(
          evaluation: evaluation, control: control, progress: { if $0.step == stopAt { stop.request() } })
        return (trainer.model.parameters.array, history)
      } catch TrainingError.interrupted(_, let steps) {
        #expect(steps == stopAt)
      }
      checkpoint = try Checkpoint.read(path)
      #expect(checkpoint?.position.steps == stopAt)
    }
    Issue.record("the run never ended")
    return ([], [])
  }

  @Test(arguments: [(1, false), (2, false), (1, true), (2, true)])
  func resumedRunEqualsUninterruptedBitwise(threads: Int, adam: Bool) throws {
    let folder = ScratchFolder()
    let options = Self.options(threads: threads, adam: adam)
    let whole = try Self.runWithStops([], options: options, folder: folder)
    // Stops mid-epoch (steps 3 and 8), at an epoch's end (12) and one step later.
    let resumed = try Self.runWithStops([3, 8, 12, 13], options: options, folder: folder)
    let identical = whole.parameters.map(\.bitPattern) == resumed.parameters.map(\.bitPattern)
    #expect(identical)
    #expect(whole.history.map(\.trainLoss) == resumed.history.map(\.trainLoss))
    #expect(resumed.history.map(\.epoch) == [1, 2, 3])
  }

  /// Validation data that the model overfits against quickly.
  static func validation() -> Dataset {
    var data = TestData(seed: 99)
    return data.classification(rows: 30, features: 6, classes: 3)
  }

  @Test func earlyStoppingEndsWithTheBestEpochsWeights() throws {
    var options = Self.options(threads: 1, adam: true)
    options.optimizer.learningRate = 0.05
    options.epochs = 30
    options.earlyStoppingPatience = 2
    options.schedule = LearningRateSchedule()  // the same rates whatever the run's length
    let trainer = Trainer(model: Model(spec: Self.spec, seed: 1), training: Self.data(), options: options)
    let history = try trainer.train(evaluation: Self.validation())
    let best = try #require(trainer.bestEpoch)
    #expect(history.count < 30 && history.count - best == 2)
    #expect(history[best - 1].evaluation!.loss == history.compactMap { $0.evaluation?.loss }.min())
    // The same run stopped by its epoch count at the best epoch has the same weights.
    options.earlyStoppingPatience = nil
    options.epochs = best
    let plain = Trainer(model: Model(spec: Self.spec, seed: 1), training: Self.data(), options: options)
    try plain.train()
    #expect(trainer.model.parameters.array == plain.model.parameters.array)
  }

  @Test func resumeWithEarlyStoppingIsExact() throws {
    let folder = ScratchFolder()
    var options = Self.options(threads: 1, adam: true)
    options.optimizer.learningRate = 0.05
    options.epochs = 30
    options.earlyStoppingPatience = 2
    let whole = try Self.runWithStops([], options: options, folder: folder, evaluation: Self.validation())
    let resumed = try Self.runWithStops([10, 20], options: options, folder: folder, evaluation: Self.validation())
    #expect(whole.parameters == resumed.parameters)
    #expect(whole.history.count == resumed.history.count)
    // Resuming the checkpoint of a run that early stopping ended trains no more.
    let finished = try Checkpoint.read(folder.file("run.safetensors"))
    let trainer = Trainer(model: Model(spec: Self.spec, seed: 77), training: Self.data(), options: options)
    trainer.restore(from: finished)
    let history = try trainer.train(evaluation: Self.validation())
    #expect(trainer.stepsTaken == finished.position.steps && history.count == whole.history.count)
    #expect(trainer.model.parameters.array == whole.parameters)
  }

  @Test func checkpointHoldsEverythingAndPyTorchNames() throws {
    let folder = ScratchFolder()
    let data = Self.data()
    let options = Self.options(threads: 1, adam: true)
    let trainer = Trainer(model: Model(spec: Self.spec, seed: 1), training: data, options: options)
    let path = folder.file("c.safetensors")
    try trainer.train(
      control: RunControl(checkpoint: { position, history in
        try! Checkpoint.write(
          trainer: trainer, position: position, history: history, data: DataIdentity(data),
          metadata: ["note": "kept"], to: path)
      }))
    let contents = try Safetensors.read(path)
    let names = Set(contents.tensors.map(\.name))
    for name in ["0.weight", "0.bias", "3.weight", "5.bias"] {
      #expect(names.contains(name))
      #expect(names.contains("optimizer.exp_avg.\(name)"))
      #expect(names.contains("optimizer.exp_avg_sq.\(name)"))
    }
    let checkpoint = try Checkpoint.read(path)
    #expect(checkpoint.position.epoch == 3 && checkpoint.position.batch == 0 && checkpoint.position.steps == 18)
    #expect(checkpoint.options == options)
    #expect(checkpoint.history.count == 3)
    #expect(checkpoint.metadata["note"] == "kept")
    #expect(checkpoint.data == DataIdentity(data))
    #expect(checkpoint.parameters == trainer.model.parameters.array)
    #expect(checkpoint.optimizerState.count == 2)
    #expect(
      checkpoint.conflicts(spec: Self.spec, loss: .softmaxCrossEntropy, options: options, data: DataIdentity(data))
        .isEmpty)
    // The weights loader takes a checkpoint's parameters and leaves its optimizer state.
    let model = try Model.load(from: path)
    #expect(model.parameters.array == checkpoint.parameters)
  }

  @Test func conflictsNameWhatDiffers() throws {
    let data = Self.data()
    let options = Self.options(threads: 1, adam: false)
    let trainer = Trainer(model: Model(spec: Self.spec), training: data, options: options)
    let folder = ScratchFolder()
    let path = folder.file("c.safetensors")
    try Checkpoint.write(
      trainer: trainer, position: TrainingPosition(), history: [], data: DataIdentity(data), to: path)
    let checkpoint = try Checkpoint.read(path)
    var changed = options
    changed.optimizer.learningRate = 0.2
    changed.epochs = 9  // may change
    changed.threads = 2  // may change
    var other = data
    other.features[0] += 1
    let conflicts = checkpoint.conflicts(
      spec: try ModelSpec(parsing: "6-8-relu-3"), loss: .softmaxCrossEntropy, options: changed,
      data: DataIdentity(other))
    #expect(conflicts.count == 3, "\(conflicts)")
    #expect(conflicts.contains { $0.hasPrefix("model:") })
    #expect(conflicts.contains { $0.hasPrefix("learning rate:") && $0.contains("0.2") })
    #expect(conflicts.contains { $0.hasPrefix("data:") && $0.contains("checksum") })
  }

  @Test func divergenceStopsWithoutApplyingTheStep() throws {
    let data = Self.data()
    for threads in [1, 2] {
      var options = Self.options(threads: threads, adam: false)
      options.optimizer.learningRate = 1e30
      let trainer = Trainer(model: Model(spec: Self.spec, seed: 2), training: data, options: options)
      var checkpoints = 0
      var parametersAtLastCheckpoint: [Float] = []
      #expect(throws: TrainingError.self) {
        try trainer.train(
          control: RunControl(
            checkpointEverySteps: 1,
            checkpoint: { _, _ in
              checkpoints += 1
              parametersAtLastCheckpoint = trainer.model.parameters.array
            }))
      }
      // No checkpoint ever held non-finite weights.
      #expect(parametersAtLastCheckpoint.allSatisfy { $0.isFinite })
      #expect(trainer.model.parameters.array.allSatisfy { $0.isFinite })
      #expect(checkpoints < 18)
    }
  }

  @Test(arguments: [1, 2])
  func nonFiniteGradientStopsOrIsSkippedWhole(threads: Int) throws {
    // Features near Float's largest value through ReLU: the loss stays finite
    // but the first layer's weight gradient (a sum over the batch) overflows.
    var generator = TestData(seed: 5)
    var data = generator.classification(rows: 48, features: 4, classes: 3)
    for row in 0..<data.count { data.features[row * 4] = 3e38 }
    let spec = try ModelSpec(parsing: "4-16-relu-3")
    var options = Self.options(threads: threads, adam: false)
    let stopping = Trainer(model: Model(spec: spec, seed: 3), training: data, options: options)
    #expect(throws: TrainingError.diverged(epoch: 1, step: 1, what: "gradient")) { try stopping.train() }
    #expect(stopping.model.parameters.array.allSatisfy { $0.isFinite })
    options.onNonFinite = .skipBatch
    let skipping = Trainer(model: Model(spec: spec, seed: 3), training: data, options: options)
    let before = skipping.model.parameters.array
    // Every batch skipped: the run ends as divergence does, nothing applied.
    #expect(throws: TrainingError.mostBatchesSkipped(epoch: 1, skipped: 6, batches: 6)) { try skipping.train() }
    #expect(skipping.model.parameters.array == before)
  }

  /// A non-finite gradient stops the run in the step where it happens:
  /// no worker computes anything of a later step (a layer of the test's own
  /// counts the forward passes: one per worker's shard of the first step).
  /// The gradient overflows in the last layer, whose slice a worker other
  /// than the leader owns, so the leader learns of it only at the next barrier.
  @Test func aNonFiniteGradientIsFoundBeforeAnyLaterStepIsComputed() throws {
    var generator = TestData(seed: 5)
    var data = generator.classification(rows: 48, features: 4, classes: 3)
    for row in 0..<data.count {
      data.features[row * 4] = 1
      data.targets[row] = 0
    }
    let counter = PassCounter()
    let spec = try ModelSpec(
      inputWidth: 4,
      layers: [CountingLayer(counter: counter), Dense(inputs: 4, outputs: 16), Dense(inputs: 16, outputs: 3)])
    let model = Model(spec: spec, seed: 3)
    // Hidden unit 0 is 3e38 on every row and the last layer ignores it: the
    // loss is finite, but its weights' gradient, Σ over rows of δ · 3e38
    // (every δ of one sign, all rows of one class), overflows.
    let first = model.network.layout.offset(ofLayer: 1)
    let last = model.network.layout.offset(ofLayer: 2)
    model.parameters.base[first] = 3e38
    for unit in 0..<3 { model.parameters.base[last + unit * 16] = 0 }
    let trainer = Trainer(model: model, training: data, options: Self.options(threads: 2, adam: false))
    #expect(trainer.slices.slices[1].contains { $0.layer == 2 })
    #expect(throws: TrainingError.diverged(epoch: 1, step: 1, what: "gradient")) { try trainer.train() }
    #expect(counter.forwards.load(ordering: .relaxed) == 2, "\(trainer.executionMode)")
  }

  @Test func skipBatchGoesOnPastNonFiniteBatches() throws {
    var data = Self.data()
    // One sample with an infinite feature: every batch holding it has a non-finite loss.
    data.features[6 * 10] = .infinity
    var options = Self.options(threads: 2, adam: false)
    options.onNonFinite = .skipBatch
    let trainer = Trainer(model: Model(spec: Self.spec, seed: 2), training: data, options: options)
    let history = try trainer.train()
    #expect(history.map(\.skippedBatches) == [1, 1, 1])
    #expect(trainer.stepsTaken == 15)
    #expect(trainer.model.parameters.array.allSatisfy { $0.isFinite })
  }
}

/// Counts forward passes (from any worker).
final class PassCounter: Sendable {
  let forwards = Atomic<Int>(0)
}

/// The identity, counting its forward passes: a layer defined outside the
/// library, as a user would write one.
struct CountingLayer: Layer {
  let counter: PassCounter
  static let jsonKey = "counting"
  static func parse(token: String, input: Shape) throws(ModelSpecError) -> CountingLayer? { nil }
  static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> CountingLayer {
    throw .invalid("a counting layer is made in code")
  }
  var description: String { "counting" }
  var jsonValue: JSONValue { .null }
  func outputShape(input: Shape) throws(ModelSpecError) -> Shape { input }
  func flops(input: Shape) -> LayerFLOPs { LayerFLOPs(forward: 0, inputGradient: 0) }
  var worksInPlace: Bool { false }
  func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    counter.forwards.add(1, ordering: .relaxed)
    buffers.output.update(from: buffers.input, count: rows.count * buffers.inputShape.count)
  }
  func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    buffers.inputGradient.update(from: buffers.outputGradient, count: rows.count * buffers.inputShape.count)
  }
}
