import Backprop
import Benchmark

/// One full training step (gather, forward, loss, backward, gradient,
/// update) at the sizes the issues quote, on one thread and on all cores.
///
/// Thresholds: a single-threaded step must allocate nothing (absolute zero),
/// and wall-clock time may not grow by more than 25% at the median against a
/// saved baseline (`swift package benchmark baseline update`, then
/// `swift package benchmark baseline check`). XOR's step is timed a thousand
/// at a time (the harness's own cost per iteration is about a microsecond).
let benchmarks: @Sendable () -> Void = {
  let thresholds: [BenchmarkMetric: BenchmarkThresholds] = [
    .mallocCountTotal: .init(absolute: [.p100: 0]),
    .wallClock: .init(relative: [.p50: 25]),
  ]
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 5,
    maxDuration: .seconds(3),
    thresholds: thresholds
  )

  for (spec, batch) in [("784-256-relu-128-relu-10", 128), ("784-2048-relu-2048-relu-10", 512), ("2-8-tanh-1", 4)] {
    let scaling: BenchmarkScalingFactor = batch == 4 ? .kilo : .one
    Benchmark(
      "step \(spec) B=\(batch) threads=1", configuration: .init(scalingFactor: scaling, thresholds: thresholds)
    ) { benchmark in
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
  allCoreBenchmarks()
}

/// Steps on all cores: 50 steps of a run (its long-lived workers started
/// once, as `train` does), so per step the time is a fiftieth. The run's own
/// bookkeeping allocates a little (its epoch history), so no malloc threshold.
let allCoreBenchmarks: @Sendable () -> Void = {
  let cores = Topology.shared.allowedCores
  guard cores > 1 else { return }
  for (spec, batch) in [("784-256-relu-128-relu-10", 128), ("784-2048-relu-2048-relu-10", 512)] {
    let steps = batch == 128 ? 50 : 5
    Benchmark(
      "\(steps) steps \(spec) B=\(batch) threads=\(cores)",
      configuration: .init(
        metrics: [.wallClock, .throughput], warmupIterations: 1, maxDuration: .seconds(5),
        thresholds: [.wallClock: .init(relative: [.p50: 25])])
    ) { benchmark in
      // One run per sample (a trainer runs its epochs once), set up before the clock starts.
      let trainer = makeTrainer(spec: spec, batch: batch, samples: batch * steps, threads: cores)
      benchmark.startMeasurement()
      blackHole(try? trainer.train())
    }
  }
}

/// A trainer on random data shaped for `spec` (`samples` rows, one batch by
/// default), with SGD and momentum, on `threads` workers.
func makeTrainer(spec text: String, batch: Int, samples: Int? = nil, threads: Int = 1) -> Trainer {
  let spec = try! ModelSpec(parsing: text)
  var generator = SeededGenerator(seed: 1)
  let rows = samples ?? batch
  let classes = spec.outputWidth == 1 ? 2 : spec.outputWidth
  let data = Dataset(
    features: (0..<(rows * spec.inputWidth)).map { _ in Float(generator.nextUnit()) },
    featureWidth: spec.inputWidth,
    targets: (0..<rows).map { _ in Float(generator.nextIndex(below: classes)) }, targetWidth: 1,
    source: "random")
  var options = TrainingOptions()
  options.batchSize = batch
  options.epochs = 1
  options.threads = threads
  options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.01)
  options.optimizer.momentum = 0.9
  return Trainer(model: Model(spec: spec), training: data, options: options)
}
