/// What max and average pooling share: a square window with a stride
/// (PyTorch's default stride is the window's size) and no padding, written
/// `<name><K>[s<S>]` in a model spec (`maxpool2`, `avgpool3s2`) and
/// `{"<name>": {"kernel": 3, "stride": 2}}` (or just `{"<name>": 2}`) in JSON.
struct PoolingWindow: Hashable {
  let kernel: Int
  let stride: Int

  var window: Window { Window(kernel: kernel, stride: stride, padding: 0) }

  /// Reads a `name` token; `nil` when the token is another kind.
  static func parse(token: String, name: String) throws(ModelSpecError) -> PoolingWindow? {
    guard let parts = try LayerToken.parse(token, kind: name, letters: ["s"], example: "\(name)3s2") else {
      return nil
    }
    return PoolingWindow(kernel: parts.lead, stride: parts.fields["s"] ?? parts.lead)
  }

  /// Reads the JSON value of a `name` layer.
  static func parse(json: JSONValue, name: String) throws(ModelSpecError) -> PoolingWindow {
    let example = "{\"\(name)\": 2} or {\"\(name)\": {\"kernel\": 3, \"stride\": 2}}"
    if let kernel = json.integerValue { return PoolingWindow(kernel: kernel, stride: kernel) }
    guard case .object(let members) = json,
      members.allSatisfy({ ["kernel", "stride"].contains($0.0) }),
      let kernel = json["kernel"]?.integerValue
    else { throw .invalid("a \(name) layer is written as \(example)") }
    guard let stride = json["stride"].map({ $0.integerValue }) ?? kernel else {
      throw .invalid("a \(name) layer's stride must be a whole number, as \(example)")
    }
    return PoolingWindow(kernel: kernel, stride: stride)
  }

  /// The spec's token.
  func description(name: String) -> String { "\(name)\(kernel)" + (stride == kernel ? "" : "s\(stride)") }

  /// The JSON value.
  var jsonValue: JSONValue {
    stride == kernel ? .integer(kernel) : .object([("kernel", .integer(kernel)), ("stride", .integer(stride))])
  }

  /// The output shape: the same channels, one value per window position.
  func outputShape(input: Shape, layer: String) throws(ModelSpecError) -> Shape {
    let (height, width) = try window.outputSize(input: input, layer: layer)
    return Shape(channels: input.channels, height: height, width: width)
  }
}
