import Backprop
import Benchmark

/// Single-threaded SGEMM: the ceiling a training step is compared with, at
/// n = 1024 and at the shapes of 784-256-relu-128-relu-10's step (B = 128).
/// The throughput metric counts multiply-adds (divide by 1e9 and double for
/// GFLOP/s).
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
}
