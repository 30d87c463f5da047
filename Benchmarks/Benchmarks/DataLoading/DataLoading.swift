import Backprop
import Benchmark

/// Loading Fashion-MNIST from the Debian package's gzip-compressed IDX files
/// (skipped when the data set is not installed).
let benchmarks: @Sendable () -> Void = {
  Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .peakMemoryResident], maxDuration: .seconds(5))
  Benchmark("load fashion-mnist (train + test, .gz IDX)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try? DatasetLoader.load(data: "fashion-mnist", labels: nil))
    }
  }
}
