import Backprop

/// Formats what training measured: terminal lines, per-epoch JSON and the
/// summary object.
enum Report {
  /// One line per epoch for the terminal.
  static func epochLine(_ metrics: EpochMetrics, evaluationName: String) -> String {
    var parts = ["epoch \(metrics.epoch)", "loss \(fixed(metrics.trainLoss, 4))"]
    if let accuracy = metrics.trainAccuracy { parts.append("accuracy \(fixed(accuracy, 4))") }
    if let evaluation = metrics.evaluation {
      parts.append("\(evaluationName)_loss \(fixed(evaluation.loss, 4))")
      if let accuracy = evaluation.accuracy { parts.append("\(evaluationName)_accuracy \(fixed(accuracy, 4))") }
    }
    parts.append("\(grouped(metrics.samplesPerSecond)) samples/s")
    parts.append("\(fixed(metrics.seconds, 2)) s")
    return parts.joined(separator: "  ")
  }

  /// One JSON object per epoch, for `--metrics`.
  static func metricsJSON(_ metrics: EpochMetrics, evaluationName: String) -> JSONValue {
    var members: [(String, JSONValue)] = [
      ("epoch", .integer(metrics.epoch)), ("steps", .integer(metrics.steps)),
      ("train_loss", .number(metrics.trainLoss)),
      ("train_accuracy", metrics.trainAccuracy.map { .number($0) } ?? .null),
    ]
    if let evaluation = metrics.evaluation {
      members.append(("\(evaluationName)_loss", .number(evaluation.loss)))
      members.append(("\(evaluationName)_accuracy", evaluation.accuracy.map { .number($0) } ?? .null))
    }
    members += [
      ("learning_rate", .number(metrics.learningRate)), ("seconds", .number(metrics.seconds)),
      ("samples_per_second", .number(metrics.samplesPerSecond)), ("skipped_batches", .integer(metrics.skippedBatches)),
    ]
    return .object(members)
  }

  /// The summary object of `--json`.
  ///
  /// - Parameter keptEpoch: with early stopping, the epoch whose weights the
  ///   run kept: the train figures are that epoch's, and `best_epoch` names it
  ///   (the caller scores `validation` and `test` with those weights).
  static func summary(
    history: [EpochMetrics], options: TrainingOptions, samples: Int, test: Evaluation?, validation: Evaluation?,
    wallSeconds: Double, model: Model, strategy: GradientStrategy, keptEpoch: Int? = nil
  ) -> JSONValue {
    let last = history.last
    let steps = last?.steps ?? 0
    let stepsPerEpoch = Swift.max(1, options.stepsPerEpoch(samples: samples))
    let kept = keptEpoch.flatMap { epoch in history.first { $0.epoch == epoch } } ?? last
    let trainingSeconds = history.reduce(0) { $0 + $1.seconds }
    let samples = history.reduce(0.0) { $0 + $1.samplesPerSecond * $1.seconds }
    var members: [(String, JSONValue)] = [
      ("epochs", .integer(history.count)), ("steps", .integer(steps)),
      // The passes over the data those steps make (a run cut short by --steps ends mid-epoch).
      ("epochs_trained", .number(Double(steps) / Double(stepsPerEpoch))),
      ("threads", .integer(options.threads)), ("gradient_strategy", .string(strategy.rawValue)),
      ("reproducible", .bool(options.reproducible)),
      ("model", .string(model.spec.description)),
      ("parameters", .integer(model.network.layout.parameterCount)),
      ("loss_function", .string(model.loss.rawValue)),
      ("optimizer", .string(options.optimizer.kind.rawValue)), ("batch_size", .integer(options.batchSize)),
      ("seed", .integer(Int(truncatingIfNeeded: options.seed))),
      ("train_loss", kept.map { .number($0.trainLoss) } ?? .null),
      ("train_accuracy", kept?.trainAccuracy.map { .number($0) } ?? .null),
    ]
    if let validation {
      members.append(("val_loss", .number(validation.loss)))
      members.append(("val_accuracy", validation.accuracy.map { .number($0) } ?? .null))
    }
    if let keptEpoch { members.append(("best_epoch", .integer(keptEpoch))) }
    members += [
      ("test_loss", test.map { .number($0.loss) } ?? .null),
      ("test_accuracy", test?.accuracy.map { .number($0) } ?? .null),
      ("test_samples", test.map { .integer($0.count) } ?? .null),
      ("samples_per_second", .number(trainingSeconds > 0 ? samples / trainingSeconds : 0)),
      ("training_seconds", .number(trainingSeconds)),
      ("wall_seconds", .number(wallSeconds)),
    ]
    return .object(members)
  }

  /// The human-readable last line of a run.
  static func summaryLine(_ summary: JSONValue) -> String {
    let steps = summary["steps"]?.integerValue ?? 0
    let passes = summary["epochs_trained"]?.doubleValue ?? 0
    var parts = [
      passes.rounded() == passes
        ? "trained \(summary["epochs"]?.integerValue ?? 0) epoch(s), \(steps) steps"
        : "trained \(steps) steps (\(fixed(passes, passes < 1 ? 2 : 1)) epochs)"
    ]
    if let epoch = summary["best_epoch"]?.integerValue { parts.append("kept the weights of epoch \(epoch)") }
    if let loss = summary["train_loss"]?.doubleValue { parts.append("train loss \(fixed(loss, 4))") }
    if let loss = summary["val_loss"]?.doubleValue { parts.append("val loss \(fixed(loss, 4))") }
    if let accuracy = summary["val_accuracy"]?.doubleValue { parts.append("val accuracy \(fixed(accuracy, 4))") }
    if let loss = summary["test_loss"]?.doubleValue { parts.append("test loss \(fixed(loss, 4))") }
    if let accuracy = summary["test_accuracy"]?.doubleValue { parts.append("test accuracy \(fixed(accuracy, 4))") }
    if let rate = summary["samples_per_second"]?.doubleValue { parts.append("\(grouped(rate)) samples/s") }
    if let wall = summary["wall_seconds"]?.doubleValue { parts.append("\(fixed(wall, 2)) s") }
    return parts.joined(separator: ", ")
  }

  /// `value` with `digits` decimals.
  /// `text` then spaces up to `width` columns, at least one: a table's
  /// left-aligned cell.
  static func leftAligned(_ text: String, _ width: Int) -> String {
    text + String(repeating: " ", count: max(1, width - text.count))
  }

  /// Spaces up to `width` columns, at least one, then `text`: a table's
  /// right-aligned cell.
  static func rightAligned(_ text: String, _ width: Int) -> String {
    String(repeating: " ", count: max(1, width - text.count)) + text
  }

  static func fixed(_ value: Double, _ digits: Int) -> String {
    guard value.isFinite else { return String(value) }
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let rounded = (abs(value) * scale).rounded()
    let whole = Int(rounded / scale)
    let fraction = Int(rounded - Double(whole) * scale)
    let fractionText = String(fraction)
    let sign = value < 0 && rounded != 0 ? "-" : ""
    return digits == 0
      ? "\(sign)\(whole)"
      : "\(sign)\(whole).\(String(repeating: "0", count: digits - fractionText.count))\(fractionText)"
  }

  /// A whole number with thousands separators, as `52,300`.
  static func grouped(_ value: Double) -> String {
    guard value.isFinite else { return "0" }
    let digits = Array(String(Int(value.rounded())))
    var text = ""
    for (index, digit) in digits.enumerated() {
      if index > 0 && (digits.count - index) % 3 == 0 { text.append(",") }
      text.append(digit)
    }
    return text
  }

  /// Seconds as `m:ss` or `h:mm:ss`.
  static func clock(_ seconds: Double) -> String {
    let total = Int(seconds.rounded())
    let (hours, minutes, secs) = (total / 3600, total / 60 % 60, total % 60)
    let mm = minutes < 10 && hours > 0 ? "0\(minutes)" : "\(minutes)"
    let ss = secs < 10 ? "0\(secs)" : "\(secs)"
    return hours > 0 ? "\(hours):\(mm):\(ss)" : "\(mm):\(ss)"
  }
}
