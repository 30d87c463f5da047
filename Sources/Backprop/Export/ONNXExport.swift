/// A model as an ONNX file (`onnx.proto`'s `ModelProto`, encoded by hand):
/// opset 17, IR version 8, one input `input` of shape `[N, …]` and one
/// output, `logits` or `probabilities`, of shape `[N, outputs]`, with the
/// batch dimension `N` left free.
///
/// Each layer becomes the operator PyTorch's exporter would write:
/// dense → `Gemm` (`transB = 1`, the weights as saved, `[out, in]`),
/// conv → `Conv` (OIHW weights, pads and strides), max and average pooling
/// → `MaxPool` and `AveragePool`, global average pooling →
/// `GlobalAveragePool`, flatten → `Flatten`, batch normalisation → its
/// inference form `BatchNormalization` (running statistics, eps 1e-5),
/// activations → `Relu`, `Sigmoid`, `Tanh`, `LeakyRelu`, GELU as
/// `x · (1 + erf(x/√2)) / 2`; dropout is left out (the identity in
/// inference). The feature scaling saved with the weights comes first, as
/// `(input − shift) · factor`, so the file takes raw features, as
/// `predict` does. With `probabilities`, a `Softmax` (or a `Sigmoid` for a
/// single output under binary cross-entropy) ends the graph. The file's
/// `metadata_props` name the spec, the loss, and the class and feature
/// names where the weights hold them.
public enum ONNXExport {
  /// The operator set the file asks for.
  public static let opset = 17
  /// The IR version that goes with it.
  public static let irVersion = 8

  /// Why a model cannot be exported.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    public let description: String
  }

  /// The ONNX file of `model`.
  public static func file(of model: Model, probabilities: Bool) throws(Failure) -> [UInt8] {
    // A protocol buffer cannot exceed 2 GiB; larger weights would need ONNX's external data.
    guard model.parameters.count <= (Int(Int32.max) - (16 << 20)) / 4 else {
      throw Failure(
        description:
          "the model's \(MemoryBudget.describe(model.parameters.count * 4)) of weights exceed the 2 GiB an ONNX file can hold"
      )
    }
    var graph = GraphBuilder(model: model)
    try graph.build(probabilities: probabilities)
    var opset = ProtocolBuffer()
    opset.string(1, "")
    opset.integer(2, ONNXExport.opset)
    var file = ProtocolBuffer()
    file.integer(1, irVersion)
    file.string(2, "backprop")
    file.string(3, BackpropVersion.string)
    file.string(6, model.spec.description)
    file.message(7, graph.proto)
    file.message(8, opset)
    for (key, value) in metadata(of: model) {
      var entry = ProtocolBuffer()
      entry.string(1, key)
      entry.string(2, value)
      file.message(14, entry)
    }
    return file.bytes
  }
}

extension ONNXExport {
  /// What a deployment needs to read the outputs and feed the inputs, as
  /// the file's `metadata_props`: the spec, the loss, and where the weights
  /// hold them, the class names (output k is class k) and the feature names
  /// (in input order), as JSON arrays.
  static func metadata(of model: Model) -> [(String, String)] {
    var entries = [("backprop.spec", model.spec.description), ("backprop.loss", model.loss.rawValue)]
    func list(_ names: [String]) -> String { JSONValue.array(names.map { .string($0) }).serialized() }
    if let classes = model.dataSchema?.classNames { entries.append(("backprop.classes", list(classes))) }
    if let features = model.dataSchema?.featureNames { entries.append(("backprop.features", list(features))) }
    return entries
  }
}

/// The graph of one model, node by node.
private struct GraphBuilder {
  let model: Model
  var nodes: [ProtocolBuffer] = []
  var initializers: [ProtocolBuffer] = []
  /// The name of the tensor the next node reads.
  var current = "input"
  var counter = 0

  init(model: Model) { self.model = model }

  /// A fresh tensor name.
  mutating func name(_ what: String) -> String {
    counter += 1
    return "\(what)_\(counter)"
  }

  /// Adds a node reading `inputs`, writing one new tensor, which becomes ``current``.
  mutating func node(
    _ op: String, _ inputs: [String], attributes: [ProtocolBuffer] = [], output: String? = nil
  ) {
    let out = output ?? name(op.lowercased())
    var node = ProtocolBuffer()
    for input in inputs { node.string(1, input) }
    node.string(2, out)
    node.string(3, "\(op)_\(counter)")
    node.string(4, op)
    for attribute in attributes { node.message(5, attribute) }
    nodes.append(node)
    current = out
  }

  /// A float tensor initializer, returning its name.
  mutating func constant(_ name: String, _ values: UnsafeBufferPointer<Float>, dims: [Int]) -> String {
    var tensor = ProtocolBuffer()
    for dim in dims { tensor.integer(1, dim) }
    tensor.integer(2, 1)  // FLOAT
    tensor.string(8, name)
    var raw = [UInt8]()
    raw.reserveCapacity(values.count * 4)
    for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { raw.append(contentsOf: $0) } }
    tensor.data(9, raw)
    initializers.append(tensor)
    return name
  }

  mutating func constant(_ name: String, _ values: [Float], dims: [Int]) -> String {
    values.withUnsafeBufferPointer { constant(name, $0, dims: dims) }
  }

  /// An attribute's value: ONNX's `INT`, `FLOAT` or `INTS`.
  enum AttributeValue {
    case int(Int), float(Float), ints([Int])
  }

  /// An `AttributeProto`: its name, value and type.
  static func attribute(_ name: String, _ value: AttributeValue) -> ProtocolBuffer {
    var attribute = ProtocolBuffer()
    attribute.string(1, name)
    switch value {
    case .float(let number):
      attribute.float(2, number)
      attribute.integer(20, 1)
    case .int(let number):
      attribute.integer(3, number)
      attribute.integer(20, 2)
    case .ints(let numbers):
      for number in numbers { attribute.integer(8, number) }
      attribute.integer(20, 7)
    }
    return attribute
  }

  /// The parameter tensor `name` of layer `index` (as `index.name` in the layout).
  func tensor(_ index: Int, _ name: String) -> UnsafeBufferPointer<Float> {
    let layout = model.network.layout
    let entry = layout.layerEntries[index].map { layout.entries[$0] }.first { $0.name == "\(index).\(name)" }!
    return UnsafeBufferPointer(start: model.parameters.base + entry.offset, count: entry.count)
  }

  mutating func build(probabilities: Bool) throws(ONNXExport.Failure) {
    let spec = model.spec
    if let scaler = model.featureScaler {
      let dims =
        spec.inputShape.isFlat
        ? [spec.inputWidth]
        : [
          spec.inputShape.channels, spec.inputShape.height, spec.inputShape.width,
        ]
      node("Sub", [current, constant("scaling_shift", scaler.shift, dims: dims)])
      node("Mul", [current, constant("scaling_factor", scaler.factor, dims: dims)])
    }
    for (index, layer) in spec.layers.enumerated() {
      try add(layer, index: index, input: spec.shapes[index])
    }
    if probabilities {
      switch model.loss {
      case .softmaxCrossEntropy:
        node("Softmax", [current], attributes: [Self.attribute("axis", .int(1))], output: "probabilities")
      case .binaryCrossEntropy:
        node("Sigmoid", [current], output: "probabilities")
      case .meanSquaredError:
        throw ONNXExport.Failure(
          description: "--probabilities: the model's loss is mse, whose outputs are not probabilities")
      }
    } else {
      node("Identity", [current], output: "logits")
    }
  }

  mutating func add(_ layer: any Layer, index: Int, input: Shape) throws(ONNXExport.Failure) {
    switch layer {
    case let dense as Dense:
      if !input.isFlat { node("Flatten", [current], attributes: [Self.attribute("axis", .int(1))]) }
      node(
        "Gemm",
        [
          current, constant("\(index).weight", tensor(index, "weight"), dims: [dense.outputs, dense.inputs]),
          constant("\(index).bias", tensor(index, "bias"), dims: [dense.outputs]),
        ], attributes: [Self.attribute("transB", .int(1))])
    case let convolution as Convolution:
      let k = convolution.kernel
      node(
        "Conv",
        [
          current,
          constant(
            "\(index).weight", tensor(index, "weight"),
            dims: [convolution.outputChannels, convolution.inputChannels, k, k]),
          constant("\(index).bias", tensor(index, "bias"), dims: [convolution.outputChannels]),
        ],
        attributes: [
          Self.attribute("kernel_shape", .ints([k, k])),
          Self.attribute("strides", .ints([convolution.stride, convolution.stride])),
          Self.attribute("pads", .ints(Array(repeating: convolution.padding, count: 4))),
        ])
    case let pool as MaxPool:
      addPooling("MaxPool", kernel: pool.kernel, stride: pool.stride)
    case let pool as AveragePool:
      addPooling("AveragePool", kernel: pool.kernel, stride: pool.stride)
    case is GlobalAveragePool:
      node("GlobalAveragePool", [current])
    case is Flatten:
      node("Flatten", [current], attributes: [Self.attribute("axis", .int(1))])
    case let norm as BatchNorm:
      let features = norm.features
      node(
        "BatchNormalization",
        [
          current, constant("\(index).weight", tensor(index, "weight"), dims: [features]),
          constant("\(index).bias", tensor(index, "bias"), dims: [features]),
          constant("\(index).running_mean", tensor(index, "running_mean"), dims: [features]),
          constant("\(index).running_var", tensor(index, "running_var"), dims: [features]),
        ], attributes: [Self.attribute("epsilon", .float(Float(BatchNorm.epsilon)))])
    case is Dropout:
      break  // the identity in inference
    case let activation as Activation:
      addActivation(activation)
    default:
      throw ONNXExport.Failure(description: "layer \(index) (\(layer.description)) has no ONNX form here")
    }
  }

  /// A square pooling window without padding (as Backprop's poolings are).
  mutating func addPooling(_ op: String, kernel: Int, stride: Int) {
    node(
      op, [current],
      attributes: [
        Self.attribute("kernel_shape", .ints([kernel, kernel])), Self.attribute("strides", .ints([stride, stride])),
      ])
  }

  mutating func addActivation(_ activation: Activation) {
    switch activation {
    case .relu: node("Relu", [current])
    case .sigmoid: node("Sigmoid", [current])
    case .tanh: node("Tanh", [current])
    case .leakyReLU(let slope): node("LeakyRelu", [current], attributes: [Self.attribute("alpha", .float(slope))])
    case .identity: break
    case .gelu:
      // x · (1 + erf(x / √2)) / 2, exactly PyTorch's default GELU.
      let x = current
      counter += 1
      let scale = constant("gelu_\(counter)_inverse_sqrt2", [Float(1 / 2.0.squareRoot())], dims: [])
      let one = constant("gelu_\(counter)_one", [1], dims: [])
      let half = constant("gelu_\(counter)_half", [0.5], dims: [])
      node("Mul", [x, scale])
      node("Erf", [current])
      node("Add", [current, one])
      node("Mul", [x, current])
      node("Mul", [current, half])
    }
  }

  /// The `GraphProto`: nodes, initializers, the input and the output.
  var proto: ProtocolBuffer {
    var graph = ProtocolBuffer()
    for node in nodes { graph.message(1, node) }
    graph.string(2, "backprop")
    for initializer in initializers { graph.message(5, initializer) }
    let shape = model.spec.inputShape
    graph.message(
      11, Self.valueInfo("input", dims: shape.isFlat ? [shape.width] : [shape.channels, shape.height, shape.width]))
    graph.message(12, Self.valueInfo(current, dims: [model.spec.outputWidth]))
    return graph
  }

  /// A float tensor's `ValueInfoProto`, with the free batch dimension `N` first.
  static func valueInfo(_ name: String, dims: [Int]) -> ProtocolBuffer {
    var shape = ProtocolBuffer()
    var batch = ProtocolBuffer()
    batch.string(2, "N")
    shape.message(1, batch)
    for dim in dims {
      var fixed = ProtocolBuffer()
      fixed.integer(1, dim)
      shape.message(1, fixed)
    }
    var tensor = ProtocolBuffer()
    tensor.integer(1, 1)  // FLOAT
    tensor.message(2, shape)
    var type = ProtocolBuffer()
    type.message(1, tensor)
    var info = ProtocolBuffer()
    info.string(1, name)
    info.message(2, type)
    return info
  }
}
