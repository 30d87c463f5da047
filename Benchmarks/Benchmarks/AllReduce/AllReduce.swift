import Backprop
import Benchmark
import Dispatch

/// The all-reduce and update of a step (phase 2: each worker owns a slice,
/// sums it over all workers' gradient buffers in order, divides, and applies
/// SGD with momentum), for 1M and 16M parameters at 1 and all threads, beside
/// a plain copy of the same bytes. The custom metric is GB/s of gradient data
/// read (threads × parameters × 4 bytes per iteration).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal, .custom("GB/s", polarity: .prefersLarger, useScalingFactor: false)],
    warmupIterations: 2,
    maxDuration: .seconds(3)
  )
  let cores = Topology.shared.allowedCores
  for parameters in [1 << 20, 16 << 20] {
    for threads in Set([1, cores]).sorted() {
      let label = "\(parameters >> 20)M parameters, \(threads) thread(s)"
      Benchmark("all-reduce+update \(label)") { benchmark in
        let buffers = (0..<threads).map { _ in AlignedBuffer<Float>(count: parameters) }
        for buffer in buffers { for i in 0..<parameters { buffer.base[i] = Float(i & 7) } }
        let pointers = UnsafeMutablePointer<UnsafeMutablePointer<Float>>.allocate(capacity: threads)
        for (w, buffer) in buffers.enumerated() { pointers[w] = buffer.base }
        let weights = AlignedBuffer<Float>(count: parameters)
        var settings = OptimizerSettings(kind: .sgd, learningRate: 0.01)
        settings.momentum = 0.9
        let optimizer = Optimizer(settings: settings, parameterCount: parameters)
        let scratch = AlignedBuffer<Float>(count: threads * AllReduce.chunk)
        let slices = Trainer.slices(count: parameters, workers: threads)
        nonisolated(unsafe) let shared = (pointers, weights, optimizer, scratch)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let started = clock.now
        for _ in benchmark.scaledIterations {
          DispatchQueue.concurrentPerform(iterations: threads) { s in
            let (pointers, weights, optimizer, scratch) = shared
            var start = slices[s].lowerBound
            while start < slices[s].upperBound {
              let count = min(AllReduce.chunk, slices[s].upperBound - start)
              let chunk = scratch.base + s * AllReduce.chunk
              AllReduce.mean(of: pointers, buffers: threads, offset: start, count: count, divisor: 128, into: chunk)
              optimizer.update(
                parameters: weights.base, gradient: chunk, range: start..<(start + count), learningRate: 0.01, step: 1)
              start += count
            }
          }
        }
        benchmark.stopMeasurement()
        recordBandwidth(benchmark, bytes: threads * parameters * 4, elapsed: clock.now - started)
        // The raw pointers above do not keep the buffers alive.
        withExtendedLifetime(buffers) { pointers.deallocate() }
      }
      Benchmark("copy of the same bytes, \(label)") { benchmark in
        let source = AlignedBuffer<Float>(count: threads * parameters)
        let target = AlignedBuffer<Float>(count: threads * parameters)
        let slices = Trainer.slices(count: threads * parameters, workers: threads)
        nonisolated(unsafe) let shared = (source, target)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let started = clock.now
        for _ in benchmark.scaledIterations {
          DispatchQueue.concurrentPerform(iterations: threads) { s in
            let (source, target) = shared
            (target.base + slices[s].lowerBound).update(
              from: source.base + slices[s].lowerBound, count: slices[s].count)
          }
        }
        benchmark.stopMeasurement()
        recordBandwidth(benchmark, bytes: threads * parameters * 4, elapsed: clock.now - started)
      }
    }
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
