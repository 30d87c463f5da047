import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// `backprop summary` against PyTorch: the fixture made by
/// `tools/make_summary_fixtures.py` (the README's recipes built by hand as
/// `nn.Sequential`s) gives each model's trained parameters, buffers and
/// per-layer output shapes.
@Suite struct ModelSummaryTests {
  static let reference: [JSONValue] = {
    let bytes = try! Data(contentsOf: URL(fileURLWithPath: Fixtures.path("pytorch_summaries.json")))
    return try! JSONValue.parse(Array(bytes))["models"]!.arrayValue!
  }()

  @Test(arguments: 0..<6) func parametersAndShapesAreThoseOfPyTorch(index: Int) throws {
    let expected = Self.reference[index]
    let spec = try #require(expected["spec"]?.stringValue)
    let run = try CommandRun(["summary", "--model", spec, "--json"])
    #expect(run.status == 0, "\(run.errors)")
    let summary = try run.json()
    #expect(summary["parameters"]?.integerValue == expected["parameters"]?.integerValue, "\(spec)")
    #expect(summary["buffers"]?.integerValue == expected["buffers"]?.integerValue, "\(spec)")
    let shapes = try #require(expected["output_shapes"]?.arrayValue).map { shape in
      (shape.arrayValue ?? []).compactMap(\.integerValue).map(String.init).joined(separator: "x")
    }
    let layers = try #require(summary["layers"]?.arrayValue)
    #expect(layers.compactMap { $0["output"]?.stringValue } == shapes, "\(spec)")
    // The layers' counts add up to the totals.
    #expect(layers.compactMap { $0["parameters"]?.integerValue }.reduce(0, +) == summary["parameters"]?.integerValue)
  }

  /// FLOPs per sample by hand for a small MLP: a dense layer's forward is a
  /// multiply and an add per weight; training adds the weights' gradient
  /// (the same again) and, above the first layer, the input's (again).
  @Test func flopsFollowTheProductsOfEachLayer() throws {
    let summary = ModelSummary(spec: try ModelSpec(parsing: "4-16-relu-3"), options: TrainingOptions())
    let (first, last) = (summary.rows[0], summary.rows[2])
    #expect(first.forwardFLOPs >= 2 * 4 * 16 && first.forwardFLOPs <= 2 * 4 * 16 + 2 * 16)
    #expect(last.forwardFLOPs >= 2 * 16 * 3 && last.forwardFLOPs <= 2 * 16 * 3 + 2 * 3)
    // No input gradient below the first layer with parameters; one above it.
    #expect(first.trainingFLOPs < 3 * first.forwardFLOPs)
    #expect(last.trainingFLOPs >= 3 * 2 * 16 * 3)
    #expect(summary.rows[1].parameters == 0 && summary.rows[1].outputShape.count == 16)
  }

  /// Memory per worker follows its share of the batch: 128 rows over 2
  /// workers take what 64 rows take on one; the shared vectors count the
  /// optimizer's state (Adam's two moments: 4 vectors, SGD: 2).
  @Test func memoryFollowsTheWorkersShareAndTheOptimizer() throws {
    let spec = try ModelSpec(parsing: "1x28x28-conv8k3p1-bn-relu-maxpool2-flatten-10")
    var options = TrainingOptions()
    (options.batchSize, options.threads) = (128, 2)
    let two = ModelSummary(spec: spec, options: options)
    (options.batchSize, options.threads) = (64, 1)
    let one = ModelSummary(spec: spec, options: options)
    #expect(two.memory.perWorker == one.memory.perWorker && two.memory.workers == 2)
    options.optimizer = OptimizerSettings(kind: .adam, learningRate: 0.001)
    let adam = ModelSummary(spec: spec, options: options)
    #expect(adam.memory.vectors == 2 * one.memory.vectors)
    #expect((adam.memory.total ?? 0) > adam.memory.vectors + adam.memory.perWorker)
  }

  /// Saved weights are summarised as their spec is; damaged ones are one line.
  @Test func savedWeightsAreSummarisedAndDamagedOnesRefused() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let weights = scratch.file("w.safetensors")
    let train = try CommandRun([
      "train", "--data", data, "--model", "4-8-bn-relu-3", "--epochs", "1", "--save", weights, "--quiet",
    ])
    #expect(train.status == 0, "\(train.errors)")
    let fromFile = try CommandRun(["summary", "--weights", weights])
    let fromSpec = try CommandRun(["summary", "--model", "4-8-bn-relu-3"])
    #expect(fromFile.status == 0 && fromFile.output == fromSpec.output, "\(fromFile.errors)")
    #expect(fromFile.output.contains("17 running statistics"), "\(fromFile.output)")
    var bytes = try Data(contentsOf: URL(fileURLWithPath: weights))
    bytes.removeLast(8)
    try bytes.write(to: URL(fileURLWithPath: weights))
    let damaged = try CommandRun(["summary", "--weights", weights])
    #expect(damaged.status != 0)
    #expect(damaged.errors.hasPrefix("backprop: error: ") && damaged.errors.contains(weights), "\(damaged.errors)")
    #expect(damaged.errors.split(separator: "\n").count == 1, "\(damaged.errors)")
    let neither = try CommandRun(["summary"])
    #expect(neither.status != 0 && neither.errors.contains("--model"), "\(neither.errors)")
  }
}
