import ArgumentParser
import Backprop

/// The weights `evaluate` and `predict` use: a file saved by Backprop (the
/// model comes from its metadata), or any safetensors file with
/// `torch.nn.Sequential`'s names, such as one PyTorch saved, with `--model`.
struct WeightsOptions: ParsableArguments {
  @Option(help: "A .safetensors file: saved by 'backprop train --save' or --checkpoint, or by PyTorch (give --model).")
  var weights: String
  @Option(help: "The model spec (or a .json file), for weights whose file does not name it.")
  var model: String?
  @Option(help: "The loss, with --model (default: cross-entropy for several outputs, binary-cross-entropy for one).")
  var loss: Loss?

  /// The files the options name, for the check that no output is one of them.
  var inputs: [OutputFiles.Named?] {
    var files = [named("--weights", weights)]
    if let model, model.lowercased().hasSuffix(".json") { files.append(named("--model", model)) }
    return files
  }

  /// The model with the weights loaded.
  func load() throws(CommandFailure) -> Model {
    guard let text = model else {
      if loss != nil { throw CommandFailure("--loss: only with --model (a saved model names its loss)") }
      return try reporting { try Model.load(from: weights) }
    }
    let spec: ModelSpec
    do {
      spec = try ModelSpec(specOrJSONFile: text)
    } catch {
      throw CommandFailure("--model: \(error.description)")
    }
    return try reporting {
      try Model.load(from: weights, spec: spec, loss: loss ?? .defaultLoss(outputs: spec.outputWidth))
    }
  }
}
