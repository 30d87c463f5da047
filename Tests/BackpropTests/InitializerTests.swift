import Backprop
import Testing

/// Initial weights follow each scheme's distribution (PyTorch's formulas):
/// checked by the sample variance of a 256×784 weight matrix.
@Suite struct InitializerTests {
  static let cases: [(Initializer, String, Double)] = [
    // (scheme, spec, expected weight variance for the first layer: fan_in 784, fan_out 256)
    (.pytorch, "784-256-relu-10", 1.0 / (3 * 784)),  // U(±1/√fan_in)
    (.glorotUniform, "784-256-tanh-10", (5.0 / 3) * (5.0 / 3) * 2 / (784 + 256)),  // gain² · 2/(fan_in+fan_out)
    (.glorotNormal, "784-256-sigmoid-10", 2.0 / (784 + 256)),
    (.heUniform, "784-256-relu-10", 2.0 / 784),  // gain² / fan_in with gain √2
    (.heNormal, "784-256-relu-10", 2.0 / 784),
  ]

  @Test(arguments: cases.indices)
  func weightVarianceMatchesTheScheme(_ index: Int) throws {
    let (initializer, text, expected) = Self.cases[index]
    let model = Model(spec: try ModelSpec(parsing: text), loss: nil, initializer: initializer, seed: 3)
    let entry = model.network.layout.entries[0]
    let weights = (0..<entry.count).map { Double(model.parameters.base[entry.offset + $0]) }
    let mean = weights.reduce(0, +) / Double(weights.count)
    let variance = weights.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(weights.count)
    #expect(abs(mean) < 0.01 * expected.squareRoot() * 10)
    #expect(abs(variance / expected - 1) < 0.02)
    let bias = model.network.layout.entries[1]
    let biases = (0..<bias.count).map { model.parameters.base[bias.offset + $0] }
    if initializer == .pytorch {
      #expect(biases.allSatisfy { abs($0) <= 1 / Float(784).squareRoot() } && biases.contains { $0 != 0 })
    } else {
      #expect(biases.allSatisfy { $0 == 0 })
    }
  }

  @Test func sameSeedSameWeightsOtherSeedOthers() throws {
    let spec = try ModelSpec(parsing: "10-20-relu-3")
    #expect(Model(spec: spec, seed: 1).parameters.array == Model(spec: spec, seed: 1).parameters.array)
    #expect(Model(spec: spec, seed: 1).parameters.array != Model(spec: spec, seed: 2).parameters.array)
  }
}
