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
    guard let input = json["input"]?.integerValue else {
      throw .invalid("the JSON model needs \"input\": the number of features")
    }
    guard case .array(let items) = json["layers"] else {
      throw .invalid("the JSON model needs \"layers\": a list such as [{\"dense\": 10}]")
    }
    var layers: [Layer] = []
    var width = input
    for (index, item) in items.enumerated() {
      let kinds = ["dense", "activation", "dropout"]
      if case .object(let keys) = item {
        if let unknown = keys.first(where: { !kinds.contains($0.0) }) {
          throw .invalid(
            "unknown key \"\(unknown.0)\" in layer \(index) (\(item.serialized())); a layer is one of \(kinds)")
        }
        if keys.count > 1 {
          throw .invalid(
            "layer \(index) (\(item.serialized())) has \(keys.count) keys; each layer is its own object, as [{\"dense\": 64}, {\"activation\": \"relu\"}]"
          )
        }
      }
      if let outputs = item["dense"]?.integerValue, outputs > 0 {
        layers.append(.dense(inputs: width, outputs: outputs))
        width = outputs
      } else if let name = item["activation"]?.stringValue, let activation = Activation(specName: name) {
        layers.append(.activation(activation))
      } else if let rate = item["dropout"]?.doubleValue {
        layers.append(.dropout(rate: Float(rate)))
      } else {
        throw .invalid(
          "layer \(index) (\(item.serialized())) is not {\"dense\": WIDTH}, {\"activation\": NAME} or {\"dropout\": RATE}"
        )
      }
    }
    try self.init(inputWidth: input, layers: layers)
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

extension ModelSpecError {
  /// The message without the "invalid model spec" prefix.
  var message: String {
    switch self {
    case .invalid(let message): message
    }
  }
}
