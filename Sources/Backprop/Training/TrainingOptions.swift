/// How a model is trained: epochs, batches, optimizer, schedule and seeds.
public struct TrainingOptions: Sendable, Hashable {
  /// The number of passes over the training data.
  public var epochs: Int = 10
  /// Stop after this many optimizer steps, whatever `epochs` says.
  public var maximumSteps: Int? = nil
  /// Samples per optimizer step (the last batch of an epoch may be smaller).
  public var batchSize: Int = 32
  /// The seed of shuffling and dropout (and, by convention, of initialisation).
  public var seed: UInt64 = 0
  /// Whether the training samples are reshuffled every epoch.
  public var shuffle: Bool = true
  /// The optimizer and its hyperparameters.
  public var optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.01)
  /// How the learning rate changes over the run.
  public var schedule = LearningRateSchedule()
  /// The largest L2 norm the mean gradient may have; `nil` for no clipping.
  public var clipGradientNorm: Double? = nil
  /// The number of data-parallel workers asked for.
  public var threads: Int = 1
  /// The work (training FLOPs of a full step, from the layers' own counts:
  /// ``ModelSpec/trainingFLOPsPerSample`` × B) each worker must get:
  /// a step with less uses fewer workers, since sharing it would cost more in
  /// synchronisation than it saves. 0 uses all `threads` whatever the model.
  public var minimumWorkPerThread: Double = 1_000_000
  /// How the workers' shards become the batch's mean gradient; `nil`
  /// (auto) lets the trainer choose by the model, the batch and its workers
  /// (``GradientStrategy/automatic(spec:batch:workers:)``).
  public var gradients: GradientStrategy? = nil
  /// Whether the final weights are bitwise the same for any number of
  /// workers (see ``Trainer/logicalShardCount``); implies all-reduce.
  public var reproducible = false
  /// Random crops and flips of training images, drawn per sample and epoch
  /// (`nil`: the images as they are).
  public var augmentation: Augmentation? = nil
  /// What to do with a batch whose loss or gradient is not finite.
  public var onNonFinite = NonFinitePolicy.stop
  /// Stop when the evaluation loss has not improved for this many epochs,
  /// and end with the weights of the best epoch; `nil` trains every epoch.
  /// Needs evaluation data.
  public var earlyStoppingPatience: Int? = nil

  /// Options with the defaults above.
  public init() {}

  /// The number of optimizer steps one epoch of `samples` samples takes.
  public func stepsPerEpoch(samples: Int) -> Int {
    (samples + batchSize - 1) / batchSize
  }

  /// The number of optimizer steps the whole run takes.
  public func totalSteps(samples: Int) -> Int {
    let (planned, overflow) = epochs.multipliedReportingOverflow(by: stepsPerEpoch(samples: samples))
    let all = overflow ? Int.max : planned
    return maximumSteps.map { min($0, all) } ?? all
  }
}

/// What one epoch of training measured.
public struct EpochMetrics: Sendable, Hashable {
  /// The 1-based epoch.
  public var epoch: Int
  /// The optimizer steps taken so far in the run.
  public var steps: Int
  /// The mean training loss over the epoch's batches (with dropout active).
  public var trainLoss: Double
  /// The training accuracy over the epoch's batches, or `nil` for regression.
  public var trainAccuracy: Double?
  /// The loss and accuracy on the evaluation data, if any was given.
  public var evaluation: Evaluation?
  /// Wall-clock seconds of the epoch's training (evaluation excluded).
  public var seconds: Double
  /// Training samples per second over the epoch.
  public var samplesPerSecond: Double
  /// The learning rate of the epoch's last step.
  public var learningRate: Double
  /// The batches skipped for a non-finite loss or gradient
  /// (``NonFinitePolicy/skipBatch``).
  public var skippedBatches = 0
}

/// Where a run is, for progress displays.
public struct TrainingProgress: Sendable, Hashable {
  /// The 1-based epoch.
  public var epoch: Int
  /// The number of epochs planned.
  public var epochs: Int
  /// The 1-based batch within the epoch.
  public var batch: Int
  /// The number of batches per epoch.
  public var batches: Int
  /// The optimizer steps taken in the run.
  public var step: Int
  /// The steps the run will take.
  public var totalSteps: Int
  /// The mean loss of the epoch's batches so far.
  public var loss: Double
  /// Training samples per second since the epoch began.
  public var samplesPerSecond: Double
  /// Training samples processed in the whole run so far.
  public var samplesSeen: Int = 0
  /// The mean loss of this step's batch (NaN for a batch skipped as not finite).
  public var batchLoss: Double = .nan
}

/// Why training stopped early.
public enum TrainingError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The loss or the gradient became NaN or infinite at the 1-based
  /// `epoch` and `step`; that step's update was not applied.
  case diverged(epoch: Int, step: Int, what: String)
  /// A ``StopRequest`` stopped the run after `steps` optimizer steps, in the
  /// 1-based `epoch`.
  case interrupted(epoch: Int, steps: Int)
  /// The checkpoint writer of ``RunControl`` failed (`reason`, such as a
  /// full disk) in the 1-based `epoch` after `steps` optimizer steps, and
  /// the run stopped there.
  case checkpointFailed(epoch: Int, steps: Int, reason: String)
  /// With ``NonFinitePolicy/skipBatch``, the 1-based `epoch` skipped more
  /// than ``NonFinitePolicy/maximumSkippedShare`` of its `batches`.
  case mostBatchesSkipped(epoch: Int, skipped: Int, batches: Int)

  public var description: String {
    switch self {
    case .diverged(let epoch, let step, let what):
      "training diverged: the \(what) became non-finite at epoch \(epoch), step \(step); "
        + "likely causes: a learning rate too high for this model (try a lower --lr or a --warmup-steps), "
        + "no gradient clipping (try --clip-grad-norm 1), or NaN, infinite or huge values in the data"
    case .interrupted(let epoch, let steps):
      "training interrupted in epoch \(epoch) after \(steps) steps"
    case .mostBatchesSkipped(let epoch, let skipped, let batches):
      "training diverged: epoch \(epoch) skipped \(skipped) of its \(batches) batches for a non-finite loss or gradient "
        + "(--on-nan skip-batch ends a run that skips more than half); likely causes: a learning rate too high "
        + "(try a lower --lr), no gradient clipping (try --clip-grad-norm 1), or NaN or huge values in the data"
    case .checkpointFailed(let epoch, let steps, let reason):
      "\(reason); training stopped in epoch \(epoch) after \(steps) steps"
    }
  }
}
