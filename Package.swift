// swift-tools-version: 6.1
import PackageDescription

// The hand-written kernels are vectorised by the compiler; on x86-64 they are
// only fast when built for a CPU with FMA. SwiftPM refuses `unsafeFlags` in a
// package used as a dependency, so the target CPU is opt-in through
// BACKPROP_TARGET_CPU (for example `native` or `haswell`).
import class Foundation.ProcessInfo

let targetCPU = ProcessInfo.processInfo.environment["BACKPROP_TARGET_CPU"]
let cpuSettings: [SwiftSetting] = targetCPU.map { [.unsafeFlags(["-target-cpu", $0])] } ?? []

let package = Package(
  name: "Backprop",
  products: [
    .library(name: "Backprop", targets: ["Backprop", "BackpropCore"]),
    .executable(name: "backprop", targets: ["backprop"]),
  ],
  // `--traits MPI` builds the multi-process backend on Open MPI
  // (libopenmpi-dev); without it the package needs no MPI at all.
  traits: [
    .trait(name: "MPI", description: "Several processes joined by Open MPI (Debian's libopenmpi-dev).")
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2")
  ],
  targets: [
    // The numerics: tensors, kernels, layers, losses, optimizers, models,
    // data readers and file formats. No threads and no hwloc: nothing here
    // may import Dispatch or CHwloc (a test checks).
    .target(
      name: "BackpropCore",
      dependencies: [
        .target(name: "CBLAS", condition: .when(platforms: [.linux])),
        .target(name: "CDNNL", condition: .when(platforms: [.linux])),
        "CDeflate",
      ],
      swiftSettings: cpuSettings
    ),
    // The engine, built on the core (which it re-exports): topology and
    // pinning, the trainer, inference across threads, checkpoints, cross-
    // validation and search.
    .target(
      name: "Backprop",
      dependencies: [
        "BackpropCore", "CHwloc",
        .target(name: "CMPI", condition: .when(traits: ["MPI"])),
      ],
      swiftSettings: cpuSettings
    ),
    // The command line: a thin layer over the library.
    .executableTarget(
      name: "backprop",
      dependencies: [
        "Backprop",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // C libraries from Debian packages: a module map and a shim header each.
    .systemLibrary(
      name: "CBLAS",
      pkgConfig: "openblas",
      providers: [.apt(["libopenblas-dev"])]
    ),
    // oneDNN has no pkg-config file in Debian: its header is in /usr/include.
    .systemLibrary(
      name: "CDNNL",
      providers: [.apt(["libdnnl-dev"])]
    ),
    .systemLibrary(
      name: "CMPI",
      pkgConfig: "ompi-c",
      providers: [.apt(["libopenmpi-dev"])]
    ),
    .systemLibrary(
      name: "CHwloc",
      pkgConfig: "hwloc",
      providers: [.apt(["libhwloc-dev"]), .brew(["hwloc"])]
    ),
    .systemLibrary(
      name: "CDeflate",
      pkgConfig: "libdeflate",
      providers: [.apt(["libdeflate-dev"]), .brew(["libdeflate"])]
    ),

    // The README's Swift blocks become a source file of the tests, so they
    // are compiled and run from the README's own text.
    .executableTarget(name: "ReadmeExtractor", path: "Sources/ReadmeExtractor"),
    .plugin(name: "ReadmeExamples", capability: .buildTool(), dependencies: ["ReadmeExtractor"]),

    // Test support: finite differences, tolerances, tiny data sets.
    .target(name: "_BackpropTestSupport", dependencies: ["Backprop"]),
    .testTarget(
      name: "BackpropTests",
      dependencies: ["Backprop", "_BackpropTestSupport", "CDeflate", "backprop"],
      exclude: ["Fixtures"],
      plugins: ["ReadmeExamples"]
    ),
  ]
)
