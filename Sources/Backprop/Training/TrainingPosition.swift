import Synchronization

/// Where a run is: the epoch and batch it reached, the optimizer steps taken,
/// and the running sums of the epoch in progress. With the parameters, the
/// optimizer state and the options, it is everything a run needs to go on
/// exactly as if it had never stopped: the shuffling order of an epoch and
/// the dropout masks of a step are drawn from generators keyed by the seed,
/// the epoch and the step, so they carry no other state.
public struct TrainingPosition: Sendable, Hashable {
  /// The 0-based epoch in progress; when `batch` is 0, the epoch to begin.
  public var epoch = 0
  /// The batches of `epoch` already taken (or skipped).
  public var batch = 0
  /// The optimizer steps taken in the whole run.
  public var steps = 0
  /// The batches of `epoch` skipped so far for a non-finite loss or gradient.
  public var skippedBatches = 0
  /// The summed training loss of `epoch`'s batches so far.
  public var lossSum = 0.0
  /// The correct predictions among `epoch`'s samples so far.
  public var correct = 0
  /// The samples of `epoch` seen so far.
  public var seen = 0
  /// With early stopping: the lowest evaluation loss so far and its
  /// 1-based epoch (the trainer's ``Trainer/bestParameters`` hold its weights).
  public var best: BestEpoch? = nil

  /// The epoch with the lowest evaluation loss so far.
  public struct BestEpoch: Sendable, Hashable {
    /// The 1-based epoch.
    public var epoch: Int
    /// Its evaluation loss.
    public var loss: Double
  }

  /// The start of a run.
  public init() {}
}

/// What a run does with a batch whose loss or gradient is not finite.
public enum NonFinitePolicy: String, Sendable, Hashable, CaseIterable {
  /// Stop the run with ``TrainingError/diverged(epoch:step:what:)``.
  case stop
  /// Leave the parameters and optimizer state as they were, count the batch
  /// as skipped and go on. The whole gradient's finiteness must be known
  /// before any slice is updated, so steps take one more barrier (as with
  /// gradient clipping).
  case skipBatch = "skip-batch"

  /// The share of an epoch's batches that `skipBatch` may skip; an epoch
  /// that skips more ends the run with
  /// ``TrainingError/mostBatchesSkipped(epoch:skipped:batches:)``, as
  /// divergence does.
  public static let maximumSkippedShare = 0.5
}

/// A request to stop a run at the next step boundary, from any thread or a
/// signal handler (it only stores to an atomic).
public final class StopRequest: Sendable {
  private let code = Atomic<Int32>(0)

  /// A request not yet made.
  public init() {}

  /// Asks the run to stop; `code` (non-zero, such as a signal number) says why.
  public func request(code: Int32 = 1) {
    _ = self.code.compareExchange(expected: 0, desired: code == 0 ? 1 : code, ordering: .relaxed)
  }

  /// The code of the first request, or 0 when none was made.
  public var requestedCode: Int32 { code.load(ordering: .relaxed) }

  /// Whether a stop was requested.
  public var isRequested: Bool { requestedCode != 0 }
}
