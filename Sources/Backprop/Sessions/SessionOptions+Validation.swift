extension SessionOptions {
  /// The most epochs a run may have (each keeps about 100 bytes of metrics).
  public static let maximumEpochs = 100_000_000

  /// Checks every given value against its range.
  ///
  /// - Throws: ``SessionError`` naming the first option out of range.
  public func validate() throws(SessionError) {
    func check(_ ok: Bool, _ option: String, _ message: @autoclosure () -> String) throws(SessionError) {
      if !ok { throw SessionError(option: option, line: "\(option) \(message())") }
    }
    if let epochs {
      try check(epochs >= 1, "--epochs", "must be at least 1, got \(epochs)")
      // Each epoch keeps its metrics for the run: a bound keeps that history in memory.
      try check(
        epochs <= SessionOptions.maximumEpochs, "--epochs",
        "\(epochs) is more than the \(SessionOptions.maximumEpochs) a run may have")
    }
    if let steps { try check(steps >= 1, "--steps", "must be at least 1, got \(steps)") }
    if let batchSize { try check(batchSize >= 1, "--batch-size", "must be at least 1, got \(batchSize)") }
    if let learningRate {
      try check(learningRate > 0 && learningRate.isFinite, "--lr", "must be a positive number, got \(learningRate)")
    }
    if let momentum { try check(momentum >= 0 && momentum < 1, "--momentum", "must be in [0, 1), got \(momentum)") }
    if let weightDecay {
      try check(
        weightDecay >= 0 && weightDecay.isFinite, "--weight-decay", "must be a non-negative number, got \(weightDecay)")
    }
    if let beta1 { try check(beta1 >= 0 && beta1 < 1, "--beta1", "must be in [0, 1), got \(beta1)") }
    if let beta2 { try check(beta2 >= 0 && beta2 < 1, "--beta2", "must be in [0, 1), got \(beta2)") }
    if let epsilon { try check(epsilon > 0 && epsilon.isFinite, "--eps", "must be positive, got \(epsilon)") }
    if let schedule {
      try check(
        LearningRateSchedule(parsing: schedule) != nil, "--schedule",
        "'\(schedule)' is not constant, step:EPOCHS:GAMMA or cosine[:MIN_LR]")
    }
    if let warmupSteps { try check(warmupSteps >= 0, "--warmup-steps", "must not be negative, got \(warmupSteps)") }
    if let work = minimumWorkPerThread {
      try check(work >= 0 && work.isFinite, "--min-work-per-thread", "must be a non-negative number, got \(work)")
    }
    if let norm = clipGradientNorm {
      try check(norm > 0 && norm.isFinite, "--clip-grad-norm", "must be positive, got \(norm)")
    }
    if let split = validationSplit {
      try check(split > 0 && split < 1, "--validation-split", "must be in (0, 1), got \(split)")
    }
    try check(testLabels == nil || testData != nil, "--test-labels", "needs --test-data")
    try check(
      featureColumns == nil || dropColumns == nil, "--drop-columns",
      "cannot be given with --feature-columns (which names every feature column)")
    for (option, names) in [
      ("--feature-columns", featureColumns), ("--drop-columns", dropColumns), ("--class-names", classNames),
    ] {
      guard let names else { continue }
      try check(
        !names.contains(where: \.isEmpty), option, "has an empty name (give names separated by commas)")
      if let repeated = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
        try check(false, option, "names '\(repeated)' twice")
      }
    }
    if let classNames {
      try check(classNames.count >= 2, "--class-names", "needs at least two classes, got \(classNames.count)")
    }
    if let patience = earlyStoppingPatience {
      try check(patience >= 1, "--early-stopping", "must be at least 1 epoch, got \(patience)")
    }
  }
}
