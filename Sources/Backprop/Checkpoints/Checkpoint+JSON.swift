/// The JSON forms of what a checkpoint's metadata holds. Every reader
/// returns `nil` for anything that is not exactly what the writer makes, so
/// a damaged metadata value is an error, never a guess.

extension TrainingOptions {
  /// Every option, as written in a checkpoint.
  public var json: JSONValue {
    let optimizer = self.optimizer
    return .object([
      ("epochs", .integer(epochs)), ("max_steps", maximumSteps.map { .integer($0) } ?? .null),
      ("batch_size", .integer(batchSize)), ("seed", .string(String(seed))), ("shuffle", .bool(shuffle)),
      (
        "optimizer",
        .object([
          ("kind", .string(optimizer.kind.rawValue)), ("lr", .number(optimizer.learningRate)),
          ("momentum", .number(optimizer.momentum)), ("nesterov", .bool(optimizer.nesterov)),
          ("weight_decay", .number(optimizer.weightDecay)), ("beta1", .number(optimizer.beta1)),
          ("beta2", .number(optimizer.beta2)), ("eps", .number(optimizer.epsilon)),
        ])
      ),
      ("schedule", .string(schedule.description)), ("warmup_steps", .integer(schedule.warmupSteps)),
      ("clip_grad_norm", clipGradientNorm.map { .number($0) } ?? .null), ("threads", .integer(threads)),
      ("min_work_per_thread", .number(minimumWorkPerThread)), ("on_nan", .string(onNonFinite.rawValue)),
      ("early_stopping", earlyStoppingPatience.map { .integer($0) } ?? .null),
      ("gradients", .string(gradients?.rawValue ?? "auto")), ("reproducible", .bool(reproducible)),
      ("augment", augmentation.map { .string($0.description) } ?? .null),
    ])
  }

  /// Reads ``json``; `nil` if anything is missing or malformed.
  public init?(json: JSONValue) {
    let o = json["optimizer"]
    guard let epochs = json["epochs"]?.integerValue, let batchSize = json["batch_size"]?.integerValue,
      let seed = json["seed"]?.stringValue.flatMap({ UInt64($0) }), case .bool(let shuffle) = json["shuffle"],
      let kind = o?["kind"]?.stringValue.flatMap(OptimizerSettings.Kind.init(rawValue:)),
      let lr = o?["lr"]?.doubleValue, let momentum = o?["momentum"]?.doubleValue,
      case .bool(let nesterov) = o?["nesterov"], let decay = o?["weight_decay"]?.doubleValue,
      let beta1 = o?["beta1"]?.doubleValue, let beta2 = o?["beta2"]?.doubleValue, let eps = o?["eps"]?.doubleValue,
      let warmup = json["warmup_steps"]?.integerValue,
      let schedule = json["schedule"]?.stringValue.flatMap({ LearningRateSchedule(parsing: $0, warmupSteps: warmup) }),
      let threads = json["threads"]?.integerValue, let minimumWork = json["min_work_per_thread"]?.doubleValue,
      let onNonFinite = json["on_nan"]?.stringValue.flatMap(NonFinitePolicy.init(rawValue:)),
      epochs > 0, batchSize > 0, threads > 0
    else { return nil }
    self.init()
    self.epochs = epochs
    if let steps = json["max_steps"], steps != .null {
      guard let value = steps.integerValue, value > 0 else { return nil }
      maximumSteps = value
    }
    self.batchSize = batchSize
    self.seed = seed
    self.shuffle = shuffle
    var settings = OptimizerSettings(kind: kind, learningRate: lr)
    settings.momentum = momentum
    settings.nesterov = nesterov
    settings.weightDecay = decay
    settings.beta1 = beta1
    settings.beta2 = beta2
    settings.epsilon = eps
    optimizer = settings
    self.schedule = schedule
    if let clip = json["clip_grad_norm"], clip != .null {
      guard let value = clip.doubleValue, value > 0 else { return nil }
      clipGradientNorm = value
    }
    self.threads = threads
    minimumWorkPerThread = minimumWork
    self.onNonFinite = onNonFinite
    if let patience = json["early_stopping"], patience != .null {
      guard let value = patience.integerValue, value > 0 else { return nil }
      earlyStoppingPatience = value
    }
    // Checkpoints written before the strategies were named ran unit slices.
    gradients = .unitSlices
    if let strategy = json["gradients"] {
      guard let choice = strategy.stringValue.flatMap(GradientChoice.init(rawValue:)) else { return nil }
      gradients = choice.strategy
    }
    if let value = json["reproducible"] {
      guard case .bool(let flag) = value else { return nil }
      reproducible = flag
    }
    if let value = json["augment"], value != .null {
      guard let augmentation = value.stringValue.flatMap(Augmentation.init(parsing:)) else { return nil }
      self.augmentation = augmentation
    }
  }
}

extension TrainingPosition {
  /// The position, as written in a checkpoint.
  public var json: JSONValue {
    .object([
      ("epoch", .integer(epoch)), ("batch", .integer(batch)), ("steps", .integer(steps)),
      ("skipped_batches", .integer(skippedBatches)), ("loss_sum", .number(lossSum)), ("correct", .integer(correct)),
      ("seen", .integer(seen)), ("best_epoch", best.map { .integer($0.epoch) } ?? .null),
      ("best_loss", best.map { .number($0.loss) } ?? .null),
    ])
  }

  /// Reads ``json``; `nil` if anything is missing, malformed or negative.
  public init?(json: JSONValue) {
    guard let epoch = json["epoch"]?.integerValue, let batch = json["batch"]?.integerValue,
      let steps = json["steps"]?.integerValue, let skipped = json["skipped_batches"]?.integerValue,
      let lossSum = json["loss_sum"]?.doubleValue, let correct = json["correct"]?.integerValue,
      let seen = json["seen"]?.integerValue,
      [epoch, batch, steps, skipped, correct, seen].allSatisfy({ $0 >= 0 }), lossSum.isFinite
    else { return nil }
    self.init()
    (self.epoch, self.batch, self.steps, skippedBatches) = (epoch, batch, steps, skipped)
    (self.lossSum, self.correct, self.seen) = (lossSum, correct, seen)
    if let bestEpoch = json["best_epoch"]?.integerValue, let bestLoss = json["best_loss"]?.doubleValue {
      best = BestEpoch(epoch: bestEpoch, loss: bestLoss)
    }
  }
}

extension EpochMetrics {
  /// The metrics, as kept in a checkpoint's history.
  public var json: JSONValue {
    .object([
      ("epoch", .integer(epoch)), ("steps", .integer(steps)), ("train_loss", .number(trainLoss)),
      ("train_accuracy", trainAccuracy.map { .number($0) } ?? .null),
      ("eval_loss", evaluation.map { .number($0.loss) } ?? .null),
      ("eval_accuracy", evaluation?.accuracy.map { .number($0) } ?? .null),
      ("eval_count", evaluation.map { .integer($0.count) } ?? .null), ("seconds", .number(seconds)),
      ("samples_per_second", .number(samplesPerSecond)), ("learning_rate", .number(learningRate)),
      ("skipped_batches", .integer(skippedBatches)),
    ])
  }

  /// Reads ``json``; `nil` if it is malformed.
  public init?(json: JSONValue) {
    guard let epoch = json["epoch"]?.integerValue, let steps = json["steps"]?.integerValue,
      let trainLoss = json["train_loss"]?.doubleValue, let seconds = json["seconds"]?.doubleValue,
      let rate = json["samples_per_second"]?.doubleValue, let lr = json["learning_rate"]?.doubleValue,
      let skipped = json["skipped_batches"]?.integerValue
    else { return nil }
    var evaluation: Evaluation? = nil
    if let loss = json["eval_loss"]?.doubleValue, let count = json["eval_count"]?.integerValue {
      evaluation = Evaluation(loss: loss, accuracy: json["eval_accuracy"]?.doubleValue, count: count)
    }
    self.init(
      epoch: epoch, steps: steps, trainLoss: trainLoss, trainAccuracy: json["train_accuracy"]?.doubleValue,
      evaluation: evaluation, seconds: seconds, samplesPerSecond: rate, learningRate: lr, skippedBatches: skipped)
  }
}
