import Backprop
import Benchmark
import Dispatch

/// The all-reduce alone, as the ``GradientStrategy/allReduce`` step runs it:
/// W gradient buffers of 1M and 16M floats, worker s summing its run of all
/// W in order and scaling by 1/B (``ShardReduction``), at W = 1, 2 and all
/// cores; beside a copy of the same bytes on the same threads. The custom
/// metric is GB/s of bytes read and written ((W + 1) × 4 bytes per float).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(
    metrics: [.wallClock, .mallocCountTotal, .custom("GB/s", polarity: .prefersLarger, useScalingFactor: false)],
    warmupIterations: 2,
    maxDuration: .seconds(3)
  )
  let cores = Topology.shared.allowedCores
  for count in [1 << 20, 16 << 20] {
    for workers in Set([1, 2, cores]).sorted() {
      let label = "\(count >> 20)M floats, W=\(workers)"
      let runs = ReduceScatterPlan(count: count, workers: workers).slices
      let bytes = (workers + 1) * count * MemoryLayout<Float>.stride
      Benchmark("all-reduce \(label)") { benchmark in
        let buffers = (0..<workers).map { w in
          let buffer = AlignedBuffer<Float>(count: count)
          for i in 0..<count { buffer.base[i] = Float((i + w) & 7) }
          return buffer
        }
        let pointers = UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>?>.allocate(capacity: workers)
        defer { pointers.deallocate() }
        for w in 0..<workers { pointers[w] = buffers[w].base }
        let mean = AlignedBuffer<Float>(count: count)
        nonisolated(unsafe) let shared = (UnsafeBufferPointer(pointers), mean)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let started = clock.now
        for _ in benchmark.scaledIterations {
          // Runs are disjoint: each iteration writes only its own.
          DispatchQueue.concurrentPerform(iterations: workers) { s in
            let (pointers, mean) = shared
            ShardReduction.mean(of: pointers, range: runs[s], scale: 1 / 128, into: mean.base)
          }
        }
        benchmark.stopMeasurement()
        recordBandwidth(benchmark, bytes: bytes, elapsed: clock.now - started)
        blackHole(buffers)
      }
      Benchmark("copy of the same bytes, \(label)") { benchmark in
        // Half the bytes read, half written, as a copy moves them.
        let half = bytes / 2 / MemoryLayout<Float>.stride
        let source = AlignedBuffer<Float>(count: half)
        let target = AlignedBuffer<Float>(count: half)
        let slices = ReduceScatterPlan(count: half, workers: workers).slices
        nonisolated(unsafe) let shared = (source, target)
        let clock = ContinuousClock()
        benchmark.startMeasurement()
        let started = clock.now
        for _ in benchmark.scaledIterations {
          DispatchQueue.concurrentPerform(iterations: workers) { s in
            let (source, target) = shared
            (target.base + slices[s].lowerBound).update(
              from: source.base + slices[s].lowerBound, count: slices[s].count)
          }
        }
        benchmark.stopMeasurement()
        recordBandwidth(benchmark, bytes: bytes, elapsed: clock.now - started)
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
