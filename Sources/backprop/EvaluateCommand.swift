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
  @Flag(help: "Print one JSON object instead of a line and the per-class table.")
  var json = false
  @Option(
    help:
      "Write the per-class metrics and confusion matrix to R.csv or R.json, or to both for a name without either extension."
  )
  var output: String?

  func run() throws {
    let files = ReportOutput(output)
    let outputs = try claimOutputs(files.claims, inputs: weights.inputs + source.inputs)
    defer { outputs.release() }
    let model = try weights.load()
    let loaded = try source.load(for: model, weights: weights.weights)
    var data = loaded.test ?? loaded.training
    try reporting { try data.checkShape(for: model.spec.inputShape) }
    model.featureScaler?.apply(to: &data)
    try reporting {
      data = try data.classIndices(for: model.loss, outputs: model.spec.outputWidth)
      try data.validate(input: model.spec.inputShape, outputs: model.spec.outputWidth, loss: model.loss)
    }
    // A classifier is also judged class by class.
    let classifies = model.loss.reportsAccuracy(outputs: model.spec.outputWidth, targetWidth: data.targetWidth)
    let (result, predicted) =
      classifies
      ? model.evaluateAndPredict(data, threads: threads.count) : (model.evaluate(data, threads: threads.count), [])
    let report =
      classifies
      ? ClassificationReport(
        predicted: predicted, actual: data.targets.map { Int($0) }, classes: max(model.spec.outputWidth, 2),
        names: model.dataSchema?.classNames) : nil
    if output != nil && report == nil {
      throw CommandFailure("--output: the per-class report needs a classifier; this model's loss has no classes")
    }
    var members: [(String, JSONValue)] = [
      ("samples", .integer(result.count)), ("loss", .number(result.loss)),
      ("accuracy", result.accuracy.map { .number($0) } ?? .null), ("model", .string(model.spec.description)),
    ]
    if let report { members += report.jsonMembers }
    if let report { try files.write(csv: report.csv, json: .object(members)) }
    if json {
      writeStandardOutput(JSONValue.object(members).serialized() + "\n")
    } else {
      var line = "\(result.count) samples  loss \(Report.fixed(result.loss, 4))"
      if let accuracy = result.accuracy { line += "  accuracy \(Report.fixed(accuracy, 4))" }
      writeStandardOutput(line + "\n" + (report.map { "\n" + $0.text } ?? ""))
    }
  }
}
