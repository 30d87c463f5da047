import Backprop
import Testing
import _BackpropTestSupport

@Suite struct SeededGeneratorTests {
  static let reference: [(UInt64, [UInt64])] = [
    (
      0, [11_091_344_671_253_066_420, 13_793_997_310_169_335_082, 1_900_383_378_846_508_768, 7_684_712_102_626_143_532]
    ),
    (
      42,
      [1_546_998_764_402_558_742, 6_990_951_692_964_543_102, 12_544_586_762_248_559_009, 17_057_574_109_182_124_193]
    ),
  ]

  @Test(arguments: reference)
  func matchesTheReferenceImplementation(seed: UInt64, expected: [UInt64]) {
    // Expected values from tools/reference_rng.py, an independent implementation.
    var generator = SeededGenerator(seed: seed)
    #expect((0..<4).map { _ in generator.next() } == expected)
  }

  @Test func shuffleIsAPermutationAndDependsOnTheSeed() {
    var a = Array(0..<1000)
    var b = Array(0..<1000)
    var first = SeededGenerator(seed: 1)
    var second = SeededGenerator(seed: 2)
    first.shuffle(&a)
    second.shuffle(&b)
    #expect(a.sorted() == Array(0..<1000))
    #expect(a != b)
  }

  @Test func normalDrawsHaveUnitVariance() {
    var generator = SeededGenerator(seed: 9)
    let draws = (0..<100_000).map { _ in generator.normal() }
    let mean = draws.reduce(0, +) / Double(draws.count)
    let variance = draws.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(draws.count)
    #expect(abs(mean) < 0.02)
    #expect(abs(variance - 1) < 0.02)
  }
}

@Suite struct ShardPlanTests {
  @Test(arguments: [(128, 1), (128, 3), (5, 8), (1, 4), (1000, 7), (17, 17)])
  func shardsCoverTheBatchAndDifferByAtMostOne(rows: Int, workers: Int) {
    let plan = ShardPlan(rows: rows, workers: workers)
    #expect(plan.shardCount == min(rows, workers))
    let ranges = (0..<plan.shardCount).map(plan.range(of:))
    #expect(ranges.first?.lowerBound == 0)
    #expect(ranges.last?.upperBound == rows)
    for (a, b) in zip(ranges, ranges.dropFirst()) { #expect(a.upperBound == b.lowerBound) }
    let sizes = ranges.map(\.count)
    #expect(sizes.max()! - sizes.min()! <= 1)
    #expect(sizes.max()! <= ShardPlan.largestShard(rows: rows, workers: workers))
  }
}

@Suite struct DropoutTests {
  let spec = try! ModelSpec(parsing: "6-dropout0.4-6")

  func output(rows: Range<Int>, seed: UInt64, step: Int) -> [Float] {
    let model = Model(spec: spec, seed: 1)
    let workspace = Workspace<Float>(spec: spec, capacity: rows.upperBound)
    for row in rows {
      for j in 0..<6 { workspace.input.base[row * 6 + j] = Float(row + j) }
    }
    let out = model.network.forward(
      parameters: model.parameters.base, workspace: workspace, rows: rows, mode: .training(seed: seed, step: step))
    return Array(UnsafeBufferPointer(start: out, count: rows.count * 6))
  }

  @Test func masksDoNotDependOnHowTheBatchIsSplit() {
    let whole = output(rows: 0..<8, seed: 3, step: 5)
    let halves = output(rows: 0..<3, seed: 3, step: 5) + output(rows: 3..<8, seed: 3, step: 5)
    #expect(whole == halves)
    #expect(whole != output(rows: 0..<8, seed: 3, step: 6))
    #expect(whole != output(rows: 0..<8, seed: 4, step: 5))
  }

  @Test func dropsTheRateAndRescalesTheRest() throws {
    let spec = try ModelSpec(parsing: "1000-dropout0.3-1")
    let model = Model(spec: spec)
    let workspace = Workspace<Float>(spec: spec, capacity: 20)
    workspace.input.base.update(repeating: 1, count: 20_000)
    model.network.forward(
      parameters: model.parameters.base, workspace: workspace, rows: 20, mode: .training(seed: 0, step: 0))
    let mask = try #require(dropoutOutput(model: model, workspace: workspace, rows: 20))
    let zeros = mask.filter { $0 == 0 }.count
    #expect(abs(Double(zeros) / 20_000 - 0.3) < 0.02)
    #expect(mask.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-5 })
  }

  /// The dropout layer's output, recovered as the gradient of Σ outputs with
  /// respect to the input divided by the dense weight (one output).
  func dropoutOutput(model: Model, workspace: Workspace<Float>, rows: Int) -> [Float]? {
    let layout = model.network.layout
    var gradient = [Float](repeating: 0, count: layout.totalCount)
    var inputGradient = [Float](repeating: 0, count: rows * 1000)
    workspace.outputGradient.update(repeating: 1, count: rows)
    model.network.backward(
      parameters: model.parameters.base, gradient: &gradient, workspace: workspace, rows: rows,
      inputGradient: &inputGradient)
    // dL/dx[row, j] = W[j] · mask[row, j].
    let weights = Array(model.parameters.pointer[0..<1000])
    return (0..<(rows * 1000)).map { inputGradient[$0] / weights[$0 % 1000] }
  }

  @Test func inferenceIsTheIdentity() throws {
    let spec = try ModelSpec(parsing: "4-dropout0.5-4")
    let model = Model(spec: spec, seed: 2)
    let noDropout = Model(spec: try ModelSpec(parsing: "4-4"), parameters: model.parameters.array)
    let data = Dataset(
      features: [1, 2, 3, 4, 5, 6, 7, 8], featureWidth: 4, targets: [0, 1], targetWidth: 1, source: "t")
    #expect(model.outputs(for: data) == noDropout.outputs(for: data))
  }
}

extension Model {
  convenience init(spec: ModelSpec, parameters: [Float]) {
    self.init(spec: spec, loss: nil, parameters: parameters)
  }
}

@Suite struct TrainerTests {
  func train(seed: UInt64, threads: Int = 1) -> [Float] {
    var data = TestData(seed: 4)
    let set = data.classification(rows: 50, features: 5, classes: 3)
    let model = Model(spec: try! ModelSpec(parsing: "5-8-relu-dropout0.2-3"), seed: seed)
    var options = TrainingOptions()
    options.epochs = 3
    options.batchSize = 8
    options.seed = seed
    options.threads = threads
    options.minimumWorkPerThread = 0
    options.optimizer = OptimizerSettings(kind: .adam, learningRate: 0.01)
    _ = try! Trainer(model: model, training: set, options: options).train()
    return model.parameters.array
  }

  @Test func sameSeedGivesBitwiseIdenticalWeights() {
    let first = train(seed: 7)
    #expect(first.map(\.bitPattern) == train(seed: 7).map(\.bitPattern))
    #expect(first != train(seed: 8))
  }

  @Test func workerCountChangesOnlyTheOrderOfAdditions() {
    // The mean over the batch is exact for any split; results differ by rounding only.
    let one = train(seed: 7, threads: 1)
    let three = train(seed: 7, threads: 3)
    #expect(normRelativeError(three, one) < 1e-4)
  }

  @Test func divergenceStopsWithAClearError() throws {
    var data = TestData(seed: 4)
    let set = data.classification(rows: 32, features: 5, classes: 3)
    let model = Model(spec: try ModelSpec(parsing: "5-16-relu-3"))
    var options = TrainingOptions()
    options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 1e30)
    let trainer = Trainer(model: model, training: set, options: options)
    #expect(throws: TrainingError.self) { try trainer.train() }
  }

  @Test func warmupClimbsLinearlyToTheBaseRate() {
    let schedule = LearningRateSchedule(shape: .constant, warmupSteps: 4)
    let rates = (0..<6).map { schedule.learningRate(base: 0.8, step: $0, epoch: 0, totalSteps: 10) }
    #expect(rates == [0.2, 0.4, 0.6000000000000001, 0.8, 0.8, 0.8])
  }

  /// A step gathers the rows it is given, in their order, whatever the
  /// input width (whole vectors of 8 floats or not) and the batch size
  /// (groups of four rows or not): the same step on those rows laid out in
  /// order as a set of their own gives bitwise the same weights.
  @Test(arguments: [(13, 7), (16, 9), (4, 5), (21, 12), (784, 8)])
  func stepGathersTheRowsItIsGiven(width: Int, batch: Int) {
    var data = TestData(seed: 9)
    let set = data.classification(rows: 30, features: width, classes: 3)
    let picked = (0..<batch).map { (7 * $0 + 3) % 30 }  // scattered and out of order
    func stepped(on dataset: Dataset, indices: [Int]) -> [UInt32] {
      let model = Model(spec: try! ModelSpec(parsing: "\(width)-6-relu-3"), seed: 1)
      var options = TrainingOptions()
      options.batchSize = batch
      options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.1)
      let trainer = Trainer(model: model, training: dataset, options: options)
      indices.withUnsafeBufferPointer { _ = trainer.step(samples: $0, learningRate: 0.1) }
      return model.parameters.array.map(\.bitPattern)
    }
    let scattered = stepped(on: set, indices: picked)
    #expect(scattered == stepped(on: set.subset(picked), indices: Array(0..<batch)))
    #expect(scattered != stepped(on: set, indices: Array(0..<batch)))
  }

  @Test func stepsLimitStopsTraining() throws {
    var data = TestData(seed: 4)
    let set = data.classification(rows: 40, features: 5, classes: 3)
    var options = TrainingOptions()
    options.batchSize = 4
    options.maximumSteps = 13
    let trainer = Trainer(model: Model(spec: try ModelSpec(parsing: "5-3")), training: set, options: options)
    let history = try trainer.train()
    #expect(trainer.stepsTaken == 13)
    #expect(history.count == 2)
  }
}
