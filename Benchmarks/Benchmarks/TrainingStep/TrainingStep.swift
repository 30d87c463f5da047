import Backprop
import Benchmark

/// Every step must allocate nothing (absolute zero, all threads counted),
/// and its wall-clock time may not grow by more than 25% at the median
/// against a saved baseline (`swift package benchmark baseline update`, then
/// `swift package benchmark baseline check`).
var stepThresholds: [BenchmarkMetric: BenchmarkThresholds] {
  [.mallocCountTotal: .init(absolute: [.p100: 0]), .wallClock: .init(relative: [.p50: 25])]
}

/// One full training step (gather, forward, loss, backward, gradient,
/// update) at the sizes the issues quote, on one thread and on all cores,
/// under each gradient strategy.
/// XOR's step is timed a thousand at a time (the harness's own cost per
/// iteration is about a microsecond).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 5,
    maxDuration: .seconds(3),
    thresholds: stepThresholds
  )

  for (spec, batch) in [("784-256-relu-128-relu-10", 128), ("784-2048-relu-2048-relu-10", 512), ("2-8-tanh-1", 4)] {
    let scaling: BenchmarkScalingFactor = batch == 4 ? .kilo : .one
    for strategy in GradientStrategy.allCases {
      Benchmark(
        "step \(spec) B=\(batch) threads=1 \(strategy.rawValue)",
        configuration: .init(scalingFactor: scaling, thresholds: stepThresholds)
      ) { benchmark in
        let trainer = makeTrainer(spec: spec, batch: batch, strategy: strategy)
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
  allCoreBenchmarks()
  reproducibleBenchmark()
  convolutionBenchmarks()
}

/// Steps on all cores, as `train` runs them: long-lived workers started once
/// per run, and the clock and the malloc counter running only over the
/// run's steady state (from the end of its `first` step to the end of its
/// `last`, both read in the progress callback, on the leader, between
/// steps). The counter covers every thread, so the absolute zero holds the
/// whole team to no allocation per step.
let allCoreBenchmarks: @Sendable () -> Void = {
  let cores = Topology.shared.allowedCores
  guard cores > 1 else { return }
  for (spec, batch) in [("784-256-relu-128-relu-10", 128), ("784-2048-relu-2048-relu-10", 512)] {
    let (first, last) = batch == 128 ? (10, 50) : (2, 6)
    for strategy in GradientStrategy.allCases {
      Benchmark(
        "steps \(first + 1)...\(last) of a run, \(spec) B=\(batch) threads=\(cores) \(strategy.rawValue)",
        configuration: .init(
          metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1, maxDuration: .seconds(5),
          thresholds: stepThresholds)
      ) { benchmark in
        // A run per sample (a trainer runs its epochs once), one step longer
        // than the window so that the run's end is not measured either.
        let trainer = makeTrainer(
          spec: spec, batch: batch, samples: batch * (last + 1), threads: cores, strategy: strategy)
        blackHole(
          try? trainer.train(progress: { progress in
            if progress.step == first { benchmark.startMeasurement() }
            if progress.step == last { benchmark.stopMeasurement() }
          }))
      }
    }
  }
}

/// A run with ``TrainingOptions/reproducible`` on all cores: its logical
/// shards' buffers, made on first use, must leave the steady state without
/// allocations too.
let reproducibleBenchmark: @Sendable () -> Void = {
  let (spec, batch, first, last) = ("784-256-relu-128-relu-10", 128, 10, 50)
  Benchmark(
    "steps \(first + 1)...\(last) of a reproducible run, \(spec) B=\(batch) threads=\(Topology.shared.allowedCores)",
    configuration: .init(
      metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1, maxDuration: .seconds(5),
      thresholds: stepThresholds)
  ) { benchmark in
    let trainer = makeTrainer(
      spec: spec, batch: batch, samples: batch * (last + 1), threads: Topology.shared.allowedCores,
      reproducible: true)
    blackHole(
      try? trainer.train(progress: { progress in
        if progress.step == first { benchmark.startMeasurement() }
        if progress.step == last { benchmark.stopMeasurement() }
      }))
  }
}

/// A trainer on random data shaped for `spec` (`samples` rows, one batch by
/// default), with SGD and momentum, on `threads` workers, with `strategy`
/// (`nil`: auto; or reproducible), and with `augmented` crops and flips.
func makeTrainer(
  spec text: String, batch: Int, samples: Int? = nil, threads: Int = 1, strategy: GradientStrategy? = .unitSlices,
  reproducible: Bool = false, augmented: Bool = false
) -> Trainer {
  let spec = try! ModelSpec(parsing: text)
  var generator = SeededGenerator(seed: 1)
  let rows = samples ?? batch
  let classes = spec.outputWidth == 1 ? 2 : spec.outputWidth
  var data = Dataset(
    features: (0..<(rows * spec.inputWidth)).map { _ in Float(generator.nextUnit()) },
    featureWidth: spec.inputWidth,
    targets: (0..<rows).map { _ in Float(generator.nextIndex(below: classes)) }, targetWidth: 1,
    source: "random")
  data.sampleShape = spec.inputShape
  var options = TrainingOptions()
  options.batchSize = batch
  options.epochs = 1
  options.threads = threads
  options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.01)
  options.optimizer.momentum = 0.9
  options.gradients = strategy ?? GradientStrategy.automatic(spec: spec, batch: batch, workers: threads).0
  options.reproducible = reproducible
  options.augmentation = augmented ? Augmentation(cropPadding: 4, flip: true) : nil
  return Trainer(model: Model(spec: spec), training: data, options: options)
}
