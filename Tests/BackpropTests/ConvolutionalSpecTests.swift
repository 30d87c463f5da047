import Backprop
import Foundation
import Testing

/// Image models on one line and in JSON, their sizes and costs worked out by
/// hand, what a bad one says, and data that keeps its shape.
@Suite struct ConvolutionalSpecTests {
  static let recipeA = "1x28x28-conv32k5p2-relu-maxpool2-conv64k5p2-relu-maxpool2-flatten-10"

  @Test func recipeAHasTheShapesAndParametersOfItsPyTorchTwin() throws {
    let spec = try ModelSpec(parsing: Self.recipeA)
    #expect(
      spec.shapes.map(\.description) == [
        "1x28x28", "32x28x28", "32x28x28", "32x14x14", "64x14x14", "64x14x14", "64x7x7", "3136", "10",
      ])
    // 32·1·25 + 32, 64·32·25 + 64, 3136·10 + 10: the issue's 83,466.
    let layout = ParameterLayout(spec: spec)
    #expect(layout.entries.map(\.count).reduce(0, +) == 83_466)
    #expect(layout.entries.map(\.name) == ["0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias"])
    #expect(layout.entries.map(\.shape) == [[32, 1, 5, 5], [32], [64, 32, 5, 5], [64], [10, 3136], [10]])
    #expect(spec.description == Self.recipeA)
  }

  @Test func costsOfAConvolutionAreCountedByHand() throws {
    let spec = try ModelSpec(parsing: "3x8x8-conv4k3s2p1-flatten-2")
    // 4×4 outputs of 4 channels, each 3·3·3 multiply-adds plus a bias.
    let conv = 4 * 16 * (2 * 27 + 1)
    let dense = 2 * 65 * 2
    #expect(spec.inferenceFLOPsPerSample == conv + dense)
    // Parameter gradients of both; the input gradient of the dense layer only.
    #expect(spec.trainingFLOPsPerSample == 2 * (conv + dense) + 2 * 64 * 2)
  }

  @Test func theJSONFormTakesAnImageShape() throws {
    let text = #"""
      {"input": [3, 8, 8], "layers": [{"conv": {"channels": 4, "kernel": 3, "stride": 2, "padding": 1}},
       {"activation": "relu"}, {"maxpool": 2}, {"avgpool": {"kernel": 1, "stride": 1}}, {"gap": {}},
       {"flatten": {}}, {"dense": 2}]}
      """#
    let spec = try ModelSpec(json: JSONValue.parse(Array(text.utf8)))
    #expect(spec == (try ModelSpec(parsing: "3x8x8-conv4k3s2p1-relu-maxpool2-avgpool1-gap-flatten-2")))
    #expect(try ModelSpec(json: JSONValue.parse(Array(spec.json.serialized().utf8))) == spec)
  }

  @Test(arguments: [
    ("1x4x4-conv8k5-flatten-10", "'conv8k5' takes 1x4x4 values per sample: a 5×5 kernel is larger than its input"),
    ("1x4x4-conv8k7p1-flatten-10", "a 7×7 kernel is larger than its padded input of 6×6"),
    ("1x28x28-conv32k5p3-flatten-10", "padding must be at most half its kernel"),
    ("1x28x28-conv32-flatten-10", "'conv32': a convolution needs its kernel size"),
    ("1x28x28-conv32k5x2-flatten-10", "'conv32k5x2': unknown part 'x'"),
    ("1x28x28-conv32k5k3-flatten-10", "'k' is given twice"),
    ("1x28x28-conv32k5-10", "'10' takes 32x24x24 values per sample: a dense layer takes a flat input; put 'flatten'"),
    ("784-conv32k5-flatten-10", "a convolution takes an image"),
    ("1x28x28-maxpool29-flatten-10", "a 29×29 kernel is larger than its input of 28×28"),
    ("1x28x28-maxpool2s0-flatten-10", "stride must be at least 1"),
    ("0x28x28-flatten-10", "input shape '0x28x28'"),
    ("1x28-flatten-10", "must start with the input width or image shape"),
    ("1x99999999x99999999-flatten-10", "more than 1099511627776 values per sample"),
    ("1x28x28-conv1099511627776k5-flatten-10", "too large"),
    ("1x28x28-gapp-10", "unknown layer 'gapp'"),
  ])
  func aBadSpecNamesItsTokenAndWhy(_ text: String, _ expected: String) {
    #expect {
      try ModelSpec(parsing: text)
    } throws: { error in
      "\(error)".contains(expected)
    }
  }

  @Test func imageFilesKeepTheirShapeAndFlatDataIsRefusedByAnImageModel() throws {
    let scratch = ScratchFolder()
    let images = scratch.file("images.idx")
    try Data(idxBytes(type: 8, shape: [2, 3, 4], payload: [UInt8](repeating: 7, count: 24))).write(
      to: URL(fileURLWithPath: images))
    let labels = scratch.file("labels.idx")
    try Data(idxBytes(type: 8, shape: [2], payload: [0, 1])).write(to: URL(fileURLWithPath: labels))
    let idx = try DatasetLoader.file(images, labels: labels)
    #expect(idx.sampleShape == Shape(channels: 1, height: 3, width: 4))
    try idx.checkShape(for: Shape(channels: 1, height: 3, width: 4))
    try idx.checkShape(for: Shape(flat: 12))  // a dense model may take images as rows

    let npy = scratch.file("images.npy")
    let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 2, 2), }"
    try Data(npyBytes(header: header, data: [UInt8](repeating: 0, count: 2 * 12 * 4))).write(
      to: URL(fileURLWithPath: npy))
    let fourD = try DatasetLoader.file(npy, labels: labels)
    #expect(fourD.sampleShape == Shape(channels: 3, height: 2, width: 2))
    #expect(throws: DatasetError.self) { try fourD.checkShape(for: Shape(channels: 1, height: 3, width: 4)) }

    var flat = fourD
    flat.sampleShape = Shape(flat: 12)
    #expect {
      try flat.checkShape(for: Shape(channels: 3, height: 2, width: 2))
    } throws: { error in
      "\(error)".contains("samples are flat rows of 12 values but the model takes images of 3x2x2")
    }
  }
}
