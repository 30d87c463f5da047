import Backprop
import Benchmark

/// Single-threaded SGEMM: the ceiling a training step is compared with, at
/// n = 1024 and at the shapes of both models' steps (784-256-relu-128-relu-10
/// at B = 128, 784-2048-relu-2048-relu-10 at B = 512); then a whole dense
/// forward and backward pass of the small model. The throughput metric
/// counts iterations (for SGEMM, divide m·n·k·2 by the time for FLOP/s).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .throughput, .mallocCountTotal],
    warmupIterations: 3,
    maxDuration: .seconds(3),
    thresholds: [.mallocCountTotal: .init(absolute: [.p100: 0])]
  )
  BLAS.useSingleThread()

  let shapes: [(name: String, m: Int, n: Int, k: Int, transposeA: Bool, transposeB: Bool)] = [
    ("sgemm 1024x1024x1024", 1024, 1024, 1024, false, false),
    ("sgemm forward 128x256x784 (X·Wᵀ)", 128, 256, 784, false, true),
    ("sgemm weight gradient 256x784x128 (dYᵀ·X)", 256, 784, 128, true, false),
    ("sgemm input gradient 128x256x128 (dY·W)", 128, 256, 128, false, false),
    ("sgemm forward 512x2048x2048 (X·Wᵀ)", 512, 2048, 2048, false, true),
    ("sgemm weight gradient 2048x2048x512 (dYᵀ·X)", 2048, 2048, 512, true, false),
  ]
  for shape in shapes {
    Benchmark(shape.name, configuration: .init(scalingFactor: .one)) { benchmark in
      let a = AlignedBuffer<Float>(count: shape.m * shape.k)
      let b = AlignedBuffer<Float>(count: shape.k * shape.n)
      let c = AlignedBuffer<Float>(count: shape.m * shape.n)
      for i in 0..<a.count { a.base[i] = Float(i % 13) * 0.01 }
      for i in 0..<b.count { b.base[i] = Float(i % 7) * 0.01 }
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        BLAS.sgemm(
          transposeA: shape.transposeA, transposeB: shape.transposeB, m: shape.m, n: shape.n, k: shape.k,
          alpha: 1, a: a.base, lda: shape.transposeA ? shape.m : shape.k,
          b: b.base, ldb: shape.transposeB ? shape.k : shape.n, beta: 0, c: c.base, ldc: shape.n)
      }
      blackHole(c.base[0])
    }
  }

  let spec = try! ModelSpec(parsing: "784-256-relu-128-relu-10")
  let network = Network(spec: spec)
  let parameters = AlignedBuffer<Float>(count: network.layout.totalCount)
  for i in 0..<parameters.count { parameters.base[i] = Float(i % 17) * 0.001 - 0.008 }
  let workspace = Workspace<Float>(spec: spec, capacity: 128)
  for i in 0..<workspace.input.count { workspace.input.base[i] = Float(i % 11) * 0.09 }
  let gradient = AlignedBuffer<Float>(count: network.layout.totalCount)
  Benchmark("dense forward 784-256-relu-128-relu-10 B=128") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(network.forward(parameters: parameters.base, workspace: workspace, rows: 128, mode: .inference))
    }
  }
  Benchmark("dense backward 784-256-relu-128-relu-10 B=128 (deltas and weight gradients)") { benchmark in
    network.forward(parameters: parameters.base, workspace: workspace, rows: 128, mode: .inference)
    benchmark.startMeasurement()
    for _ in benchmark.scaledIterations {
      workspace.outputGradient.update(repeating: 0.01, count: 128 * 10)
      network.backward(parameters: parameters.base, gradient: gradient.base, workspace: workspace, rows: 128)
    }
    blackHole(gradient.base[0])
  }

  imageLayerBenchmarks()
}

/// Each image layer of recipe A on its own, forward and backward over a
/// batch of 128 (the network is the layer, a flatten and a dense layer of 10,
/// whose share is small): where a convolutional step's time goes.
let imageLayerBenchmarks: @Sendable () -> Void = {
  let layers = [
    "1x28x28-conv32k5p2-flatten-10", "32x28x28-relu-flatten-10", "32x28x28-maxpool2-flatten-10",
    "32x14x14-conv64k5p2-flatten-10", "64x14x14-bn-flatten-10", "32x28x28-flatten-10",
  ]
  for text in layers {
    let spec = try! ModelSpec(parsing: text)
    let network = Network(spec: spec)
    let parameters = AlignedBuffer<Float>(count: network.layout.totalCount)
    Initializer.pytorch.initialize(parameters.pointer, network: network, seed: 1)
    let workspace = Workspace<Float>(spec: spec, capacity: 128)
    for i in 0..<workspace.input.count { workspace.input.base[i] = Float(i % 11) * 0.09 - 0.4 }
    let gradient = AlignedBuffer<Float>(count: network.layout.totalCount)
    // The layer's own input gradient is wanted even where it is the first.
    let inputGradient = AlignedBuffer<Float>(count: workspace.input.count)
    let mode = Network.Mode.training(seed: 1, step: 0)
    Benchmark("image layer forward \(text) B=128") { benchmark in
      for _ in benchmark.scaledIterations {
        blackHole(network.forward(parameters: parameters.base, workspace: workspace, rows: 128, mode: mode))
      }
    }
    Benchmark("image layer backward \(text) B=128 (input and weight gradients)") { benchmark in
      network.forward(parameters: parameters.base, workspace: workspace, rows: 128, mode: mode)
      benchmark.startMeasurement()
      for _ in benchmark.scaledIterations {
        workspace.outputGradient.update(repeating: 0.01, count: 128 * 10)
        network.backpropagateDeltas(
          parameters: parameters.base, workspace: workspace, rows: 0..<128, inputGradient: inputGradient.base)
        network.parameterGradients(workspace: workspace, rows: 0..<128, into: gradient.base)
      }
      blackHole(gradient.base[0])
    }
  }
}
