/// The JSON form of a model spec, for models written in a file:
///
/// ```json
/// {"input": 784,
///  "layers": [{"dense": 256}, {"activation": "relu"}, {"dropout": 0.2},
///             {"dense": 10}]}
/// ```
extension ModelSpec {
  /// Parses the JSON form.
  ///
  /// - Throws: ``ModelSpecError`` naming the layer that is wrong.
  public init(json: JSONValue) throws(ModelSpecError) {
    guard case .object(let members) = json else {
      throw .invalid("the JSON model must be an object such as {\"input\": 784, \"layers\": [...]}")
    }
    // A key we do not know is a typo or a feature we lack: never ignored.
    if let unknown = members.first(where: { !["input", "layers"].contains($0.0) }) {
      throw .invalid("unknown key \"\(unknown.0)\" in the JSON model (it takes \"input\" and \"layers\")")
    }
    let input: Shape
    switch json["input"] {
    case .some(.integer(let width)) where width > 0: input = Shape(flat: width)
    case .some(.array(let sizes)) where sizes.count == 3 && sizes.allSatisfy({ ($0.integerValue ?? 0) > 0 }):
      // Positive integers joined by "x" always read as a shape; the parser checks the size.
      input = try Shape(parsing: sizes.map { String($0.integerValue!) }.joined(separator: "x"))!
    default:
      throw .invalid(
        "the JSON model needs \"input\": the number of features, or an image's [channels, height, width]")
    }
    guard case .array(let items) = json["layers"] else {
      throw .invalid("the JSON model needs \"layers\": a list such as [{\"dense\": 10}]")
    }
    var layers: [any Layer] = []
    var shape = input
    let kinds = ModelSpec.layerTypes.map { $0.jsonKey }
    for (index, item) in items.enumerated() {
      guard case .object(let keys) = item, let (key, value) = keys.first else {
        throw .invalid("layer \(index) (\(item.serialized())) is not an object such as {\"dense\": 64}")
      }
      if let unknown = keys.first(where: { member in !kinds.contains(member.0) }) {
        throw .invalid(
          "unknown key \"\(unknown.0)\" in layer \(index) (\(item.serialized())); a layer is one of \(kinds)")
      }
      if keys.count > 1 {
        throw .invalid(
          "layer \(index) (\(item.serialized())) has \(keys.count) keys; each layer is its own object, as [{\"dense\": 64}, {\"activation\": \"relu\"}]"
        )
      }
      let type = ModelSpec.layerTypes.first { $0.jsonKey == key }!
      do {
        let layer = try type.parse(json: value, input: shape)
        shape = try layer.outputShape(input: shape)
        layers.append(layer)
      } catch {
        throw .invalid("layer \(index) (\(item.serialized())): \(error.message)")
      }
    }
    try self.init(inputShape: input, layers: layers)
  }

  /// The spec `text` names, as `--model` takes it: a path ending in `.json`
  /// is read as a JSON file, anything else parsed as the textual form.
  public init(specOrJSONFile text: String) throws(ModelSpecError) {
    self = try text.lowercased().hasSuffix(".json") ? ModelSpec(contentsOfJSONFile: text) : ModelSpec(parsing: text)
  }

  /// Reads a model spec from a JSON file.
  ///
  /// - Throws: ``ModelSpecError`` naming the file and what is wrong.
  public init(contentsOfJSONFile path: String) throws(ModelSpecError) {
    let bytes: [UInt8]
    do { bytes = try FileBytes.read(path) } catch { throw .invalid(error.description) }
    let json: JSONValue
    do { json = try JSONValue.parse(bytes) } catch { throw .invalid("\(path): not valid JSON (\(error.description))") }
    do { try self.init(json: json) } catch { throw .invalid("\(path): \(error.message)") }
  }
}

extension ModelSpec {
  /// The JSON form, which ``init(json:)`` reads back.
  public var json: JSONValue {
    .object([
      ("input", inputShape.json),
      ("layers", .array(layers.map { .object([(type(of: $0).jsonKey, $0.jsonValue)]) })),
    ])
  }
}
