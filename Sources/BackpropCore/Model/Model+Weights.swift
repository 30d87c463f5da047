/// A weights file that cannot be used: damaged, or not matching the model.
public struct WeightsError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The file.
  public let path: String
  /// What is wrong.
  public let reason: String
  public var description: String { "\(path): \(reason)" }
}

extension Model {
  /// The metadata key holding the model spec.
  package static let specKey = "backprop.model"
  /// The metadata key holding the loss.
  package static let lossKey = "backprop.loss"
  /// The metadata key holding the feature scaling, as JSON.
  package static let scalingKey = "backprop.feature_scaling"
  /// The metadata key holding the data schema (feature, label and class names), as JSON.
  package static let schemaKey = "backprop.data"
  /// The metadata key saying what a file is (`"checkpoint"` for a training checkpoint).
  package static let kindKey = "backprop.kind"

  /// The parameters as named tensors with the names and shapes of
  /// `torch.nn.Sequential`'s `state_dict` (`0.weight` is `[out, in]`).
  public var tensors: [Safetensors.Tensor] {
    network.layout.entries.map { entry in
      Safetensors.Tensor(
        name: entry.name, shape: entry.shape,
        values: Array(parameters.pointer[entry.offset..<(entry.offset + entry.count)]),
        dtype: entry.kind == .count ? "I64" : "F32")
    }
  }

  /// The metadata a weights file carries: the model spec, loss, feature
  /// scaling and data schema, in the keys ``load(from:)`` reads.
  package func weightsMetadata() -> [String: String] {
    var metadata = ["format": "pt", Model.specKey: spec.description, Model.lossKey: loss.rawValue]
    if let featureScaler { metadata[Model.scalingKey] = featureScaler.json.serialized() }
    if let dataSchema { metadata[Model.schemaKey] = dataSchema.json.serialized() }
    return metadata
  }

  /// The parameters as views with the names and shapes of ``tensors``,
  /// borrowed from the parameter vector.
  func parameterViews() -> [Safetensors.View] {
    network.layout.entries.map { entry in
      Safetensors.View(
        name: entry.name, shape: entry.shape,
        values: UnsafeBufferPointer(start: parameters.base + entry.offset, count: entry.count),
        isCount: entry.kind == .count)
    }
  }

  /// The bytes of a `.safetensors` file holding the weights, with the model
  /// spec and loss in its metadata (plus `metadata`).
  public func safetensorsBytes(metadata: [String: String] = [:]) -> [UInt8] {
    Safetensors.encode(tensors: tensors, metadata: metadata.merging(weightsMetadata()) { $1 })
  }

  /// Saves the weights to `path` atomically (see ``AtomicFile``).
  public func save(to path: String, metadata: [String: String] = [:]) throws(AtomicFile.WriteError) {
    try Safetensors.write(parameterViews(), metadata: metadata.merging(weightsMetadata()) { $1 }, to: path)
  }

  /// Loads a model saved by ``save(to:metadata:)``: the spec and loss come
  /// from the file's metadata, unless given (weights saved by PyTorch carry
  /// none). The tensors are checked against the spec before the model is
  /// allocated, so a spec that names a huge model allocates nothing.
  ///
  /// - Throws: ``WeightsError`` if the file is damaged, lacks the spec, or
  ///   its tensors do not match the spec.
  public static func load(from path: String, spec given: ModelSpec? = nil, loss givenLoss: Loss? = nil)
    throws(WeightsError) -> Model
  {
    let contents = try readContents(path)
    let spec: ModelSpec
    if let given {
      spec = given
    } else {
      guard let text = contents.metadata[specKey] else {
        throw WeightsError(
          path: path, reason: "no model spec in the file's metadata ('\(specKey)'); give --model to use its tensors")
      }
      do { spec = try ModelSpec(parsing: text) } catch {
        throw WeightsError(path: path, reason: "the model spec in its metadata is bad: \(error.description)")
      }
    }
    let loss = givenLoss ?? contents.metadata[lossKey].flatMap(Loss.init(name:))
    let network = Network(spec: spec)
    let found: [(ParameterLayout.Entry, Safetensors.Tensor)]
    do { found = try matching(contents, layout: network.layout, spec: spec, path: path) } catch {
      // A spec given that is not the one saved: say which model the file holds.
      if given != nil, let saved = contents.metadata[specKey], saved != spec.description {
        throw WeightsError(path: path, reason: "\(error.reason); the file holds model \(saved)")
      }
      throw error
    }
    let model = Model(spec: spec, loss: loss, parameters: [Float](repeating: 0, count: network.layout.totalCount))
    model.copy(found)
    if let text = contents.metadata[scalingKey] {
      guard let json = try? JSONValue.parse(Array(text.utf8)),
        let scaler = FeatureScaler(json: json), scaler.shift.count == spec.inputWidth
      else {
        throw WeightsError(path: path, reason: "the feature scaling in its metadata ('\(scalingKey)') is damaged")
      }
      model.featureScaler = scaler
    }
    if let text = contents.metadata[schemaKey] {
      guard let json = try? JSONValue.parse(Array(text.utf8)), let schema = DataSchema(json: json),
        schema.featureNames.map({ $0.count == spec.inputWidth }) ?? true
      else {
        throw WeightsError(path: path, reason: "the data schema in its metadata ('\(schemaKey)') is damaged")
      }
      model.dataSchema = schema
    }
    return model
  }

  /// Replaces the parameters with those of the safetensors file at `path`,
  /// which must hold exactly this model's tensors (names and shapes).
  ///
  /// - Throws: ``WeightsError`` naming the first tensor that is missing,
  ///   extra or of the wrong shape; the parameters are then unchanged.
  public func loadParameters(from path: String) throws(WeightsError) {
    copy(try Model.matching(try Model.readContents(path), layout: network.layout, spec: spec, path: path))
  }

  private static func readContents(_ path: String) throws(WeightsError) -> Safetensors.Contents {
    do { return try Safetensors.read(path) } catch { throw WeightsError(path: path, reason: error.reason) }
  }

  /// The file's tensor for each entry of `layout`, checked: none missing,
  /// extra, of another shape or not finite.
  private static func matching(
    _ contents: Safetensors.Contents, layout: ParameterLayout, spec: ModelSpec, path: String
  ) throws(WeightsError) -> [(ParameterLayout.Entry, Safetensors.Tensor)] {
    let expected = Set(layout.entries.map(\.name))
    // A checkpoint's optimizer state and best-epoch weights are not part of the weights.
    let isCheckpoint = contents.metadata[Model.kindKey] == "checkpoint"
    let extras = contents.tensors.filter {
      !expected.contains($0.name)
        && !(isCheckpoint && ($0.name.hasPrefix("optimizer.") || $0.name.hasPrefix("best.")))
    }
    if let extra = extras.first {
      throw WeightsError(path: path, reason: "tensor '\(extra.name)' does not belong to model \(spec)")
    }
    var found: [(ParameterLayout.Entry, Safetensors.Tensor)] = []
    for entry in layout.entries {
      guard let tensor = contents.tensor(named: entry.name) else {
        throw WeightsError(path: path, reason: "tensor '\(entry.name)' of model \(spec) is missing")
      }
      guard tensor.shape == entry.shape else {
        throw WeightsError(
          path: path, reason: "tensor '\(entry.name)' has shape \(tensor.shape) but model \(spec) needs \(entry.shape)")
      }
      if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
        throw WeightsError(path: path, reason: "tensor '\(entry.name)' holds a non-finite value at index \(bad)")
      }
      if let problem = problem(of: tensor.values, kind: entry.kind) {
        throw WeightsError(path: path, reason: "tensor '\(entry.name)' \(problem): the file is damaged")
      }
      found.append((entry, tensor))
    }
    return found
  }

  /// What makes `values` impossible for a tensor of `kind` (a negative
  /// variance, a count that is not a whole number), or `nil`.
  package static func problem(of values: [Float], kind: ParameterTensor.Kind) -> String? {
    switch kind {
    case .trainable, .statistic(nonNegative: false): return nil
    case .statistic(nonNegative: true):
      return values.firstIndex { $0 < 0 }.map { "holds a negative variance (\(values[$0]) at index \($0))" }
    case .count:
      return values.first { $0 < 0 || $0.rounded() != $0 }.map { "holds \($0), not a count of batches" }
    }
  }

  private func copy(_ found: [(ParameterLayout.Entry, Safetensors.Tensor)]) {
    for (entry, tensor) in found {
      (parameters.base + entry.offset).update(from: tensor.values, count: entry.count)
    }
  }
}
