/// What a training run logs to TensorBoard (``TensorBoardLog``): at every
/// epoch's end its scalars, at the step the epoch ended on, as `--metrics`
/// records them (`epoch/train_loss`, `epoch/train_accuracy`,
/// `epoch/val_loss` or `epoch/test_loss` and their accuracy,
/// `epoch/learning_rate`, `epoch/samples_per_second`, and `epoch`, the
/// epoch's number); with ``every``, `step/train_loss` too: the mean loss
/// of the last N steps' batches, every N steps. The log is flushed at every
/// epoch's end.
public final class TensorBoardRecorder {
  /// The run's log.
  public let log: TensorBoardLog
  /// Log the training loss every this many steps (`nil`: only per epoch).
  public let every: Int?
  /// What the evaluation set is called in the tags (`val` or `test`).
  public let evaluationName: String
  private var lossSum = 0.0
  private var lossCount = 0

  /// A recorder into a new event file in `folder`.
  ///
  /// - Parameter resumingAt: the first step of a run resumed from a checkpoint.
  public init(folder: String, every: Int?, evaluationName: String, resumingAt step: Int? = nil)
    throws(TensorBoardLog.Failure)
  {
    log = try TensorBoardLog(folder: folder, resumingAt: step)
    self.every = every
    self.evaluationName = evaluationName
  }

  /// Takes a step's progress in (a skipped batch's loss is left out).
  public func stepEnded(_ progress: TrainingProgress) {
    guard let every else { return }
    if progress.batchLoss.isFinite {
      lossSum += progress.batchLoss
      lossCount += 1
    }
    guard progress.step % every == 0, lossCount > 0 else { return }
    log.log([("step/train_loss", lossSum / Double(lossCount))], step: progress.step)
    (lossSum, lossCount) = (0, 0)
  }

  /// Logs an epoch's scalars and flushes the log.
  public func epochEnded(_ metrics: EpochMetrics) {
    var scalars: [(tag: String, value: Double)] = [
      ("epoch", Double(metrics.epoch)), ("epoch/train_loss", metrics.trainLoss),
    ]
    if let accuracy = metrics.trainAccuracy { scalars.append(("epoch/train_accuracy", accuracy)) }
    if let evaluation = metrics.evaluation {
      scalars.append(("epoch/\(evaluationName)_loss", evaluation.loss))
      if let accuracy = evaluation.accuracy { scalars.append(("epoch/\(evaluationName)_accuracy", accuracy)) }
    }
    scalars += [("epoch/learning_rate", metrics.learningRate), ("epoch/samples_per_second", metrics.samplesPerSecond)]
    log.log(scalars, step: metrics.steps)
    log.flush()
  }

  /// Flushes and closes the log; the first write that failed, if one did.
  public func close() -> TensorBoardLog.Failure? {
    log.close()
    return log.failure
  }
}
