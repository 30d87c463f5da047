import Backprop
import Testing
import _BackpropTestSupport

/// Convolutional networks trained data-parallel: every worker count and
/// gradient strategy agrees, and `reproducible` is bitwise for any W.
@Suite(.serialized) struct ConvolutionalTrainingTests {
  static let spec = try! ModelSpec(
    parsing: "2x6x6-conv5k3p1-relu-maxpool2-conv4k2s1-tanh-dropout0.2-avgpool2-flatten-3")

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
    options.optimizer = OptimizerSettings(kind: .adam, learningRate: 0.01)
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
}
