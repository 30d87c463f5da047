// swift-tools-version: 6.1
// Backprop's benchmarks, a package of their own so that package-benchmark's
// long build stays out of `swift test`. Run from this folder:
//   swift package benchmark
import PackageDescription

let benchmarkDependencies: [Target.Dependency] = [
  .product(name: "Benchmark", package: "benchmark"),
  .product(name: "Backprop", package: "Backprop"),
]

let package = Package(
  name: "BackpropBenchmarks",
  dependencies: [
    .package(name: "Backprop", path: "../"),
    .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
  ],
  targets: ["TrainingStep", "Kernels", "Update", "AllReduce", "DataLoading"].map { name in
    .executableTarget(
      name: name,
      dependencies: benchmarkDependencies,
      path: "Benchmarks/\(name)",
      plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
    )
  }
)
