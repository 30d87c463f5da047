import Backprop
import Testing
import _BackpropTestSupport

/// Convolutional networks against PyTorch: the fixture made by
/// `tools/make_cnn_fixtures.py` (every image layer, batch norm's running
/// statistics and batch count included).
@Suite struct PyTorchConvolutionalReferenceTests {
  static let reference = try! Safetensors.read(Fixtures.path("pytorch_cnn_reference.safetensors"))
  static let spec = try! ModelSpec(parsing: reference.metadata["spec"]!)

  static var configurations: [JSONValue] {
    guard case .array(let configs) = try! JSONValue.parse(Array(reference.metadata["configs"]!.utf8)) else { return [] }
    return configs
  }

  static func values(_ name: String) -> [Float] { reference.tensor(named: name)!.values }

  static var data: Dataset {
    var data = Dataset(
      features: values("x"), featureWidth: spec.inputWidth, targets: values("y"), targetWidth: 1, source: "fixture")
    data.sampleShape = spec.inputShape
    return data
  }

  /// The model with the fixture's tensors under `prefix`: every name and
  /// shape of PyTorch's `state_dict`, none left over.
  static func model(prefix: String) throws -> Model {
    let model = Model(spec: spec, loss: .softmaxCrossEntropy)
    for entry in model.network.layout.entries {
      let tensor = try #require(reference.tensor(named: prefix + entry.name), "\(entry.name)")
      #expect(tensor.shape == entry.shape, "\(entry.name)")
      (model.parameters.base + entry.offset).update(from: tensor.values, count: entry.count)
    }
    let names = reference.tensors.map(\.name).filter { $0.hasPrefix(prefix) }
    #expect(names.count == model.network.layout.entries.count)
    return model
  }

  static let runs = configurations.map { $0["name"]!.stringValue! }.flatMap { name in
    [(name, GradientStrategy.unitSlices, 1), (name, .unitSlices, 2), (name, .allReduce, 2), (name, .allReduce, 3)]
  }

  /// Ten full-batch steps of SGD with momentum and of AdamW, at 1 to 3
  /// workers under each strategy: the same weights, running statistics and
  /// batch counts as PyTorch within 1e-4, then the same outputs in eval mode.
  @Test(arguments: runs)
  func tenStepsMatchPyTorch(_ name: String, strategy: GradientStrategy, threads: Int) throws {
    let config = try #require(Self.configurations.first { $0["name"]?.stringValue == name })
    let model = try Self.model(prefix: "initial/")
    var settings = OptimizerSettings(
      kind: OptimizerSettings.Kind(rawValue: config["optimizer"]!.stringValue!)!,
      learningRate: config["lr"]!.doubleValue!)
    settings.momentum = config["momentum"]?.doubleValue ?? 0
    settings.weightDecay = config["weight_decay"]?.doubleValue ?? 0
    var options = TrainingOptions()
    (options.epochs, options.batchSize, options.shuffle, options.optimizer) = (10, 16, false, settings)
    (options.gradients, options.threads, options.minimumWorkPerThread) = (strategy, threads, 0)
    let history = try Trainer(model: model, training: Self.data, options: options).train()

    guard case .array(let losses) = config["losses"]! else { Issue.record("no losses"); return }
    #expect(worstRelativeError(history.map { Float($0.trainLoss) }, losses.map { Float($0.doubleValue!) }) < 1e-4)
    for entry in model.network.layout.entries {
      let actual = Array(model.parameters.pointer[entry.range])
      let expected = Self.values("\(name)/final/\(entry.name)")
      let error = normRelativeError(actual, expected)
      #expect(error < 1e-4, "\(name) \(entry.name): relative error \(error)")
    }
    let counts = model.network.layout.entries.filter { $0.kind == .count }
    #expect(counts.count == 3 && counts.allSatisfy { model.parameters.base[$0.offset] == 10 })
    let output = model.outputs(for: Self.data)
    #expect(normRelativeError(output, Self.values("\(name)/eval_output")) < 1e-4)
  }

  /// The fixture's initial weights as PyTorch saved them (with an I64 batch
  /// count) load through `Model.load` and come back out with the same names,
  /// shapes and dtypes.
  @Test func aPyTorchStateDictLoadsAndSavesBackTheSame() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("initial.safetensors")
    let initial = Self.reference.tensors.filter { $0.name.hasPrefix("initial/") }.map {
      Safetensors.Tensor(
        name: String($0.name.dropFirst("initial/".count)), shape: $0.shape, values: $0.values, dtype: $0.dtype)
    }
    #expect(initial.filter { $0.dtype == "I64" }.count == 3)
    writeFile(Safetensors.encode(tensors: initial, metadata: [:]), to: path)
    let model = try Model.load(from: path, spec: Self.spec)
    #expect(model.tensors.map(\.name).sorted() == initial.map(\.name).sorted())
    for tensor in model.tensors {
      let original = try #require(initial.first { $0.name == tensor.name })
      #expect(tensor.shape == original.shape && tensor.values == original.values && tensor.dtype == original.dtype)
    }
  }
}
