import Backprop
import Testing
import _BackpropTestSupport

/// Convolutional networks trained data-parallel: every worker count and
/// gradient strategy agrees, and `reproducible` is bitwise for any W.
@Suite(.serialized) struct ConvolutionalTrainingTests {
  static let spec = try! ModelSpec(
    parsing: "2x6x6-conv5k3p1-bn-relu-maxpool2-conv4k2s1-tanh-dropout0.2-avgpool2-flatten-6-bn-3")

  static func data(rows: Int = 45) -> Dataset {
    var generator = TestData(seed: 4)
    var data = generator.classification(rows: rows, features: 72, classes: 3)
    data.sampleShape = Shape(channels: 2, height: 6, width: 6)
    return data
  }

  static func train(threads: Int, strategy: GradientStrategy?, reproducible: Bool = false, steps: Int = 10) throws
    -> Trainer
  {
    var options = TrainingOptions()
    (options.threads, options.batchSize, options.gradients) = (threads, 16, strategy)
    (options.maximumSteps, options.minimumWorkPerThread, options.reproducible) = (steps, 0, reproducible)
    // SGD with momentum: a bias right before batch normalisation has a
    // gradient that is 0 but for rounding, which Adam would blow up to full
    // steps whose signs depend on the order of additions.
    options.optimizer = OptimizerSettings(kind: reproducible ? .adam : .sgd, learningRate: 0.05)
    options.optimizer.momentum = reproducible ? 0 : 0.9
    options.clipGradientNorm = reproducible ? 0.5 : nil
    let trainer = Trainer(model: Model(spec: spec, seed: 3), training: data(), options: options)
    try trainer.train()
    return trainer
  }

  @Test func everyWorkerCountAndStrategyAgreesWithOneWorker() throws {
    let one = try Self.train(threads: 1, strategy: .unitSlices).model.parameters.array
    for strategy in GradientStrategy.allCases {
      for threads in [2, 3] {
        let many = try Self.train(threads: threads, strategy: strategy)
        #expect(many.workerCount == threads)
        #expect(normRelativeError(many.model.parameters.array, one) < 1e-5, "\(strategy) at \(threads) workers")
      }
    }
  }

  @Test func sameWorkerCountIsBitwiseReproducibleAndReproducibleIsBitwiseForAnyWorkerCount() throws {
    for strategy in GradientStrategy.allCases {
      let first = try Self.train(threads: 2, strategy: strategy).model.parameters.array.map(\.bitPattern)
      let second = try Self.train(threads: 2, strategy: strategy).model.parameters.array.map(\.bitPattern)
      #expect(first == second, "\(strategy)")
    }
    let runs = try [1, 2, 3].map {
      try Self.train(threads: $0, strategy: nil, reproducible: true).model.parameters.array.map(\.bitPattern)
    }
    #expect(runs[1] == runs[0])
    #expect(runs[2] == runs[0])
  }

  /// Batch normalisation's statistics are the whole batch's however the
  /// rows are cut: the passes run stage by stage over W shards (each in its
  /// own lane, as workers do) give the very gradients of one pass over the
  /// batch, for W = 1, 2 and 3.
  @Test func batchNormalisationGivesTheSameGradientsForOneTwoAndThreeWorkers() throws {
    let spec = try ModelSpec(parsing: "2x5x5-conv3k3p1-bn-relu-maxpool2-flatten-6-bn-tanh-3")
    let network = Network(spec: spec)
    let rows = 7
    var data = TestData(seed: 9)
    var parameters = [Double](repeating: 0, count: network.layout.totalCount)
    for entry in network.layout.entries where entry.isTrainable {
      for i in entry.range { parameters[i] = data.uniform(1)[0] }
    }
    let input = data.uniform(rows * spec.inputWidth, -2, 2)
    let upstream = data.uniform(rows * spec.outputWidth)
    let mode = Network.Mode.training(seed: 1, step: 0)

    func gradients(workers: Int) -> (parameters: [Double], input: [Double], running: [Double]) {
      // Its own copy: the training forward updates the running statistics in it.
      let state = UnsafeMutableBufferPointer<Double>.allocate(capacity: parameters.count)
      defer { state.deallocate() }
      _ = state.initialize(from: parameters)
      let workspace = Workspace<Double>(spec: spec, capacity: rows, lanes: workers)
      workspace.input.base.update(from: input, count: input.count)
      let plan = ShardPlan(rows: rows, workers: workers)
      let batch = 0..<rows
      var inputGradient = [Double](repeating: 0, count: input.count)
      for stage in 0..<network.stageCount {
        for w in 0..<plan.shardCount {
          network.forward(
            parameters: state.baseAddress!, workspace: workspace, rows: plan.range(of: w), mode: mode, lane: w,
            stage: stage,
            batch: batch)
        }
      }
      workspace.outputGradient.update(from: upstream, count: upstream.count)
      for stage in 0..<network.stageCount {
        for w in 0..<plan.shardCount {
          let range = plan.range(of: w)
          inputGradient.withUnsafeMutableBufferPointer { all in
            network.backpropagateDeltas(
              parameters: state.baseAddress!, workspace: workspace, rows: range,
              inputGradient: all.baseAddress! + range.lowerBound * spec.inputWidth, lane: w, stage: stage,
              batch: batch)
          }
        }
      }
      var gradient = [Double](repeating: 0, count: parameters.count)
      for layer in spec.layers.indices {
        network.parameterGradients(
          workspace: workspace, rows: rows, layer: layer, units: 0..<network.unitCount(ofLayer: layer), scale: 1,
          into: &gradient)
      }
      return (gradient, inputGradient, Array(state))
    }
    let one = gradients(workers: 1)
    #expect(one.parameters.contains { $0 != 0 })
    for workers in [2, 3] {
      let many = gradients(workers: workers)
      #expect(many.parameters == one.parameters, "W = \(workers)")
      #expect(many.input == one.input, "W = \(workers)")
      // The running statistics are updated once, by the pass that starts the batch.
      #expect(many.running == one.running, "W = \(workers)")
    }
    let counts = network.layout.entries.filter { $0.kind == .count }.map { one.running[$0.offset] }
    #expect(counts == [1, 1])
  }
}
