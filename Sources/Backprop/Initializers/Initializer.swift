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

  /// Fills `parameters` (laid out by `network.layout`) with initial values.
  ///
  /// The gain of the Glorot and He schemes follows `torch.nn.init.calculate_gain`
  /// for the activation after each dense layer (√2 for ReLU, 5/3 for tanh,
  /// 1 otherwise).
  public func initialize(
    _ parameters: UnsafeMutableBufferPointer<Float>, network: Network, seed: UInt64
  ) {
    precondition(parameters.count == network.layout.totalCount, "parameter vector has the wrong size")
    var generator = SeededGenerator(seed: seed, stream: RandomStream.initialisation)
    let layers = network.spec.layers
    for (index, layer) in layers.enumerated() {
      guard case .dense(let fanIn, let fanOut) = layer else { continue }
      let entryIndex = network.layout.weightEntryIndex[index]!
      let entry = network.layout.entries[entryIndex]
      let weights = parameters.baseAddress! + entry.offset
      let bias = parameters.baseAddress! + network.layout.entries[entryIndex + 1].offset
      let gain = Initializer.gain(after: layers[(index + 1)...].first)
      switch self {
      case .pytorch:
        let bound = 1 / Double(fanIn).squareRoot()
        for i in 0..<entry.count { weights[i] = Float(generator.uniform(-bound, bound)) }
        for i in 0..<fanOut { bias[i] = Float(generator.uniform(-bound, bound)) }
      case .glorotUniform:
        let bound = gain * (6 / Double(fanIn + fanOut)).squareRoot()
        for i in 0..<entry.count { weights[i] = Float(generator.uniform(-bound, bound)) }
      case .glorotNormal:
        let std = gain * (2 / Double(fanIn + fanOut)).squareRoot()
        for i in 0..<entry.count { weights[i] = Float(std * generator.normal()) }
      case .heUniform:
        let bound = gain * (3 / Double(fanIn)).squareRoot()
        for i in 0..<entry.count { weights[i] = Float(generator.uniform(-bound, bound)) }
      case .heNormal:
        let std = gain / Double(fanIn).squareRoot()
        for i in 0..<entry.count { weights[i] = Float(std * generator.normal()) }
      }
      if self != .pytorch {
        for i in 0..<fanOut { bias[i] = 0 }
      }
    }
  }

  /// `torch.nn.init.calculate_gain` for the layer that follows a dense layer.
  static func gain(after layer: Layer?) -> Double {
    guard case .activation(let activation) = layer else { return 1 }
    switch activation {
    case .relu: return 2.0.squareRoot()
    case .leakyReLU(let slope): return (2 / (1 + Double(slope) * Double(slope))).squareRoot()
    case .tanh: return 5.0 / 3.0
    case .sigmoid, .gelu, .identity: return 1
    }
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
