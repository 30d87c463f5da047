import ArgumentParser
import Backprop

/// `backprop predict`: writes the predictions of saved weights for every sample.
struct PredictCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "predict",
    abstract: "Write predictions of saved weights to a CSV or .npy file.",
    usage: "backprop predict --weights <file> --data <name|file> --output <file.csv|file.npy|-> [<options>]",
    discussion: """
      CSV: a header, then one row per sample with the predicted class and the probability of \
      each class (for regression, the outputs). .npy: a float32 array of the probabilities \
      (softmax, or sigmoid for binary cross-entropy; raw outputs for mse), one row per sample. \
      A named set is predicted on its test split. Labels are not needed; CSV features are \
      matched to the weights' by name.

      Examples:
        backprop predict --weights my.safetensors --data new.csv \\
          --output predictions.csv
        backprop predict --weights fashion.safetensors --data fashion-mnist \\
          --output - | head
      """)

  @OptionGroup var weights: WeightsOptions
  @OptionGroup var source: DataOptions
  @OptionGroup var resources: ResourceOptions
  @OptionGroup var convolution: ConvolutionOption
  @OptionGroup var threads: ThreadOptions
  @Option(help: "The predictions file: .csv or .npy, or - for CSV on standard output.")
  var output: String

  func run() throws {
    let lowered = output.lowercased()
    let toStandardOutput = output == "-"
    guard toStandardOutput || lowered.hasSuffix(".csv") || lowered.hasSuffix(".npy") else {
      throw CommandFailure("--output \(output): the name must end in .csv or .npy (or be - for standard output)")
    }
    let outputs = try claimOutputs(
      toStandardOutput ? [] : [named("--output", output)], inputs: weights.inputs + source.inputs)
    defer { outputs.release() }
    let model = try weights.load()
    let loaded = try source.load(for: model, weights: weights.weights, requireLabels: false)
    var data = loaded.test ?? loaded.training
    try reporting { try data.checkShape(for: model.spec.inputShape) }
    model.featureScaler?.apply(to: &data)
    try reporting { try data.checkFeaturesAreFinite() }
    let width = model.spec.outputWidth
    let scores = Predictions.scores(
      logits: model.outputs(for: data, threads: threads.count), width: width, loss: model.loss
    )
    if toStandardOutput || !lowered.hasSuffix(".npy") {
      let text = Predictions.csv(
        scores: scores, rows: data.count, width: width, loss: model.loss, classNames: model.dataSchema?.classNames)
      if toStandardOutput { return writeStandardOutput(text) }
      try reporting { try AtomicFile.write(Array(text.utf8), to: output) }
    } else {
      try reporting { try AtomicFile.write(NPYFile.encode(values: scores, shape: [data.count, width]), to: output) }
    }
    writeStandardError("wrote \(data.count) predictions to \(FilePath.printable(output))\n")
  }
}

/// Turns a model's outputs into what predictions report.
enum Predictions {
  /// Probabilities for classification losses (softmax or sigmoid), the raw
  /// outputs for mean squared error.
  static func scores(logits: [Float], width: Int, loss: Loss) -> [Float] {
    var scores = logits
    switch loss {
    case .softmaxCrossEntropy:
      for row in 0..<(scores.count / width) {
        let line = row * width..<(row + 1) * width
        let maximum = scores[line].max()!
        var sum: Float = 0
        for j in line { scores[j] = Float.exp(scores[j] - maximum); sum += scores[j] }
        for j in line { scores[j] /= sum }
      }
    case .binaryCrossEntropy:
      for i in scores.indices { scores[i] = Activation.sigmoid(scores[i]) }
    case .meanSquaredError:
      break
    }
    return scores
  }

  /// CSV text: `prediction` then one column per output. With
  /// `classNames` (one per class), the prediction is the class's name and
  /// the probability columns are named after the classes.
  static func csv(scores: [Float], rows: Int, width: Int, loss: Loss, classNames: [String]? = nil) -> String {
    let classifies = loss != .meanSquaredError || width > 1
    let classes = loss == .binaryCrossEntropy && width == 1 ? 2 : width
    let names = classNames.flatMap { $0.count == classes && loss != .meanSquaredError ? $0 : nil }
    func name(_ index: Int) -> String { names.map { field($0[index]) } ?? String(index) }
    var columns = classifies ? ["prediction"] : []
    columns += (0..<width).map { loss == .meanSquaredError ? "output_\($0)" : field("p_\(names?[$0] ?? String($0))") }
    if loss == .binaryCrossEntropy && width == 1 { columns = ["prediction", field("p_\(names?[1] ?? "1")")] }
    var text = columns.joined(separator: ",") + "\n"
    for row in 0..<rows {
      let line = scores[(row * width)..<((row + 1) * width)]
      var fields: [String] = []
      if classifies {
        let predicted =
          loss == .binaryCrossEntropy
          ? (width == 1 ? name(line.first! > 0.5 ? 1 : 0) : line.map { $0 > 0.5 ? "1" : "0" }.joined(separator: " "))
          : name(line.indices.max { line[$0] < line[$1] }! - row * width)
        fields.append(predicted)
      }
      fields += line.map { "\($0)" }
      text += fields.joined(separator: ",") + "\n"
    }
    return text
  }

  /// A CSV field: quoted when it holds a comma, quote or line end.
  static func field(_ text: String) -> String {
    guard text.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) else { return text }
    return "\"" + text.split(separator: "\"", omittingEmptySubsequences: false).joined(separator: "\"\"") + "\""
  }
}
