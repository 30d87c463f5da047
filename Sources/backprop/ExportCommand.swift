import ArgumentParser
import Backprop

/// `backprop export`: saved weights as an ONNX model.
struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Export saved weights as an ONNX model (opset 17, a free batch dimension).",
    usage: "backprop export --weights <file> --onnx <model.onnx> [--probabilities] [--model <spec>]",
    discussion: """
      The file takes raw features (the feature scaling saved with the weights is its first step), \
      as predict does, in a tensor named input of shape [N, features] or [N, C, H, W], and gives \
      logits, or with --probabilities the softmax (or sigmoid) of them, as probabilities [N, outputs]. \
      Dropout is left out; batch normalisation uses its running statistics.

      Examples:
        backprop export --weights fashion.safetensors --onnx fashion.onnx --probabilities
      """)

  @OptionGroup var weights: WeightsOptions
  @Option(help: "The ONNX file to write.")
  var onnx: String
  @Flag(help: "End the graph with softmax (sigmoid for one output): outputs are probabilities, as predict writes.")
  var probabilities = false

  func run() throws {
    let outputs = try claimOutputs([named("--onnx", onnx)], inputs: weights.inputs)
    defer { outputs.release() }
    let model = try weights.load()
    let bytes: [UInt8]
    do { bytes = try ONNXExport.file(of: model, probabilities: probabilities) } catch {
      throw CommandFailure(error.description)
    }
    try reporting { try AtomicFile.write(bytes, to: onnx) }
    writeStandardError("wrote \(FilePath.printable(onnx))\n")
  }
}
