/// How a network's weights and biases are drawn before training.
///
/// All draws come from ``SeededGenerator`` seeded by the run's seed, so the
/// same seed gives the same initial weights on every platform.
public enum Initializer: String, Sendable, Hashable, CaseIterable {
  /// PyTorch's default for `nn.Linear`: weights and biases uniform in
  /// ±1/√fan_in (`kaiming_uniform_(a=√5)` and its bias rule).
  case pytorch
  /// Glorot/Xavier uniform: ±gain·√(6 / (fan_in + fan_out)); biases zero.
  case glorotUniform = "glorot-uniform"
  /// Glorot/Xavier normal: std gain·√(2 / (fan_in + fan_out)); biases zero.
  case glorotNormal = "glorot-normal"
  /// He/Kaiming uniform: ±gain·√(3 / fan_in); biases zero.
  case heUniform = "he-uniform"
  /// He/Kaiming normal: std gain/√fan_in; biases zero.
  case heNormal = "he-normal"

  /// Parses a command-line name; `xavier-*` and `kaiming-*` are accepted too.
  public init?(name: String) {
    let normalized = name.lowercased()
      .replacingPrefix("xavier", with: "glorot")
      .replacingPrefix("kaiming", with: "he")
      .replacingPrefix("torch", with: "pytorch")
    self.init(rawValue: normalized)
  }

  /// Fills `parameters` (laid out by `network.layout`) with initial values,
  /// layer by layer (each layer draws its own tensors, see
  /// ``Layer/initialize(_:input:initializer:gain:generator:)``).
  ///
  /// The gain of the Glorot and He schemes follows `torch.nn.init.calculate_gain`
  /// for the layer after each layer with parameters (√2 for ReLU, 5/3 for
  /// tanh, 1 otherwise).
  public func initialize(
    _ parameters: UnsafeMutableBufferPointer<Float>, network: Network, seed: UInt64
  ) {
    precondition(parameters.count == network.layout.totalCount, "parameter vector has the wrong size")
    var generator = SeededGenerator(seed: seed, stream: RandomStream.initialisation)
    let spec = network.spec
    for (index, layer) in spec.layers.enumerated() where !network.layout.layerEntries[index].isEmpty {
      let gain = spec.layers[(index + 1)...].first?.gainForPrecedingLayer ?? 1
      layer.initialize(
        parameters.baseAddress! + network.layout.offset(ofLayer: index), input: spec.shapes[index],
        initializer: self, gain: gain, generator: &generator)
    }
  }

  /// Draws `count` weights of a tensor with `fanIn` inputs and `fanOut`
  /// outputs per unit.
  public func drawWeights(
    _ weights: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, fanOut: Int, gain: Double,
    generator: inout SeededGenerator
  ) {
    switch self {
    case .pytorch:
      let bound = 1 / Double(fanIn).squareRoot()
      for i in 0..<count { weights[i] = Float(generator.uniform(-bound, bound)) }
    case .glorotUniform:
      let bound = gain * (6 / Double(fanIn + fanOut)).squareRoot()
      for i in 0..<count { weights[i] = Float(generator.uniform(-bound, bound)) }
    case .glorotNormal:
      let std = gain * (2 / Double(fanIn + fanOut)).squareRoot()
      for i in 0..<count { weights[i] = Float(std * generator.normal()) }
    case .heUniform:
      let bound = gain * (3 / Double(fanIn)).squareRoot()
      for i in 0..<count { weights[i] = Float(generator.uniform(-bound, bound)) }
    case .heNormal:
      let std = gain / Double(fanIn).squareRoot()
      for i in 0..<count { weights[i] = Float(std * generator.normal()) }
    }
  }

  /// Draws `count` biases of a layer with `fanIn` inputs per unit: uniform
  /// in ±1/√fan_in for ``pytorch``, zero for the others.
  public func drawBias(_ bias: UnsafeMutablePointer<Float>, count: Int, fanIn: Int, generator: inout SeededGenerator) {
    guard self == .pytorch else {
      bias.initialize(repeating: 0, count: count)
      return
    }
    let bound = 1 / Double(fanIn).squareRoot()
    for i in 0..<count { bias[i] = Float(generator.uniform(-bound, bound)) }
  }
}

extension String {
  func replacingPrefix(_ prefix: String, with replacement: String) -> String {
    hasPrefix(prefix) ? replacement + dropFirst(prefix.count) : self
  }

  func replacingSuffix(_ suffix: String, with replacement: String) -> String {
    hasSuffix(suffix) ? dropLast(suffix.count) + replacement : self
  }
}
