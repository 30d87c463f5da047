import Backprop
import Dispatch
import Testing
import _BackpropTestSupport

/// The data-parallel engine: the step's mean gradient, slices, equivalence
/// across worker counts, determinism, binding. Serialized, so that its trainers do not
/// compete for Dispatch's pool with each other (CI also runs this suite alone
/// under the thread sanitizer).
@Suite(.serialized) struct ParallelEngineTests {
  // Wide enough that slices cut layers between units (groups of 16) with 3 and 5 workers.
  static let spec = try! ModelSpec(parsing: "6-40-tanh-dropout0.2-20-relu-3")

  static func data(rows: Int = 45) -> Dataset {
    var data = TestData(seed: 21)
    return data.classification(rows: rows, features: 6, classes: 3)
  }

  static func trainer(
    threads: Int, settings: OptimizerSettings, data: Dataset, batch: Int, seed: UInt64 = 5,
    strategy: GradientStrategy = .unitSlices
  ) -> Trainer {
    var options = TrainingOptions()
    options.gradients = strategy
    options.threads = threads
    options.batchSize = batch
    options.optimizer = settings
    options.seed = seed
    options.epochs = 3
    options.minimumWorkPerThread = 0  // tiny models, many workers: the engine is what is tested
    return Trainer(model: Model(spec: spec, seed: seed), training: data, options: options)
  }

  @Test(arguments: GradientStrategy.allCases, [1, 2, 3, 5])
  func stepAppliesTheMeanOfTheShardsGradients(strategy: GradientStrategy, threads: Int) throws {
    let data = Self.data()
    let batch = Array(0..<13)
    // lr = 1, plain SGD: the step subtracts exactly the averaged gradient.
    let trainer = Self.trainer(
      threads: threads, settings: OptimizerSettings(kind: .sgd, learningRate: 1), data: data, batch: 13,
      strategy: strategy)
    let before = trainer.model.parameters.array
    batch.withUnsafeBufferPointer { _ = trainer.step(samples: $0, learningRate: 1) }
    let applied = zip(before, trainer.model.parameters.array).map { $0 - $1 }

    // The same average built by hand: each shard's gradient on its own, in a
    // workspace where no other row is filled, summed in shard order.
    let network = trainer.model.network
    let plan = ShardPlan(rows: 13, workers: threads)
    var sum = [Float](repeating: 0, count: before.count)
    for shard in 0..<plan.shardCount {
      let range = plan.range(of: shard)
      let workspace = Workspace<Float>(spec: Self.spec, capacity: 13)
      for row in range {
        for j in 0..<6 { workspace.input.base[row * 6 + j] = data.features[row * 6 + j] }
      }
      let targets = Array(data.targets[range])
      let logits = network.forward(
        parameters: before, workspace: workspace, rows: range, mode: .training(seed: 5, step: 0))
      _ = Loss.softmaxCrossEntropy.evaluate(
        logits: logits, targets: targets, rows: range.count, outputs: 3, targetWidth: 1,
        gradient: workspace.outputGradient + range.lowerBound * 3)
      network.backpropagateDeltas(parameters: before, workspace: workspace, rows: range)
      var gradient = [Float](repeating: 0, count: before.count)
      for (index, layer) in Self.spec.layers.enumerated() {
        guard let dense = layer as? Dense else { continue }
        network.parameterGradients(
          workspace: workspace, rows: 13, layer: index, units: 0..<dense.outputs, scale: 1, into: &gradient)
      }
      for i in sum.indices { sum[i] += gradient[i] }
    }
    #expect(sum.contains { $0 != 0 })
    #expect(normRelativeError(applied, sum.map { $0 / 13 }) < 1e-5)
  }

  @Test(arguments: GradientStrategy.allCases, [2, 3])
  func stepsWithSeveralWorkersMatchOneWorker(strategy: GradientStrategy, threads: Int) throws {
    let data = Self.data()
    var settings = OptimizerSettings(kind: .adam, learningRate: 0.01)
    settings.weightDecay = 0.01
    let one = Self.trainer(threads: 1, settings: settings, data: data, batch: 16)
    let many = Self.trainer(threads: threads, settings: settings, data: data, batch: 16, strategy: strategy)
    for trainer in [one, many] { try trainer.train() }
    #expect(normRelativeError(many.model.parameters.array, one.model.parameters.array) < 1e-5)
  }

  @Test(arguments: GradientStrategy.allCases, [1, 2, 3])
  func sameWorkerCountIsBitwiseReproducible(strategy: GradientStrategy, threads: Int) throws {
    var settings = OptimizerSettings(kind: .sgd, learningRate: 0.1)
    settings.momentum = 0.9
    var evaluations: [[EpochMetrics]] = []
    let runs = try (0..<2).map { _ in
      let trainer = Self.trainer(
        threads: threads, settings: settings, data: Self.data(), batch: 8, strategy: strategy)
      // Evaluation at each epoch's end reads the parameters while the workers wait.
      evaluations.append(try trainer.train(evaluation: Self.data(rows: 30)))
      return trainer.model.parameters.array.map(\.bitPattern)
    }
    #expect(runs[0] == runs[1])
    #expect(evaluations[0].map(\.evaluation) == evaluations[1].map(\.evaluation))
    #expect(evaluations[0].count == 3)
  }

  @Test func clippingAndShortBatchesAgreeAcrossWorkerCountsAndStrategies() throws {
    // 45 samples in batches of 16: the last batch has 13; with 16 workers it has fewer rows than workers.
    var options = TrainingOptions()
    options.minimumWorkPerThread = 0
    options.batchSize = 16
    options.epochs = 2
    options.clipGradientNorm = 0.05
    options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.5)
    var results: [[Float]] = []
    for strategy in GradientStrategy.allCases {
      for threads in [1, 2, 3, 16] {
        options.threads = threads
        options.gradients = strategy
        let trainer = Trainer(model: Model(spec: Self.spec, seed: 1), training: Self.data(), options: options)
        try trainer.train()
        results.append(trainer.model.parameters.array)
      }
    }
    #expect(results.count == 8)
    for result in results.dropFirst() { #expect(normRelativeError(result, results[0]) < 1e-5) }
  }

  /// `reproducible` gives bitwise-equal weights and losses for any number of
  /// workers, with clipping, Adam, dropout and a short last batch (300
  /// samples in batches of 128: four logical shards, the last batch's of 11
  /// rows), with more workers than logical shards too.
  @Test func reproducibleRunsAreBitwiseEqualForAnyWorkerCount() throws {
    var options = TrainingOptions()
    options.reproducible = true
    (options.batchSize, options.epochs, options.minimumWorkPerThread) = (128, 3, 0)
    options.clipGradientNorm = 0.5
    options.optimizer = OptimizerSettings(kind: .adam, learningRate: 0.01)
    var weights: [[UInt32]] = []
    var losses: [[Double]] = []
    for threads in [1, 2, 3, 4, 7] {
      options.threads = threads
      let trainer = Trainer(model: Model(spec: Self.spec, seed: 2), training: Self.data(rows: 300), options: options)
      #expect(trainer.workerCount == threads && trainer.strategy == .allReduce && trainer.logicalShardCount == 4)
      let history = try trainer.train()
      weights.append(trainer.model.parameters.array.map(\.bitPattern))
      losses.append(history.map(\.trainLoss))
    }
    for (index, run) in weights.enumerated().dropFirst() {
      #expect(run == weights[0], "W = \([1, 2, 3, 4, 7][index]) differs from W = 1")
      #expect(losses[index] == losses[0])
    }
    // Not the same as a plain run: the logical shards change the additions.
    options.reproducible = false
    options.threads = 2
    let plain = Trainer(model: Model(spec: Self.spec, seed: 2), training: Self.data(rows: 300), options: options)
    try plain.train()
    #expect(normRelativeError(plain.model.parameters.array, weights[0].map { Float(bitPattern: $0) }) < 1e-5)
  }

  /// Ten steps of each strategy, at 1, 2 and 3 workers, with Adam and a
  /// short last batch, agree with each other and with one worker.
  @Test func theTwoStrategiesAgreeAfterTenSteps() throws {
    var settings = OptimizerSettings(kind: .adam, learningRate: 0.01)
    settings.weightDecay = 0.01
    var results: [[Float]] = []
    for strategy in GradientStrategy.allCases {
      for threads in [1, 2, 3] {
        // 45 samples in batches of 6: ten steps reach into the second epoch.
        var options = TrainingOptions()
        (options.threads, options.batchSize, options.optimizer) = (threads, 6, settings)
        (options.maximumSteps, options.minimumWorkPerThread, options.gradients) = (10, 0, strategy)
        let trainer = Trainer(model: Model(spec: Self.spec, seed: 3), training: Self.data(), options: options)
        try trainer.train()
        #expect(trainer.stepsTaken == 10)
        results.append(trainer.model.parameters.array)
      }
    }
    for result in results.dropFirst() { #expect(normRelativeError(result, results[0]) < 1e-5) }
  }

  @Test(.enabled(if: Topology.shared.allowedUnits.count >= 2, "this process may use only one CPU"))
  /// Each worker runs its shard, and under all-reduce writes its own
  /// gradient buffer, on its planned core: the CPU is recorded every step.
  func workersRunOnThePlannedCores() throws {
    let topology = Topology.shared
    let threads = min(topology.allowedCores, 4)
    var settings = OptimizerSettings(kind: .sgd, learningRate: 0.01)
    settings.momentum = 0.9
    for strategy in GradientStrategy.allCases {
      try Self.expectWorkersOnPlannedCores(
        Self.trainer(
          threads: max(threads, 2), settings: settings, data: Self.data(rows: 400), batch: 64, strategy: strategy))
    }
  }

  static func expectWorkersOnPlannedCores(_ trainer: Trainer) throws {
    try trainer.train()
    let log = trainer.recordedCPUs()
    #expect(log.count == trainer.stepsTaken)
    for step in log {
      for (worker, cpu) in step.enumerated() {
        #expect(
          cpu == trainer.plan.units[worker],
          "worker \(worker) ran on CPU \(cpu), planned \(String(describing: trainer.plan.units[worker]))")
      }
    }
    if trainer.executionMode != .persistentWorkers {
      print("workersRunOnThePlannedCores: ran as \(trainer.executionMode)")
    }
  }

  @Test(arguments: ["784-256-relu-128-relu-10", "6-12-tanh-dropout0.2-5-relu-3", "3-100-relu-33-7", "2-1"])
  func slicesOwnEveryUnitOnceOnCacheLinesWithBalancedCost(model: String) throws {
    let network = Network(spec: try ModelSpec(parsing: model))
    let dense = network.spec.layers.enumerated().compactMap { index, layer -> (Int, Int, Int)? in
      guard let dense = layer as? Dense else { return nil }
      return (index, dense.inputs, dense.outputs)
    }
    let total = dense.reduce(0) { $0 + $1.2 * ($1.1 + 1) }
    let largestGroup = dense.map { 16 * ($0.1 + 1) }.max()!
    for workers in [1, 2, 3, 7, 16] {
      let plan = SlicePlan(network: network, workers: workers)
      #expect(plan.slices.count == workers)
      // In layer order, slice after slice, every unit exactly once.
      let blocks = plan.slices.flatMap { $0 }
      var expected: [(Int, Int)] = []
      for (index, _, outputs) in dense { expected += (0..<outputs).map { (index, $0) } }
      let owned = blocks.flatMap { block in block.units.map { (block.layer, $0) } }
      #expect(owned.map(\.0) == expected.map(\.0) && owned.map(\.1) == expected.map(\.1))
      for block in blocks {
        let (_, inputs, _) = dense.first { $0.0 == block.layer }!
        #expect(block.units.lowerBound % 16 == 0)
        #expect(block.parameters.count == 2)
        let (weights, bias) = (block.parameters[0], block.parameters[1])
        #expect(weights.lowerBound % 16 == 0 && bias.lowerBound % 16 == 0)
        #expect(weights.count == block.units.count * inputs && bias.count == block.units.count)
      }
      for s in 0..<workers {
        #expect(plan.parameterCount(of: s) <= total / workers + largestGroup)
      }
    }
  }

  @Test func stepsTooSmallToShareUseFewerWorkers() {
    // 6 · P · B FLOPs per step, at least the minimum per worker.
    #expect(Trainer.usefulWorkers(threads: 8, stepWork: 792, minimumWorkPerThread: 1e6) == 1)
    #expect(Trainer.usefulWorkers(threads: 8, stepWork: 3.5e6, minimumWorkPerThread: 1e6) == 3)
    #expect(Trainer.usefulWorkers(threads: 8, stepWork: 180e6, minimumWorkPerThread: 1e6) == 8)
    #expect(Trainer.usefulWorkers(threads: 8, stepWork: 792, minimumWorkPerThread: 0) == 8)
    var options = TrainingOptions()
    options.threads = 4
    options.batchSize = 16
    let trainer = Trainer(model: Model(spec: Self.spec, seed: 1), training: Self.data(), options: options)
    #expect(trainer.workerCount == 1)
    #expect(trainer.fewerWorkersReason?.contains("1 of the 4 threads") == true)
  }

  /// After every epoch the team scores the evaluation set together (the
  /// worker count matters not): the last epoch's figures equal one thread's
  /// scoring of the trained weights bitwise, with more rows than one batch
  /// of the evaluation (1024) and a batch count the workers do not divide.
  @Test(arguments: [2, 3])
  func teamEvaluationEqualsOneThreadsBitwise(threads: Int) throws {
    let test = Self.data(rows: 2600)
    let trainer = Self.trainer(
      threads: threads, settings: OptimizerSettings(kind: .sgd, learningRate: 0.1), data: Self.data(rows: 90),
      batch: 30)
    let history = try trainer.train(evaluation: test)
    let last = try #require(history.last?.evaluation)
    let reference = trainer.model.evaluate(test)
    #expect(last.loss.bitPattern == reference.loss.bitPattern)
    #expect(last.accuracy == reference.accuracy && last.count == 2600)
    if trainer.executionMode != .persistentWorkers {
      print("teamEvaluationEqualsOneThreadsBitwise: ran as \(trainer.executionMode)")
    }
  }

  @Test func inferenceSharedAmongThreadsMatchesOneThread() {
    let model = Model(spec: Self.spec, seed: 8)
    let data = Self.data(rows: 301)
    let one = model.outputs(for: data, threads: 1, batchSize: 64)
    for threads in [2, 3, 7] {
      #expect(normRelativeError(model.outputs(for: data, threads: threads, batchSize: 64), one) < 1e-5)
      let evaluation = model.evaluate(data, threads: threads, batchSize: 64)
      let reference = model.evaluate(data, threads: 1, batchSize: 64)
      #expect(abs(evaluation.loss - reference.loss) < 1e-6 * abs(reference.loss))
      #expect(evaluation.accuracy == reference.accuracy)
    }
  }

  @Test(arguments: [1, 2])
  func divergenceStopsEveryWorkerAndKeepsTheLastGoodWeights(threads: Int) throws {
    let data = Self.data(rows: 64)
    let trainer = Self.trainer(
      threads: threads, settings: OptimizerSettings(kind: .sgd, learningRate: 1e35), data: data, batch: 16)
    #expect(throws: TrainingError.self) { try trainer.train(evaluation: data) }
    // The step that diverged was not applied: every weight is still finite.
    #expect(trainer.model.parameters.array.allSatisfy { $0.isFinite })
  }

  @Test func noThreadStaysPinnedAfterTraining() throws {
    let topology = Topology.shared
    let before = topology.currentThreadUnits()
    var settings = OptimizerSettings(kind: .sgd, learningRate: 0.01)
    settings.momentum = 0.9
    let trainer = Self.trainer(threads: max(2, topology.allowedCores), settings: settings, data: Self.data(), batch: 8)
    try trainer.train()
    #expect(topology.currentThreadUnits() == before)
    // Dispatch's pool threads, which ran the workers, are free to run anywhere again.
    let counts = UnsafeMutableBufferPointer<Int>.allocate(capacity: 8)
    defer { counts.deallocate() }
    // Each iteration writes only its own element.
    nonisolated(unsafe) let shared = counts
    DispatchQueue.concurrentPerform(iterations: 8) { shared[$0] = topology.currentThreadUnits().count }
    for count in counts { #expect(count >= min(before.count, topology.allowedUnits.count)) }
  }
}
