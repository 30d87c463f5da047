import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Runs the built `backprop` binary (it lies beside the test bundle).
struct CommandRun {
  let status: Int32
  let output: String
  let errors: String

  static let binary: String = {
    let executable =
      (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    return URL(fileURLWithPath: executable).deletingLastPathComponent().appendingPathComponent("backprop").path
  }()

  init(
    _ arguments: [String], environment: [String: String] = [:], executable: String = CommandRun.binary,
    in folder: String? = nil
  ) throws {
    let process = Process()
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let out = Pipe()
    let err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    let errData = err.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    status = process.terminationStatus
    output = String(decoding: outData, as: UTF8.self)
    errors = String(decoding: errData, as: UTF8.self)
  }

  /// The `--json` summary on standard output.
  func json() throws -> JSONValue { try JSONValue.parse(Array(output.utf8)) }
}

@Suite struct CommandLineTests {
  @Test(arguments: ["2-2-sigmoid-1", "2-8-tanh-1"])
  func xorReachesFullAccuracy(model: String) throws {
    let run = try CommandRun(["train", "--data", "xor", "--model", model, "--json"])
    #expect(run.status == 0, "\(run.errors)")
    let summary = try run.json()
    #expect(summary["test_accuracy"] == .integer(1) || summary["test_accuracy"] == .number(1))
    #expect(summary["test_samples"] == .integer(4))
    for key in ["epochs", "threads", "train_loss", "test_loss", "test_accuracy", "samples_per_second", "wall_seconds"] {
      #expect(summary[key] != nil, "missing \(key)")
    }
  }

  /// A small CSV classification set with 3 classes.
  static func csvData(in scratch: ScratchFolder, rows: Int = 60) -> String {
    var data = TestData(seed: 3)
    var text = "x0,x1,x2,x3,label\n"
    for _ in 0..<rows {
      let x = data.uniform(4)
      let label = x[0] + x[1] > 0.3 ? 2 : x[2] > 0 ? 1 : 0
      text += x.map { String($0) }.joined(separator: ",") + ",\(label)\n"
    }
    let path = scratch.file("train.csv")
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  @Test func sameSeedGivesIdenticalSavedWeights() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch)
    var saved: [Data] = []
    for name in ["a", "b"] {
      let run = try CommandRun([
        "train", "--data", data, "--model", "4-16-relu-dropout0.3-3", "--optimizer", "adam", "--epochs", "5",
        "--batch-size", "8", "--seed", "11", "--save", scratch.file("\(name).safetensors"),
      ])
      #expect(run.status == 0, "\(run.errors)")
      saved.append(try Data(contentsOf: URL(fileURLWithPath: scratch.file("\(name).safetensors"))))
    }
    #expect(saved[0] == saved[1])
  }

  @Test func saveEvaluatePredictRoundTrip() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch)
    let weights = scratch.file("w.safetensors")
    let metrics = scratch.file("m.jsonl")
    let train = try CommandRun([
      "train", "--data", data, "--model", "4-8-tanh-3", "--epochs", "3", "--validation-split", "0.25",
      "--save", weights, "--metrics", metrics, "--json",
    ])
    #expect(train.status == 0, "\(train.errors)")
    let lines = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == 3)
    let first = try JSONValue.parse(Array(lines[0].utf8))
    for key in ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "seconds", "samples_per_second"] {
      #expect(first[key] != nil, "missing \(key)")
    }

    let evaluate = try CommandRun(["evaluate", "--weights", weights, "--data", data, "--json"])
    #expect(evaluate.status == 0, "\(evaluate.errors)")
    #expect(try evaluate.json()["samples"] == .integer(60))

    let csv = scratch.file("p.csv")
    let npy = scratch.file("p.npy")
    #expect(try CommandRun(["predict", "--weights", weights, "--data", data, "--output", csv]).status == 0)
    #expect(try CommandRun(["predict", "--weights", weights, "--data", data, "--output", npy]).status == 0)
    let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
    #expect(rows.first == "prediction,p_0,p_1,p_2")
    #expect(rows.count == 61)
    let probabilities = try NPYFile.read(npy)
    #expect(probabilities.shape == [60, 3])
    for row in 0..<60 {
      let sum = probabilities.values[(row * 3)..<(row * 3 + 3)].reduce(0, +)
      #expect(abs(sum - 1) < 1e-5)
    }
    // Accuracy from the predictions agrees with evaluate's.
    let labels = try CSVReader.read(data, labelColumn: "label").targets
    let correct = rows.dropFirst().enumerated().filter {
      Float($0.element.split(separator: ",")[0]) == labels[$0.offset]
    }.count
    let accuracy = try evaluate.json()["accuracy"]?.doubleValue ?? -1
    #expect(abs(Double(correct) / 60 - accuracy) < 1e-9)
  }

  @Test func featureScalingTravelsWithTheWeights() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch)
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun([
      "train", "--data", data, "--test-data", data, "--model", "4-8-tanh-3", "--epochs", "4", "--scale", "standard",
      "--save", weights, "--json",
    ])
    #expect(train.status == 0, "\(train.errors)")
    let evaluate = try CommandRun(["evaluate", "--weights", weights, "--data", data, "--json"])
    #expect(evaluate.status == 0, "\(evaluate.errors)")
    #expect(try evaluate.json()["loss"]?.doubleValue == train.json()["test_loss"]?.doubleValue)
  }

  @Test func initContinuesFromSavedWeightsAndStepsLimitsTheRun() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch)
    let first = scratch.file("first.safetensors")
    let train = try CommandRun([
      "train", "--data", data, "--model", "4-6-relu-3", "--steps", "7", "--save", first, "--json",
    ])
    #expect(train.status == 0, "\(train.errors)")
    #expect(try train.json()["steps"] == .integer(7))
    // The spec comes from the file; a tiny learning rate barely moves the loss.
    let resumed = try CommandRun([
      "train", "--data", data, "--test-data", data, "--init", first, "--steps", "1", "--lr", "1e-9", "--json",
    ])
    #expect(resumed.status == 0, "\(resumed.errors)")
    let evaluate = try CommandRun(["evaluate", "--weights", first, "--data", data, "--json"])
    let before = try evaluate.json()["loss"]?.doubleValue ?? 0
    let after = try resumed.json()["test_loss"]?.doubleValue ?? 0
    #expect(abs(before - after) < 1e-6)
    #expect(try resumed.json()["model"] == .string("4-6-relu-3"))
  }

  /// Bad inputs: each gives one line on standard error naming the problem,
  /// a non-zero exit, and no output file.
  static let badInputs: [(name: String, arguments: [String], expected: String)] = [
    ("missing file", ["--data", "/no/such.csv", "--model", "4-3"], "/no/such.csv"),
    ("wrong IDX magic", ["--data", "@magic.idx", "--labels", "@labels.idx", "--model", "4-3"], "magic"),
    ("truncated IDX", ["--data", "@short.idx", "--labels", "@labels.idx", "--model", "4-3"], "truncated"),
    ("npy header lies", ["--data", "@lies.npy", "--labels", "@labels.idx", "--model", "4-3"], "truncated"),
    ("label out of range", ["--data", "@train.csv", "--model", "4-2"], "out of range"),
    ("feature count", ["--data", "@train.csv", "--model", "5-3"], "takes 5 inputs"),
    ("NaN feature", ["--data", "@nan.csv", "--model", "4-3"], "NaN"),
    ("empty data", ["--data", "@empty.csv", "--model", "4-3"], "no data rows"),
    ("bad model spec", ["--data", "@train.csv", "--model", "4-abc-3"], "unknown layer 'abc'"),
    ("unknown optimizer", ["--data", "@train.csv", "--model", "4-3", "--optimizer", "rmsprop"], "rmsprop"),
    (
      "damaged weights", ["--data", "@train.csv", "--model", "4-3", "--init", "@damaged.safetensors"],
      "damaged.safetensors"
    ),
    ("wrong weights", ["--data", "@train.csv", "--model", "4-3", "--init", "@other.safetensors"], "does not belong"),
    (
      "unwritable save", ["--data", "@train.csv", "--model", "4-3", "--save", "/no/such/folder/w.safetensors"], "--save"
    ),
    ("bad schedule", ["--data", "@train.csv", "--model", "4-3", "--schedule", "wavy"], "--schedule"),
    // Negative numbers reach the option's own check (not "missing value").
    ("negative lr", ["--data", "@train.csv", "--model", "4-3", "--lr", "-1"], "--lr must be a positive number"),
    ("negative epochs", ["--data", "@train.csv", "--model", "4-3", "--epochs", "-2"], "--epochs must be at least 1"),
    ("labels with csv", ["--data", "@train.csv", "--labels", "@labels.idx", "--model", "4-3"], "--labels"),
    (
      "flat data, image model", ["--data", "@train.csv", "--model", "1x2x2-conv3k1-flatten-3"],
      "samples are flat rows of 4 values but the model takes images of 1x2x2"
    ),
    (
      "image of another shape",
      ["--data", "@images.npy", "--labels", "@labels.idx", "--model", "1x4x4-conv2k3-flatten-3"],
      "samples are images of 2x2x2 but the model takes images of 1x4x4"
    ),
    (
      "damaged bn tensor",
      [
        "--data", "@images.npy", "--labels", "@labels.idx", "--model", "2x2x2-bn-flatten-3", "--init",
        "@bn.safetensors",
      ],
      "tensor '0.running_var' holds a negative variance"
    ),
    (
      "damaged conv tensor",
      [
        "--data", "@images.npy", "--labels", "@labels.idx", "--model", "2x2x2-conv3k1-flatten-3", "--init",
        "@conv.safetensors",
      ],
      "tensor '0.weight' has shape [4, 2, 1, 1]"
    ),
    (
      "augmenting rows", ["--data", "@train.csv", "--model", "4-3", "--augment", "flip"], "--augment: flip needs images"
    ),
    (
      "unknown convolution kernels", ["--data", "@train.csv", "--model", "4-3", "--convolution", "fft"], "--convolution"
    ),
  ]

  @Test(arguments: badInputs.map(\.name))
  func badInputGivesOneClearLine(name: String) throws {
    let case_ = Self.badInputs.first { $0.name == name }!
    let scratch = ScratchFolder()
    _ = Self.csvData(in: scratch)
    func write(_ name: String, _ bytes: [UInt8]) { writeFile(bytes, to: scratch.file(name)) }
    write("magic.idx", [8, 3, 0, 0] + [UInt8](repeating: 0, count: 40))
    write("short.idx", idxBytes(type: 8, shape: [60, 4], payload: [1, 2, 3]))
    write("labels.idx", idxBytes(type: 8, shape: [60], payload: [UInt8](repeating: 1, count: 60)))
    write(
      "lies.npy", npyBytes(header: "{'descr': '<f4', 'fortran_order': False, 'shape': (60, 4), }", data: [0, 0, 0, 0]))
    write("nan.csv", Array("a,b,c,d,label\n1,2,nan,4,0\n".utf8))
    write("empty.csv", Array("a,b,c,d,label\n".utf8))
    write("damaged.safetensors", [200, 0, 0, 0, 0, 0, 0, 0] + Array("{\"a\":".utf8))
    try Model(spec: try ModelSpec(parsing: "4-5-relu-3"), seed: 0).save(to: scratch.file("other.safetensors"))
    write(
      "images.npy",
      npyBytes(
        header: "{'descr': '<f4', 'fortran_order': False, 'shape': (60, 2, 2, 2), }",
        data: [UInt8](repeating: 0, count: 60 * 8 * 4)))
    let batchNorm = Model(spec: try ModelSpec(parsing: "2x2x2-bn-flatten-3"), seed: 0)
    batchNorm.parameters.base[batchNorm.network.layout.entries.first { $0.name == "0.running_var" }!.offset] = -1
    try batchNorm.save(to: scratch.file("bn.safetensors"))
    try Model(spec: try ModelSpec(parsing: "2x2x2-conv4k1-flatten-3"), seed: 0).save(
      to: scratch.file("conv.safetensors"))

    let output = scratch.file("out.safetensors")
    var arguments = ["train"] + case_.arguments.map { $0.hasPrefix("@") ? scratch.file(String($0.dropFirst())) : $0 }
    if !arguments.contains("--save") { arguments += ["--save", output] }
    let run = try CommandRun(arguments)
    #expect(run.status != 0)
    let lines = run.errors.split(separator: "\n")
    #expect(lines.count == 1, "stderr: \(run.errors)")
    #expect(run.errors.contains(case_.expected), "stderr: \(run.errors)")
    #expect(!FileManager.default.fileExists(atPath: output))
    #expect(run.output.isEmpty)
  }

  @Test func evaluateAndPredictRefuseBadWeights() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch)
    writeFile(Array("not a safetensors file".utf8), to: scratch.file("w.safetensors"))
    let evaluate = try CommandRun(["evaluate", "--weights", scratch.file("w.safetensors"), "--data", data])
    #expect(evaluate.status != 0)
    #expect(evaluate.errors.split(separator: "\n").count == 1)
    let predict = try CommandRun([
      "predict", "--weights", scratch.file("w.safetensors"), "--data", data, "--output", scratch.file("p.csv"),
    ])
    #expect(predict.status != 0)
    #expect(!FileManager.default.fileExists(atPath: scratch.file("p.csv")))
  }

  @Test func fashionMNISTFolderCanBeChosen() throws {
    // Four tiny IDX files standing in for Fashion-MNIST: 3 training images, 2 test images.
    let scratch = ScratchFolder()
    for (name, count) in [("train", 3), ("t10k", 2)] {
      writeFile(
        idxBytes(type: 8, shape: [count, 28, 28], payload: [UInt8](repeating: 255, count: count * 784)),
        to: scratch.file("\(name)-images-idx3-ubyte.gz"), gzip: true)
      writeFile(
        idxBytes(type: 8, shape: [count], payload: (0..<count).map(UInt8.init)),
        to: scratch.file("\(name)-labels-idx1-ubyte.gz"), gzip: true)
    }
    let run = try CommandRun([
      "train", "--data", "fashion-mnist", "--fashion-mnist-dir", scratch.path, "--model", "784-10", "--epochs", "1",
      "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    #expect(try run.json()["test_samples"] == .integer(2))
    let byEnvironment = try CommandRun(
      ["train", "--data", "fashion-mnist", "--model", "784-10", "--epochs", "1", "--json"],
      environment: [DatasetLoader.fashionMNISTEnvironmentVariable: scratch.path])
    #expect(byEnvironment.status == 0, "\(byEnvironment.errors)")
    #expect(try byEnvironment.json()["test_samples"] == .integer(2))
  }

  @Test(.enabled(if: Topology.shared.allowedUnits.count >= 2, "this process may use only one CPU"))
  func workersAreLongLivedAndPinnedToTheirPlannedCPUs() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch, rows: 400)
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-64-relu-3", "--threads", "2", "--batch-size", "64", "--epochs", "3",
      "--profile", "--json", "--min-work-per-thread", "0",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let profile = try #require(try run.json()["profile"])
    #expect(profile["execution"] == .string("long-lived workers meeting at per-step barriers"))
    let planned = try #require(profile["planned_cpus"]?.arrayValue, "no planned CPUs in the profile")
    let ran = try #require(profile["worker_cpus"]?.arrayValue, "no worker CPUs in the profile")
    #expect(planned.count == 2 && ran.count == 2)
    for (unit, cpus) in zip(planned, ran) {
      #expect(cpus.stringValue?.hasPrefix("CPU \(unit.integerValue ?? -1) (100.0% of") == true, "\(cpus)")
    }
  }

  /// `--convolution` picks the kernels `--profile` names, and both train the
  /// same image model to the same loss within rounding.
  @Test func convolutionKernelsAreChosenAndNamed() throws {
    let scratch = ScratchFolder()
    var data = TestData(seed: 3)
    let images = scratch.file("images.npy")
    writeFile(
      npyBytes(
        header: "{'descr': '<f4', 'fortran_order': False, 'shape': (64, 2, 6, 6), }",
        data: data.uniform(64 * 72).flatMap { withUnsafeBytes(of: Float($0).bitPattern.littleEndian, Array.init) }),
      to: images)
    let labels = scratch.file("labels.idx")
    writeFile(idxBytes(type: 8, shape: [64], payload: (0..<64).map { UInt8($0 % 3) }), to: labels)
    var losses: [Double] = []
    var choices: [ConvolutionKernels] = [.im2col]
    if ConvolutionKernels.oneDNNAvailable { choices.append(.onednn) }
    for kernels in choices {
      let run = try CommandRun([
        "train", "--data", images, "--labels", labels, "--model", "2x6x6-conv16k3p1-relu-maxpool2-flatten-3",
        "--epochs", "2", "--batch-size", "16", "--threads", "1", "--convolution", kernels.rawValue, "--profile",
        "--json",
      ])
      #expect(run.status == 0, "\(run.errors)")
      let json = try run.json()
      let list = try #require(json["profile"]?["convolutions"]?.arrayValue, "no convolutions in the profile")
      let lines = list.compactMap { $0.stringValue }
      #expect(lines.count == 1)
      let expected = kernels == .im2col ? "forward im2col" : "forward oneDNN "
      #expect(lines.first?.contains(expected) == true, "\(lines)")
      losses.append(try #require(json["train_loss"]?.doubleValue))
    }
    if losses.count == 2 { #expect(abs(losses[0] - losses[1]) < 1e-4 * max(1, abs(losses[0])), "\(losses)") }
  }

  @Test func moreThreadsThanCPUsWorksButWarns() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch)
    let threads = Topology.shared.allowedUnits.count + 1
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-8-relu-3", "--threads", String(threads), "--batch-size", "16",
      "--epochs", "2", "--quiet", "--profile", "--json", "--min-work-per-thread", "0",
    ])
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.errors.contains("warning: --threads \(threads) is more than"))
    #expect(try run.json()["threads"] == .integer(threads))
    #expect(try run.json()["profile"]?["execution"]?.stringValue?.hasPrefix("fork/join") == true)
  }

  @Test func tinyModelsUseFewerThreadsAndSaySo() throws {
    let run = try CommandRun([
      "train", "--data", "xor", "--model", "2-8-tanh-1", "--threads", "2", "--epochs", "2", "--batch-size", "4",
      "--quiet", "--profile", "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let profile = try #require(try run.json()["profile"])
    #expect(profile["workers"] == .integer(1))
    // Per sample: 2·3·8 forward and 2·3·8 for the first layer's parameter
    // gradient (its input gradient is never needed), 8 + 8 for tanh, and
    // 2·9·1 + 2·9·1 + 2·8·1 for the last layer: 164; × 4 samples = 656.
    #expect(profile["fewer_workers_reason"]?.stringValue?.contains("656 training FLOPs") == true)
    #expect(profile["execution"] == .string("one worker on the calling thread"))
  }

  @Test func topologyDescribesTheMachineAndThePlan() throws {
    let run = try CommandRun(["topology", "--threads", "3", "--pin", "spread", "--json"])
    #expect(run.status == 0, "\(run.errors)")
    let json = try run.json()
    let plan = try #require(json["plan"]?.arrayValue, "no plan")
    #expect(plan.count == 3)
    #expect(json["allowed_cores"]?.integerValue == Topology.shared.allowedCores)
    #expect(try CommandRun(["topology"]).output.contains("plan: "))
  }

  @Test func scaleWritesItsTable() throws {
    let scratch = ScratchFolder()
    let data = Self.csvData(in: scratch, rows: 200)
    let run = try CommandRun([
      "scale", "--data", data, "--model", "4-16-relu-3", "--threads", "1,2", "--batch-size", "16", "--warm-up", "2",
      "--measure", "5", "--repeats", "1", "--output", scratch.file("scaling"), "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let rows = try #require(try run.json()["rows"]?.arrayValue, "no rows")
    #expect(rows.map { $0["threads"] } == [.integer(1), .integer(2)])
    for row in rows {
      for key in ["samples_per_second", "speedup", "efficiency", "serial_fraction", "update_share"] {
        #expect(row[key] != nil, "missing \(key)")
      }
    }
    #expect(rows[0]["speedup"]?.doubleValue == 1)
    // The second row against the first: speedup is the ratio of the
    // throughputs, efficiency the speedup per thread, and Karp–Flatt's
    // serial fraction (1/S − 1/p) / (1 − 1/p).
    let rate = rows.map { $0["samples_per_second"]?.doubleValue ?? 0 }
    #expect(rate.allSatisfy { $0 > 0 })
    let speedup = try #require(rows[1]["speedup"]?.doubleValue)
    #expect(abs(speedup - rate[1] / rate[0]) < 0.01 * speedup)
    #expect(abs((rows[1]["efficiency"]?.doubleValue ?? -1) - speedup / 2) < 0.01)
    let serial = try #require(rows[1]["serial_fraction"]?.doubleValue)
    #expect(abs(serial - (1 / speedup - 0.5) / 0.5) < 0.01)
    #expect((0...1).contains(rows[1]["update_share"]?.doubleValue ?? -1))
    let csv = try String(contentsOfFile: scratch.file("scaling.csv"), encoding: .utf8)
    #expect(csv.split(separator: "\n").count == 3)
  }

  /// Whether the Debian package `dataset-fashion-mnist` is installed.
  static let fashionMNISTInstalled = FileManager.default.isReadableFile(
    atPath: DatasetLoader.fashionMNISTDefaultDirectory + "/train-images-idx3-ubyte.gz")

  @Test(.enabled(if: fashionMNISTInstalled, "Fashion-MNIST is not installed (dataset-fashion-mnist)"))
  func fashionMNISTTrainsWhenInstalled() throws {
    let run = try CommandRun([
      "train", "--data", "fashion-mnist", "--model", "784-64-relu-10", "--steps", "150", "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let accuracy = try run.json()["test_accuracy"]?.doubleValue ?? 0
    #expect(accuracy > 0.7)
  }
}
