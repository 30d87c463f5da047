import ArgumentParser
import Backprop

/// `backprop evaluate`: the loss and accuracy of saved weights on a data set.
struct EvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Score saved weights on a data set (a named set is scored on its test split).",
    usage: "backprop evaluate --weights <file> --data <name|file> [<options>]",
    discussion: """
      CSV files are read as the weights' training data was: features by name, the same label \
      column and class names, and the saved feature scaling applied.

      Examples:
        backprop evaluate --weights fashion.safetensors --data fashion-mnist
        backprop evaluate --weights my.safetensors --data my-test.csv --json
      """)

  @OptionGroup var weights: WeightsOptions
  @OptionGroup var source: DataOptions
  @OptionGroup var resources: ResourceOptions
  @OptionGroup var convolution: ConvolutionOption
  @OptionGroup var threads: ThreadOptions
  @Flag(help: "Print one JSON object instead of a line.")
  var json = false

  func run() throws {
    let model = try weights.load()
    let loaded = try source.load(for: model, weights: weights.weights)
    var data = loaded.test ?? loaded.training
    try reporting { try data.checkShape(for: model.spec.inputShape) }
    model.featureScaler?.apply(to: &data)
    try reporting {
      data = try data.classIndices(for: model.loss, outputs: model.spec.outputWidth)
      try data.validate(input: model.spec.inputShape, outputs: model.spec.outputWidth, loss: model.loss)
    }
    let result = model.evaluate(data, threads: threads.count)
    if json {
      let object = JSONValue.object([
        ("samples", .integer(result.count)), ("loss", .number(result.loss)),
        ("accuracy", result.accuracy.map { .number($0) } ?? .null), ("model", .string(model.spec.description)),
      ])
      writeStandardOutput(object.serialized() + "\n")
    } else {
      var line = "\(result.count) samples  loss \(Report.fixed(result.loss, 4))"
      if let accuracy = result.accuracy { line += "  accuracy \(Report.fixed(accuracy, 4))" }
      writeStandardOutput(line + "\n")
    }
  }
}
