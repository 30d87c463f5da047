import Backprop
import Benchmark
import Dispatch

/// The memory-bound end of a data-parallel step: each worker applies SGD with
/// momentum to its slice of the flat vector (reading the mean gradient and
/// the momentum, writing parameters and momentum), for 1M and 16M parameters
/// at 1 and all threads, beside a plain copy of the same number of bytes. The
/// reduction over the shards needs no pass of its own: it is the sum inside
/// the weight-gradient products (see the Kernels and TrainingStep suites).
/// The custom metric is GB/s of bytes read and written (5 × 4 bytes per
/// parameter per iteration).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal, .custom("GB/s", polarity: .prefersLarger, useScalingFactor: false)],
    warmupIterations: 2,
    maxDuration: .seconds(3)
  )
  let cores = Topology.shared.allowedCores
  let bytesPerParameter = 5 * MemoryLayout<Float>.stride
  for parameters in [1 << 20, 16 << 20] {
    for threads in Set([1, cores]).sorted() {
      let label = "\(parameters >> 20)M parameters, \(threads) thread(s)"
      let slices = evenSlices(count: parameters, workers: threads)
      Benchmark("update \(label)") { benchmark in
        let gradient = AlignedBuffer<Float>(count: parameters)
        for i in 0..<parameters { gradient.base[i] = Float(i & 7) }
        let weights = AlignedBuffer<Float>(count: parameters)
        var settings = OptimizerSettings(kind: .sgd, learningRate: 0.01)
        settings.momentum = 0.9
        let optimizer = Optimizer(settings: settings, parameterCount: parameters)
        nonisolated(unsafe) let shared = (gradient, weights, optimizer)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let started = clock.now
        for _ in benchmark.scaledIterations {
          // Slices are disjoint: each iteration writes only its own.
          DispatchQueue.concurrentPerform(iterations: threads) { s in
            let (gradient, weights, optimizer) = shared
            optimizer.update(
              parameters: weights.base, gradient: gradient.base + slices[s].lowerBound, range: slices[s],
              learningRate: 0.01, step: 1)
          }
        }
        benchmark.stopMeasurement()
        recordBandwidth(benchmark, bytes: parameters * bytesPerParameter, elapsed: clock.now - started)
      }
      Benchmark("copy of the same bytes, \(label)") { benchmark in
        // Half the bytes read, half written, as a copy moves them.
        let count = parameters * bytesPerParameter / 2 / MemoryLayout<Float>.stride
        let source = AlignedBuffer<Float>(count: count)
        let target = AlignedBuffer<Float>(count: count)
        let copySlices = evenSlices(count: count, workers: threads)
        nonisolated(unsafe) let shared = (source, target)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let started = clock.now
        for _ in benchmark.scaledIterations {
          DispatchQueue.concurrentPerform(iterations: threads) { s in
            let (source, target) = shared
            (target.base + copySlices[s].lowerBound).update(
              from: source.base + copySlices[s].lowerBound, count: copySlices[s].count)
          }
        }
        benchmark.stopMeasurement()
        recordBandwidth(benchmark, bytes: 2 * count * MemoryLayout<Float>.stride, elapsed: clock.now - started)
      }
    }
  }
}

/// `count` elements cut into `workers` contiguous slices on 16-float bounds.
func evenSlices(count: Int, workers: Int) -> [Range<Int>] {
  let lines = (count + 15) / 16
  return (0..<workers).map { s in
    min(count, lines * s / workers * 16)..<(s == workers - 1 ? count : min(count, lines * (s + 1) / workers * 16))
  }
}

/// Records GB/s: `bytes` per iteration over the iterations of this run.
func recordBandwidth(_ benchmark: Benchmark, bytes: Int, elapsed: Duration) {
  let (seconds, attoseconds) = elapsed.components
  let nanoseconds = Double(seconds) * 1e9 + Double(attoseconds) * 1e-9
  guard nanoseconds > 0 else { return }
  let iterations = Double(benchmark.scaledIterations.count)
  benchmark.measurement(
    .custom("GB/s", polarity: .prefersLarger, useScalingFactor: false), Int(Double(bytes) * iterations / nanoseconds))
}
