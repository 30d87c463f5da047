import Backprop
import Testing

@Suite struct ModelSpecTests {
  @Test func parsesTheTextForm() throws {
    let spec = try ModelSpec(parsing: "784-256-relu-dropout0.2-128-leakyrelu0.1-10")
    #expect(spec.inputWidth == 784)
    #expect(spec.outputWidth == 10)
    #expect(spec.layers.count == 6)
    #expect(spec.layers[0] as? Dense == Dense(inputs: 784, outputs: 256))
    #expect(spec.layers[1] as? Activation == .relu)
    #expect(spec.layers[2] as? Dropout == Dropout(rate: 0.2))
    #expect(spec.layers[3] as? Dense == Dense(inputs: 256, outputs: 128))
    #expect(spec.layers[4] as? Activation == .leakyReLU(slope: 0.1))
    #expect(spec.layers[5] as? Dense == Dense(inputs: 128, outputs: 10))
    #expect(spec.shapes.map(\.count) == [784, 256, 256, 256, 128, 128, 10])
    #expect(spec.description == "784-256-relu-dropout0.2-128-leakyrelu0.1-10")
    #expect(try ModelSpec(parsing: spec.description) == spec)
  }

  @Test(arguments: [
    "", "abc-10", "784", "784-relu", "784--10", "784-0-10", "784-256-swish-10", "784-dropout1.5-10", "-5-3",
  ])
  func refusesMalformedSpecs(_ text: String) {
    #expect(throws: ModelSpecError.self) { try ModelSpec(parsing: text) }
  }

  @Test func parsesTheJSONForm() throws {
    let json = try JSONValue.parse(
      Array(#"{"input": 4, "layers": [{"dense": 8}, {"activation": "gelu"}, {"dropout": 0.5}, {"dense": 2}]}"#.utf8))
    #expect(try ModelSpec(json: json) == ModelSpec(parsing: "4-8-gelu-dropout0.5-2"))
    let bad = try JSONValue.parse(Array(#"{"input": 4, "layers": [{"conv": 3}]}"#.utf8))
    #expect(throws: ModelSpecError.self) { try ModelSpec(json: bad) }
  }
}
