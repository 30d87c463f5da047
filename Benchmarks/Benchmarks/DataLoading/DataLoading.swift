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
  // The training set alone (the target is 0.3 s), read as the loader reads it.
  let folder = DatasetLoader.fashionMNISTDefaultDirectory
  Benchmark("load fashion-mnist training set (60,000 images and labels, .gz IDX)") { benchmark in
    for _ in benchmark.scaledIterations {
      blackHole(try? IDXReader.read(folder + "/train-images-idx3-ubyte.gz", dividingBy: 255))
      blackHole(try? IDXReader.read(folder + "/train-labels-idx1-ubyte.gz"))
    }
  }
}
