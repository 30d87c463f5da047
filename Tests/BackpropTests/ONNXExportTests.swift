import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// `backprop export --onnx`: files that ONNX's checker accepts and
/// onnxruntime runs (through `tools/run_onnx.py`) to the outputs of
/// `backprop predict`, within 1e-5.
@Suite struct ONNXExportTests {
  /// Raw features as a float32 `.npy` file, and labels as an IDX file.
  static func data(in scratch: ScratchFolder, shape: [Int], classes: Int, seed: UInt64) -> (String, String) {
    var generator = TestData(seed: seed)
    let rows = shape[0]
    let count = shape.reduce(1, *)
    // Features on several scales, so that feature scaling matters.
    let values = generator.uniform(count).enumerated().map { Float($1) * Float(1 + $0 % 7) + Float($0 % 3) }
    let features = scratch.file("x.npy")
    FirstHourDataTests.npy(values, shape: shape, to: features)
    let labels = scratch.file("y.idx")
    writeFile(idxBytes(type: 8, shape: [rows], payload: (0..<rows).map { UInt8($0 * 5 % classes) }), to: labels)
    return (features, labels)
  }

  /// The float32 values of a `.npy` file Backprop or NumPy wrote.
  static func npyValues(_ path: String) throws -> [Float] {
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
    let start = 10 + headerLength
    return stride(from: start, to: bytes.count, by: 4).map { offset in
      Float(bitPattern: bytes[offset..<(offset + 4)].reversed().reduce(0) { $0 << 8 | UInt32($1) })
    }
  }

  static let models: [(spec: String, shape: [Int], extra: [String], output: [Int])] = [
    ("4-16-gelu-8-leakyrelu0.2-8-tanh-8-sigmoid-dropout0.2-3", [60, 4], ["--scale", "standard"], [3]),
    (
      "2x6x6-conv8k3p1-bn-relu-maxpool2-conv4k3s2p1-relu-avgpool2s1-gap-flatten-5-bn-relu-3", [40, 2, 6, 6],
      ["--scale", "standard"], [3]
    ),
    ("1x5x5-conv3k2-tanh-flatten-dropout-6-relu-1", [30, 1, 5, 5], ["--loss", "bce"], [1]),
  ]

  @Test(
    .enabled(if: TestPython.available, "no Python with onnx and onnxruntime (tools/test-venv.sh)"), arguments: 0..<3)
  func exportedModelsGiveThePredictionsOfBackprop(index: Int) throws {
    let (spec, shape, extra, output) = Self.models[index]
    let scratch = ScratchFolder()
    let (features, labels) = Self.data(in: scratch, shape: shape, classes: output == [1] ? 2 : 3, seed: UInt64(index))
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun(
      [
        "train", "--data", features, "--labels", labels, "--model", spec, "--epochs", "3", "--batch-size", "8",
        "--save", weights, "--quiet",
      ] + extra)
    #expect(train.status == 0, "\(train.errors)")
    let predict = try CommandRun([
      "predict", "--weights", weights, "--data", features, "--output", scratch.file("p.npy"),
    ])
    #expect(predict.status == 0, "\(predict.errors)")
    let expected = try Self.npyValues(scratch.file("p.npy"))
    #expect(expected.count == shape[0] * output[0])
    let onnx = scratch.file("m.onnx")
    let export = try CommandRun(["export", "--weights", weights, "--onnx", onnx, "--probabilities"])
    #expect(export.status == 0, "\(export.errors)")
    let run = try TestPython.run("run_onnx.py", [onnx, features, scratch.file("o.npy")])
    #expect(run.status == 0, "\(run.errors)")
    let info = try JSONValue.parse(Array(run.output.utf8))
    #expect(info["opset"]?.integerValue == 17 && info["ir_version"]?.integerValue == 8)
    #expect(
      info["input"]?.serialized()
        == JSONValue.array([.string("input"), .array([.string("N")] + shape.dropFirst().map { .integer($0) })])
        .serialized())
    #expect(info["output"]?.serialized() == "[\"probabilities\",[\"N\",\(output[0])]]")
    let actual = try Self.npyValues(scratch.file("o.npy"))
    #expect(actual.count == expected.count)
    let largest = zip(actual, expected).map { abs($0 - $1) }.max() ?? .infinity
    #expect(largest < 1e-5, "\(spec): \(largest)")
  }

  /// Without `--probabilities` the file gives the logits, whose softmax is `predict`'s.
  @Test(.enabled(if: TestPython.available, "no Python with onnx and onnxruntime (tools/test-venv.sh)"))
  func logitsAreTheDefault() throws {
    let scratch = ScratchFolder()
    let (features, labels) = Self.data(in: scratch, shape: [20, 4], classes: 3, seed: 9)
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun([
      "train", "--data", features, "--labels", labels, "--model", "4-8-relu-3", "--epochs", "2", "--save", weights,
      "--quiet",
    ])
    #expect(train.status == 0, "\(train.errors)")
    _ = try CommandRun(["predict", "--weights", weights, "--data", features, "--output", scratch.file("p.npy")])
    _ = try CommandRun(["export", "--weights", weights, "--onnx", scratch.file("m.onnx")])
    let run = try TestPython.run("run_onnx.py", [scratch.file("m.onnx"), features, scratch.file("o.npy")])
    #expect(run.status == 0, "\(run.errors)")
    #expect(try JSONValue.parse(Array(run.output.utf8))["output"]?.serialized() == "[\"logits\",[\"N\",3]]")
    let (logits, probabilities) = (try Self.npyValues(scratch.file("o.npy")), try Self.npyValues(scratch.file("p.npy")))
    for row in 0..<20 {
      let z = logits[(row * 3)..<(row * 3 + 3)].map(Double.init)
      let top = z.max()!
      let e = z.map { Foundation.exp($0 - top) }
      for k in 0..<3 { #expect(abs(e[k] / e.reduce(0, +) - Double(probabilities[row * 3 + k])) < 1e-5) }
    }
  }

  /// The class and feature names travel in the file's metadata.
  @Test(.enabled(if: TestPython.available, "no Python with onnx and onnxruntime (tools/test-venv.sh)"))
  func namesTravelInTheMetadata() throws {
    let scratch = ScratchFolder()
    let (data, _) = EvaluateReportTests.data(in: scratch)
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun([
      "train", "--data", data, "--label-column", "species", "--model", "4-8-relu-3", "--epochs", "1", "--save",
      weights, "--quiet",
    ])
    #expect(train.status == 0, "\(train.errors)")
    #expect(try CommandRun(["export", "--weights", weights, "--onnx", scratch.file("m.onnx")]).status == 0)
    FirstHourDataTests.npy([0, 0, 0, 0], shape: [1, 4], to: scratch.file("x.npy"))
    let run = try TestPython.run("run_onnx.py", [scratch.file("m.onnx"), scratch.file("x.npy"), scratch.file("o.npy")])
    #expect(run.status == 0, "\(run.errors)")
    let metadata = try JSONValue.parse(Array(run.output.utf8))["metadata"]
    #expect(metadata?["backprop.spec"]?.stringValue == "4-8-relu-3")
    let classes = try JSONValue.parse(Array((metadata?["backprop.classes"]?.stringValue ?? "").utf8))
    #expect(classes.arrayValue?.compactMap(\.stringValue) == EvaluateReportTests.names)
    let features = try JSONValue.parse(Array((metadata?["backprop.features"]?.stringValue ?? "").utf8))
    #expect(features.arrayValue?.compactMap(\.stringValue) == ["a", "b", "c", "d"])
  }

  @Test func damagedWeightsAndMeaninglessRequestsAreOneLine() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let weights = scratch.file("w.safetensors")
    #expect(
      try CommandRun(["train", "--data", data, "--model", "4-8-relu-3", "--epochs", "1", "--save", weights, "--quiet"])
        .status == 0)
    var bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
    bytes[bytes.count - 3] ^= 0xFF
    bytes.removeLast(16)
    let damaged = scratch.file("damaged.safetensors")
    try bytes.write(to: URL(fileURLWithPath: damaged))
    let onnx = scratch.file("m.onnx")
    let run = try CommandRun(["export", "--weights", damaged, "--onnx", onnx])
    #expect(run.status != 0)
    #expect(run.errors.hasPrefix("backprop: error: ") && run.errors.contains(damaged), "\(run.errors)")
    #expect(run.errors.split(separator: "\n").count == 1)
    #expect(!FileManager.default.fileExists(atPath: onnx))
    // Regression outputs are not probabilities.
    let line = scratch.file("line.csv")
    try "x,y\n0.1,0.3\n0.5,1.1\n0.9,1.7\n".write(toFile: line, atomically: true, encoding: .utf8)
    let regression = scratch.file("r.safetensors")
    #expect(
      try CommandRun([
        "train", "--data", line, "--label-column", "y", "--loss", "mse", "--model", "1-1", "--epochs", "1", "--save",
        regression, "--quiet",
      ]).status == 0)
    let refused = try CommandRun(["export", "--weights", regression, "--onnx", onnx, "--probabilities"])
    #expect(refused.status != 0 && refused.errors.contains("--probabilities"), "\(refused.errors)")
    #expect(!FileManager.default.fileExists(atPath: onnx))
    // The weights file is not an output.
    let same = try CommandRun(["export", "--weights", weights, "--onnx", weights])
    #expect(same.status != 0, "\(same.errors)")
    #expect(try Data(contentsOf: URL(fileURLWithPath: weights)).count > 0)
  }
}
