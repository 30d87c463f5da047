import Backprop
import Testing
import _BackpropTestSupport

/// Backprop against PyTorch: fixtures made by `tools/make_fixtures.py`.
@Suite struct PyTorchReferenceTests {
  static let reference = try! Safetensors.read(Fixtures.path("pytorch_reference.safetensors"))

  static var configurations: [JSONValue] {
    guard case .array(let configs) = try! JSONValue.parse(Array(reference.metadata["configs"]!.utf8)) else { return [] }
    return configs
  }

  static func values(_ name: String) -> [Float] { reference.tensor(named: name)!.values }

  /// A model whose parameters are the fixture's tensors under `prefix`.
  static func model(spec text: String, loss: Loss?, prefix: String) throws -> Model {
    let spec = try ModelSpec(parsing: text)
    let model = Model(spec: spec, loss: loss)
    for entry in model.network.layout.entries {
      let tensor = reference.tensor(named: prefix + entry.name)!
      #expect(tensor.shape == entry.shape)
      (model.parameters.base + entry.offset).update(from: tensor.values, count: entry.count)
    }
    return model
  }

  static func data(for loss: Loss) -> Dataset {
    let x = values("x")
    switch loss {
    case .softmaxCrossEntropy:
      return Dataset(features: x, featureWidth: 6, targets: values("y_class"), targetWidth: 1, source: "fixture")
    case .binaryCrossEntropy:
      return Dataset(features: x, featureWidth: 6, targets: values("y_binary"), targetWidth: 1, source: "fixture")
    case .meanSquaredError:
      return Dataset(features: x, featureWidth: 6, targets: values("y_regression"), targetWidth: 2, source: "fixture")
    }
  }

  /// Each configuration, under each gradient strategy on two workers (one
  /// worker reduces nothing, so both strategies would be the same code).
  @Test(arguments: configurations.map { $0["name"]!.stringValue! }, GradientStrategy.allCases)
  func tenStepsMatchPyTorch(_ name: String, strategy: GradientStrategy) throws {
    let config = Self.configurations.first { $0["name"]?.stringValue == name }!
    let loss = Loss(name: config["loss"]!.stringValue!)!
    let model = try Self.model(spec: config["model"]!.stringValue!, loss: loss, prefix: "\(name)/initial/")
    var settings = OptimizerSettings(
      kind: OptimizerSettings.Kind(rawValue: config["optimizer"]!.stringValue!)!,
      learningRate: config["lr"]!.doubleValue!)
    settings.momentum = config["momentum"]?.doubleValue ?? 0
    settings.nesterov = config["nesterov"] == .bool(true)
    settings.weightDecay = config["weight_decay"]?.doubleValue ?? 0
    var options = TrainingOptions()
    let steps = Int(Self.reference.metadata["steps"]!)!
    options.epochs = steps
    options.batchSize = 16
    options.shuffle = false
    options.optimizer = settings
    options.schedule = LearningRateSchedule(
      parsing: config["schedule"]?.stringValue ?? "constant", warmupSteps: config["warmup"]?.integerValue ?? 0)!
    options.clipGradientNorm = config["clip"]?.doubleValue
    (options.gradients, options.threads, options.minimumWorkPerThread) = (strategy, 2, 0)
    let history = try Trainer(model: model, training: Self.data(for: loss), options: options).train()

    guard case .array(let losses) = config["losses"]! else { Issue.record("no losses"); return }
    let ours = history.map { Float($0.trainLoss) }
    #expect(worstRelativeError(ours, losses.map { Float($0.doubleValue!) }) < 1e-5)
    for entry in model.network.layout.entries {
      let actual = Array(model.parameters.pointer[entry.offset..<(entry.offset + entry.count)])
      let expected = Self.values("\(name)/final/\(entry.name)")
      let error = normRelativeError(actual, expected)
      #expect(error < 1e-5, "\(name) \(entry.name): relative error \(error)")
    }
  }

  @Test func forwardPassAndLossesMatchPyTorch() throws {
    let model = try Self.model(spec: Self.reference.metadata["forward_spec"]!, loss: nil, prefix: "forward/")
    let data = Self.data(for: .softmaxCrossEntropy)
    let output = model.outputs(for: data)
    #expect(worstRelativeError(output, Self.values("forward/output")) < 1e-5)

    let losses = try JSONValue.parse(Array(Self.reference.metadata["forward_losses"]!.utf8))
    let y = Self.values("y_class")
    let binary = Self.values("y_binary")
    let regression = Self.values("y_regression")
    let first = stride(from: 0, to: output.count, by: 3).map { output[$0] }
    let firstTwo = stride(from: 0, to: output.count, by: 3).flatMap { output[$0..<($0 + 2)] }
    let crossEntropy =
      Loss.softmaxCrossEntropy.evaluate(
        logits: output, targets: y, rows: 16, outputs: 3, targetWidth: 1, gradient: nil as UnsafeMutablePointer<Float>?
      ).loss / 16
    let bce =
      Loss.binaryCrossEntropy.evaluate(
        logits: first, targets: binary, rows: 16, outputs: 1, targetWidth: 1,
        gradient: nil as UnsafeMutablePointer<Float>?
      ).loss / 16
    let mse =
      Loss.meanSquaredError.evaluate(
        logits: firstTwo, targets: regression, rows: 16, outputs: 2, targetWidth: 2,
        gradient: nil as UnsafeMutablePointer<Float>?
      ).loss / 16
    #expect(abs(crossEntropy - losses["cross-entropy"]!.doubleValue!) < 1e-5 * abs(crossEntropy))
    #expect(abs(bce - losses["binary-cross-entropy"]!.doubleValue!) < 1e-5 * abs(bce))
    #expect(abs(mse - losses["mse"]!.doubleValue!) < 1e-5 * abs(mse))
  }
}
