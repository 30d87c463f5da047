#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where the time of training steps went, summed over the steps measured.
///
/// A step is: data preparation (gathering each shard's rows), forward and
/// backward over the shards (with ``GradientStrategy/allReduce``, each
/// shard's weight gradients into its worker's buffer too), the reduction
/// (unit slices: the weight gradients by slices over the whole batch, whose
/// sums are the reduction; all-reduce: the sum of the workers' buffers by
/// runs), and the optimizer update of each slice. The slowest worker of each
/// phase sets the pace, the others wait at the barrier; whatever remains of
/// the step's wall time is synchronisation and bookkeeping.
public struct StepProfile: Sendable, Hashable {
  /// The number of steps measured.
  public var steps = 0
  /// Wall-clock seconds of those steps.
  public var wallSeconds = 0.0
  /// Seconds gathering rows (mean over the step's workers).
  public var dataSeconds = 0.0
  /// Seconds of forward and backward over the shards, in the slowest
  /// worker of each step.
  public var computeSlowestSeconds = 0.0
  /// Seconds of the reduction (the slowest worker of each step).
  public var reduceSeconds = 0.0
  /// Seconds of forward and backward, mean over the step's workers.
  public var computeMeanSeconds = 0.0
  /// Seconds workers spent waiting for the slowest shard at the first barrier
  /// (mean over workers).
  public var waitMeanSeconds = 0.0
  /// Seconds of the optimizer update (the slowest slice of each step): what
  /// data parallelism adds to a step on top of the single-worker work is in
  /// here, in ``waitMeanSeconds`` and in the rest of the wall time.
  public var updateSeconds = 0.0
  /// Seconds adding the ranks' gradients and losses (MPI), and the sum of
  /// squares of the result, by worker 0 while the others wait: 0 in one process.
  public var ranksSeconds = 0.0

  /// Creates an empty profile.
  public init() {}

  /// The share of wall time in data preparation, forward+backward (slowest
  /// worker), the reduction, the sum across ranks, the update and the rest,
  /// each in [0, 1].
  public var shares: (data: Double, compute: Double, reduce: Double, ranks: Double, update: Double, other: Double) {
    guard wallSeconds > 0 else { return (0, 0, 0, 0, 0, 0) }
    let data = dataSeconds / wallSeconds
    let compute = computeSlowestSeconds / wallSeconds
    let reduce = reduceSeconds / wallSeconds
    let ranks = ranksSeconds / wallSeconds
    let update = updateSeconds / wallSeconds
    return (data, compute, reduce, ranks, update, max(0, 1 - data - compute - reduce - ranks - update))
  }

  /// Removes an earlier snapshot's sums (to measure only the steps after it).
  public mutating func subtract(_ earlier: StepProfile) {
    steps -= earlier.steps
    wallSeconds -= earlier.wallSeconds
    dataSeconds -= earlier.dataSeconds
    computeSlowestSeconds -= earlier.computeSlowestSeconds
    reduceSeconds -= earlier.reduceSeconds
    computeMeanSeconds -= earlier.computeMeanSeconds
    waitMeanSeconds -= earlier.waitMeanSeconds
    updateSeconds -= earlier.updateSeconds
    ranksSeconds -= earlier.ranksSeconds
  }

  /// Mean wall-clock seconds per step.
  public var secondsPerStep: Double { steps > 0 ? wallSeconds / Double(steps) : 0 }

  /// The spread between workers: mean seconds waiting at the barrier per step.
  public var waitPerStep: Double { steps > 0 ? waitMeanSeconds / Double(steps) : 0 }
}

/// Seconds on the monotonic clock (cheap: the vDSO, no system call).
@inline(__always)
func monotonicSeconds() -> Double {
  var time = timespec()
  clock_gettime(CLOCK_MONOTONIC, &time)
  return Double(time.tv_sec) + Double(time.tv_nsec) * 1e-9
}
