import Backprop
import Testing
import _BackpropTestSupport

@Suite struct SafetensorsTests {
  let tensors = [
    Safetensors.Tensor(name: "0.weight", shape: [2, 3], values: [1, 2, 3, 4, 5, 6]),
    Safetensors.Tensor(name: "0.bias", shape: [2], values: [-1, 0.5]),
  ]

  @Test func roundTripKeepsNamesShapesValuesAndMetadata() throws {
    let bytes = Safetensors.encode(tensors: tensors, metadata: ["backprop.model": "3-2", "note": "a \"quoted\" value"])
    let contents = try Safetensors.parse(bytes, path: "w.safetensors")
    #expect(contents.tensors == tensors)
    #expect(contents.metadata["note"] == "a \"quoted\" value")
    // The data starts 8-byte aligned, as other writers expect.
    let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
    #expect((8 + headerLength) % 8 == 0)
  }

  /// A file with a hand-written header over `data` bytes of zeros.
  func file(header: String, data: Int) -> [UInt8] {
    let json = Array(header.utf8)
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
    return bytes + json + [UInt8](repeating: 0, count: data)
  }

  @Test(arguments: [
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "outside"),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs 12 bytes"),
    ("{\"a\":{\"dtype\":\"I32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype I32"),
    (
      "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[2,6]}}",
      8, "overlap"
    ),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "invalid shape"),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "outside"),
    ("{\"a\":{\"dtype\":\"F32\"", 4, "not valid JSON"),
    ("[1,2]", 4, "not a JSON object"),
    ("{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}", 4, "impossible shape"),
  ])
  func refusesDamagedHeaders(header: String, data: Int, expected: String) {
    #expect {
      try Safetensors.parse(file(header: header, data: data), path: "bad.safetensors")
    } throws: { error in
      String(describing: error).hasPrefix("bad.safetensors: ") && String(describing: error).contains(expected)
    }
  }

  @Test func refusesAHeaderLengthLargerThanTheFile() {
    var bytes = Safetensors.encode(tensors: tensors, metadata: [:])
    bytes[6] = 1
    #expect(throws: Safetensors.FormatError.self) { try Safetensors.parse(bytes, path: "x") }
    #expect(throws: Safetensors.FormatError.self) { try Safetensors.parse([1, 2, 3], path: "x") }
  }

  @Test func anyCorruptionGivesTensorsOrAnErrorNeverACrash() {
    let original = Safetensors.encode(tensors: tensors, metadata: ["backprop.model": "3-2"])
    var generator = SeededGenerator(seed: 99)
    var errors = 0
    for _ in 0..<2000 {
      var bytes = original
      for _ in 0...generator.nextIndex(below: 4) {
        bytes[generator.nextIndex(below: bytes.count)] = UInt8(truncatingIfNeeded: generator.next())
      }
      if generator.nextIndex(below: 4) == 0 { bytes.removeLast(generator.nextIndex(below: bytes.count)) }
      do { _ = try Safetensors.parse(bytes, path: "fuzz") } catch { errors += 1 }
    }
    #expect(errors > 0)
  }

  @Test func modelWeightsUseTorchSequentialNames() throws {
    let model = Model(spec: try ModelSpec(parsing: "784-256-relu-128-relu-10"))
    #expect(model.tensors.map(\.name) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"])
    #expect(model.tensors.map(\.shape) == [[256, 784], [256], [128, 256], [128], [10, 128], [10]])
  }

  @Test func loadingWeightsThatDoNotFitTheModelChangesNothing() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("w.safetensors")
    try Model(spec: try ModelSpec(parsing: "3-4-relu-2"), seed: 1).save(to: path)
    let other = Model(spec: try ModelSpec(parsing: "3-5-relu-2"), seed: 2)
    let before = other.parameters.array
    #expect {
      try other.loadParameters(from: path)
    } throws: { error in
      String(describing: error).contains("'0.weight' has shape [4, 3] but model 3-5-relu-2 needs [5, 3]")
    }
    #expect(other.parameters.array == before)
    let loaded = try Model.load(from: path)
    #expect(loaded.spec.description == "3-4-relu-2")
  }
}

extension Model {
  convenience init(spec: ModelSpec, seed: UInt64) {
    self.init(spec: spec, loss: nil, initializer: .pytorch, seed: seed)
  }
}
