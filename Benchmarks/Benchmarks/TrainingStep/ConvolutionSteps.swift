import Backprop
import Benchmark

/// The convolutional networks: recipe A (two convolutions and
/// pooling) and recipe B (batch norm, dropout, augmentation), a step at a
/// time on one thread under each strategy and each convolution's kernels,
/// and steps of a run on all cores. Backprop's own code allocates nothing in
/// a step; oneDNN's `dnnl_primitive_execute` allocates its argument map at
/// every call (about 5 blocks per call, 15 calls per sample here), so only
/// im2col's steps count 0 mallocs.
let convolutionBenchmarks: @Sendable () -> Void = {
  let recipes = [
    ("A", "1x28x28-conv32k5p2-relu-maxpool2-conv64k5p2-relu-maxpool2-flatten-10", false),
    ("B", recipeB, true),
  ]
  for (name, spec, augmented) in recipes {
    for strategy in GradientStrategy.allCases {
      for kernels in [ConvolutionKernels.onednn, .im2col] {
        Benchmark(
          "step recipe \(name) B=128 threads=1 \(strategy.rawValue) \(kernels)",
          configuration: .init(warmupIterations: 2, maxDuration: .seconds(5), thresholds: stepThresholds)
        ) { benchmark in
          ConvolutionKernels.selected = kernels
          defer { ConvolutionKernels.selected = .auto }
          let trainer = makeTrainer(spec: spec, batch: 128, strategy: strategy, augmented: augmented)
          let indices = Array(0..<128)
          indices.withUnsafeBufferPointer { indices in
            trainer.step(samples: indices, learningRate: 0.01)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations { blackHole(trainer.step(samples: indices, learningRate: 0.01)) }
          }
        }
      }
    }
    let cores = Topology.shared.allowedCores
    guard cores > 1 else { continue }
    let (first, last) = (2, 8)
    Benchmark(
      "steps \(first + 1)...\(last) of a run, recipe \(name) B=128 threads=\(cores) auto",
      configuration: .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal], warmupIterations: 1, maxDuration: .seconds(8),
        thresholds: stepThresholds)
    ) { benchmark in
      let trainer = makeTrainer(
        spec: spec, batch: 128, samples: 128 * (last + 1), threads: cores, strategy: nil, augmented: augmented)
      blackHole(
        try? trainer.train(progress: { progress in
          if progress.step == first { benchmark.startMeasurement() }
          if progress.step == last { benchmark.stopMeasurement() }
        }))
    }
  }
}

/// Recipe B of the README: three convolution blocks with batch norm, then
/// dropout.
let recipeB =
  "1x28x28-conv32k3p1-bn-relu-conv32k3p1-bn-relu-maxpool2-conv64k3p1-bn-relu-conv64k3p1-bn-relu-maxpool2-flatten-dropout0.3-256-bn-relu-dropout0.3-10"
