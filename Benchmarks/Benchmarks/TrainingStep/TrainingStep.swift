import Backprop
import Benchmark

/// One full training step (gather, forward, loss, backward, reduce, update)
/// at the sizes the issues quote. A step must allocate nothing: the malloc
/// threshold is an absolute zero.
let benchmarks: @Sendable () -> Void = {
  let noAllocations: [BenchmarkMetric: BenchmarkThresholds] = [
    .mallocCountTotal: .init(absolute: [.p100: 0])
  ]
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 5,
    maxDuration: .seconds(3),
    thresholds: noAllocations
  )

  for (spec, batch) in [("784-256-relu-128-relu-10", 128), ("784-2048-relu-2048-relu-10", 512), ("2-8-tanh-1", 4)] {
    Benchmark("step \(spec) B=\(batch) threads=1") { benchmark in
      let trainer = makeTrainer(spec: spec, batch: batch)
      let indices = Array(0..<batch)
      indices.withUnsafeBufferPointer { indices in
        // The first step creates the worker's state: steady state starts after it.
        trainer.step(samples: indices, learningRate: 0.01)
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
          blackHole(trainer.step(samples: indices, learningRate: 0.01))
        }
      }
    }
  }
}

/// A trainer on random data shaped for `spec`, with SGD and momentum.
func makeTrainer(spec text: String, batch: Int) -> Trainer {
  let spec = try! ModelSpec(parsing: text)
  var generator = SeededGenerator(seed: 1)
  let rows = batch
  let classes = spec.outputWidth == 1 ? 2 : spec.outputWidth
  let data = Dataset(
    features: (0..<(rows * spec.inputWidth)).map { _ in Float(generator.nextUnit()) },
    featureWidth: spec.inputWidth,
    targets: (0..<rows).map { _ in Float(generator.nextIndex(below: classes)) }, targetWidth: 1,
    source: "random")
  var options = TrainingOptions()
  options.batchSize = batch
  options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.01)
  options.optimizer.momentum = 0.9
  return Trainer(model: Model(spec: spec), training: data, options: options)
}
