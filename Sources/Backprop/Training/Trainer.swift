import Dispatch

/// Trains a ``Model`` by mini-batch backpropagation, data-parallel over W
/// workers.
///
/// One step has two phases. First the batch is cut into W contiguous shards
/// (``ShardPlan``); each worker gathers its rows into the shared batch
/// ``Workspace`` and runs forward, the loss and the first half of backward
/// (every layer's delta) over them, writing only its own rows. The second
/// phase depends on ``strategy``. With ``GradientStrategy/unitSlices``,
/// worker s computes slice s of the gradient (``SlicePlan``: whole output
/// units of the layers with parameters) over the whole batch, scaled by 1/B
/// (the exact mean, whatever W): the reduction over the shards is the
/// weight-gradient product itself, so every gradient element has one writer
/// and there are no per-worker copies. With ``GradientStrategy/allReduce``,
/// each worker also computes its shard's parameter gradients into its own
/// buffer in the first phase, and worker s sums run s of the buffers
/// (``ReduceScatterPlan``) in worker order, times 1/B. Either way worker s
/// then applies the optimizer to its part of the parameters and optimizer
/// state while it is still in cache. With ``TrainingOptions/reproducible``
/// the batch is cut into ``logicalShardCount`` logical shards by its size
/// alone, each with its own buffer, so every sum runs in the same order
/// whatever W. Two barriers per step (three with
/// gradient clipping, which needs the whole vector's norm before updating),
/// no locks, no allocation. W = 1 is the same code on the calling thread.
///
/// ``train(evaluation:progress:epochEnd:)`` runs W long-lived workers inside
/// one Dispatch `concurrentPerform` for the whole run, each bound to the core
/// of its ``BindingPlan``; if Dispatch cannot run all W at once it falls back
/// to a fork/join per phase and says so in ``executionMode``.
public final class Trainer {
  /// The model being trained (its parameters change in place).
  public let model: Model
  /// The model's network, and its input and output widths, read once (each
  /// read of the model's is a copy that retains the spec's arrays).
  let network: Network
  let inputWidth: Int, outputWidth: Int
  /// How it is trained.
  public let options: TrainingOptions
  /// The optimizer and its state.
  public let optimizer: Optimizer
  /// Where each worker runs.
  public let plan: BindingPlan
  /// The optimizer steps taken so far.
  public internal(set) var stepsTaken = 0
  /// With early stopping, the 1-based epoch whose weights the run ended with.
  public internal(set) var bestEpoch: Int? = nil
  /// How the last run executed its workers.
  public internal(set) var executionMode: ExecutionMode = .notStarted
  /// Where the time of the steps went (with ``isProfiling`` only).
  public internal(set) var profile = StepProfile()
  /// Whether steps time their phases into ``profile``: a dozen clock reads
  /// per step, which on a VM's clock are a tenth of a tiny model's step, so
  /// only when asked (`--profile`, `backprop scale`).
  public let isProfiling: Bool
  /// With early stopping, the weights of the epoch with the lowest
  /// evaluation loss so far (copied from the parameters between steps); the
  /// model gets them back when the run ends.
  public let bestParameters: AlignedBuffer<Float>?
  /// Where the next ``train(evaluation:control:progress:epochEnd:)`` goes on
  /// from, set by ``restore(from:)``.
  var resumePoint: ResumePoint? = nil

  /// Where a restored run goes on from: its position and the metrics of the
  /// epochs it finished.
  struct ResumePoint {
    var position: TrainingPosition
    var history: [EpochMetrics]
  }

  /// How the workers of a run were executed.
  public enum ExecutionMode: Sendable, Hashable, CustomStringConvertible {
    /// Nothing has run yet.
    case notStarted
    /// One worker, on the calling thread.
    case singleWorker
    /// W long-lived workers, all running at once, meeting at barriers.
    case persistentWorkers
    /// A Dispatch fork/join per phase of every step, for the given reason.
    case forkJoin(reason: String)

    public var description: String {
      switch self {
      case .notStarted: "not started"
      case .singleWorker: "one worker on the calling thread"
      case .persistentWorkers: "long-lived workers meeting at per-step barriers"
      case .forkJoin(let reason): "fork/join per phase (\(reason))"
      }
    }
  }

  let training: Dataset
  let topology: Topology
  /// The number of workers: `options.threads`, or fewer for a model whose
  /// steps are too small to share (see ``TrainingOptions/minimumWorkPerThread``).
  public let workerCount: Int
  /// Each worker's own state, created by the worker itself on first use,
  /// which is also when it first touches its rows of ``workspace`` and its
  /// slice of ``gradient`` (so they land on its core's NUMA node).
  let workers: UnsafeMutableBufferPointer<Worker?>
  /// The batch's activations and deltas: worker w writes only the rows of its
  /// shard, and reads the others' only after the step's first barrier.
  let workspace: Workspace<Float>
  /// The batch's mean gradient: worker s writes only slice s.
  let gradient: AlignedBuffer<Float>
  /// Per-step values of each worker, two cache lines each (see ``Slot``), in
  /// two banks like ``commands``.
  let slots: AlignedBuffer<Double>
  /// How the shards become the mean gradient.
  public let strategy: GradientStrategy
  /// Why: asked for, or how `auto` chose it.
  public let strategyReason: String
  /// The parameters each worker reduces and updates (``GradientStrategy/unitSlices``).
  public let slices: SlicePlan
  /// The runs of the flat vector each worker reduces and updates
  /// (``GradientStrategy/allReduce``).
  public let reduceSlices: ReduceScatterPlan
  /// The gradient buffer of each logical shard (``GradientStrategy/allReduce``:
  /// one per worker, or ``logicalShardCount`` with ``TrainingOptions/reproducible``),
  /// set by the worker that first runs the shard (for a given W, always the
  /// same one) and read by the others only after the step's first barrier.
  let shardGradients: UnsafeMutableBufferPointer<UnsafeMutablePointer<Float>?>
  /// The buffers behind ``shardGradients``, kept alive for the run.
  let shardBuffers: UnsafeMutableBufferPointer<AlignedBuffer<Float>?>
  /// With ``TrainingOptions/reproducible``: the number of logical shards
  /// every batch is cut into whatever W (``ShardPlan`` over the batch's
  /// rows), each run forward and backward on its own and its gradient kept
  /// in its own buffer, the buffers summed in shard order; else W.
  public let logicalShardCount: Int
  /// Logical shards per batch of `batch` samples under
  /// ``TrainingOptions/reproducible``: one per 32 rows, at most 4. It
  /// depends on the batch only, never on W. Each shard's gradient is a whole
  /// buffer written and read once per step, and its products are as tall as
  /// its rows: measured at 2 threads (2-core Zen 5 VM), 4 shards cost 11%
  /// (784-256-relu-128-relu-10, batch 128) and 8% (784-2048-relu-2048-relu-10,
  /// batch 512) against the faster strategy, 8 shards 21% and 22%. The
  /// forward and backward are shared by at most that many workers; the
  /// reduction and update by all.
  public static func reproducibleShards(batch: Int) -> Int { min(4, max(1, batch / 32)) }
  /// Each logical shard's loss, in two banks
  /// (``TrainingOptions/reproducible``), summed in shard order.
  let shardLosses: AlignedBuffer<Double>
  /// Per bank, the step's totals over all ranks (``RankTotal``), written by
  /// worker 0 after the ranks' sum; read only when ``processes`` is distributed.
  let rankTotals: AlignedBuffer<Double>
  /// Across ranks with ``TrainingOptions/reproducible``: the gradients of
  /// every logical shard of a batch, one after the other.
  let rankShards: AlignedBuffer<Float>?
  /// The run's stop request (``RunControl/stop``), read by worker 0 when
  /// the ranks agree on stopping.
  var localStop: StopRequest? = nil
  /// Across ranks: whether some rank was asked to stop, as all ranks learnt
  /// from the last step's sum. The run stops on this, never on a rank's own
  /// request, so that every rank stops after the same step.
  var stopAgreed = false
  /// Across ranks with batch statistics: the seconds worker 0 spent in this
  /// step's exchanges of them (see ``exchangeStatistics(after:bank:)``).
  var statisticsSeconds = 0.0
  /// The processes this trainer is one of: each computes its part of every
  /// batch, and the parts' gradients are summed across them every step.
  public let processes: ProcessGroup
  /// Each reduce chunk's sum of squares (``TrainingOptions/reproducible``
  /// with clipping), summed in chunk order so that the norm does not depend
  /// on W either.
  let chunkSquares: AlignedBuffer<Double>
  /// The CPU each worker ran on in each of the last ``cpuLogSteps`` steps.
  let cpuLog: AlignedBuffer<Int32>
  /// The published steps, in two banks: the leader writes the next step's
  /// bank while workers may still read the current one.
  let commands: UnsafeMutablePointer<StepCommand>

  /// The evaluation set the team is scoring, published with an
  /// ``StepCommand/Kind/evaluate`` command (see ``Trainer/scoreWithTeam(_:meet:barrier:)``).
  var evaluationJob: EvaluationJob? = nil

  /// How many recent steps ``recordedCPUs()`` keeps.
  public static let cpuLogSteps = 4096

  /// One worker's own state.
  final class Worker {
    /// A scratch binding for checking the thread's binding without allocating.
    let bindingScratch: Topology.Binding
    /// Where the worker scores its batches of the evaluation set, made on
    /// first use and kept for the run.
    var evaluationWorkspace: Workspace<Float>? = nil

    init(topology: Topology) {
      bindingScratch = topology.currentThreadBinding()
    }
  }

  /// What each worker's slot of ``slots`` holds (two cache lines of doubles):
  /// its shard's loss and correct count, its slice's sum of squares (for
  /// clipping), and the seconds of each part of its step.
  enum Slot: Int {
    case loss, correct, squares, gather, compute, phaseEnd, gradient, update, active, nonFiniteGradient, ranks
    static let width = 16
  }

  /// Prepares training of `model` on `training`, with workers placed by
  /// `pinning` on `units` (default: every allowed processing unit), timing
  /// the phases of every step when `profiling`.
  ///
  /// - Precondition: `training` has been checked with
  ///   ``Dataset/validate(input:outputs:loss:)``; `options.batchSize`
  ///   and `options.threads` are positive.
  public init(
    model: Model, training: Dataset, options: TrainingOptions, pinning: PinningPolicy = .compact,
    units: [Topology.ProcessingUnit]? = nil, profiling: Bool = false, processes: ProcessGroup = .single
  ) {
    precondition(options.batchSize > 0, "batch size must be positive, got \(options.batchSize)")
    precondition(options.threads > 0, "thread count must be positive, got \(options.threads)")
    precondition(training.count > 0, "no training samples")
    BLAS.useSingleThread()
    isProfiling = profiling
    self.processes = processes
    self.model = model
    network = model.network
    (inputWidth, outputWidth) = (model.spec.inputWidth, model.spec.outputWidth)
    self.options = options
    self.training = training
    topology = .shared
    let batch = min(options.batchSize, training.count)
    workerCount = Trainer.usefulWorkers(
      threads: options.threads, stepWork: Trainer.stepWork(model: model, batch: batch),
      minimumWorkPerThread: options.minimumWorkPerThread)
    plan = BindingPlan(workers: workerCount, policy: pinning, units: units ?? topology.allowedUnits)
    optimizer = Optimizer(
      settings: options.optimizer, parameterCount: model.parameters.count,
      frozen: model.network.layout.frozenRanges)
    bestParameters = options.earlyStoppingPatience.map { _ in AlignedBuffer(count: model.parameters.count) }
    workspace = Workspace(
      spec: model.spec, capacity: batch, targetWidth: training.targetWidth, zeroed: false, lanes: workerCount)
    // Across ranks the whole vector is summed: its padding must hold zeros.
    gradient = AlignedBuffer(count: model.parameters.count, zeroed: processes.isDistributed)
    if options.reproducible {
      (strategy, strategyReason) = (
        .allReduce,
        "--reproducible: \(Trainer.reproducibleShards(batch: batch)) logical shard(s) per batch, their gradients added in order"
      )
    } else {
      (strategy, strategyReason) =
        options.gradients.map { ($0, "asked for") }
        ?? GradientStrategy.automatic(spec: model.spec, batch: batch, workers: workerCount)
    }
    logicalShardCount = options.reproducible ? Trainer.reproducibleShards(batch: batch) : workerCount
    slices = SlicePlan(network: network, workers: workerCount)
    // Reproducible runs cut the runs on the reduce chunks, whose sums of
    // squares then do not depend on W.
    reduceSlices = ReduceScatterPlan(
      count: model.parameters.count, workers: workerCount,
      alignment: options.reproducible ? Trainer.reduceChunk : ParameterLayout.alignment)
    shardGradients = .allocate(capacity: logicalShardCount)
    shardGradients.initialize(repeating: nil)
    shardBuffers = .allocate(capacity: logicalShardCount)
    shardBuffers.initialize(repeating: nil)
    // Reproducible across ranks: every logical shard's gradient side by side,
    // so one sum over the ranks gives each rank all of them (see gatherShards).
    let stride = ParameterLayout.aligned(model.parameters.count)
    rankShards =
      processes.isDistributed && options.reproducible ? AlignedBuffer(count: logicalShardCount * stride) : nil
    if let rankShards {
      for g in 0..<logicalShardCount { shardGradients[g] = rankShards.base + g * stride }
    }
    shardLosses = AlignedBuffer(count: options.reproducible ? 2 * logicalShardCount : 0)
    rankTotals = AlignedBuffer(count: 2 * RankTotal.width)
    chunkSquares = AlignedBuffer(
      count: options.reproducible ? (model.parameters.count + Trainer.reduceChunk - 1) / Trainer.reduceChunk : 0)
    workers = .allocate(capacity: workerCount)
    workers.initialize(repeating: nil)
    slots = AlignedBuffer(count: 2 * workerCount * Slot.width)
    commands = .allocate(capacity: 2)
    commands.initialize(repeating: StepCommand(), count: 2)
    cpuLog = AlignedBuffer(count: Trainer.cpuLogSteps * workerCount)
    cpuLog.pointer.initialize(repeating: -1)
    spanRanksIfNeeded()
  }

  deinit {
    shardGradients.deallocate()
    shardBuffers.deinitialize()
    shardBuffers.deallocate()
    workers.deinitialize()
    workers.deallocate()
    commands.deinitialize(count: 2)
    commands.deallocate()
  }

  /// Worker `w`'s slot in `bank`.
  func slot(_ w: Int, bank: Int) -> UnsafeMutablePointer<Double> {
    slots.base + (bank * workerCount + w) * Slot.width
  }

  /// Why fewer workers run than `options.threads` asked for, or `nil`.
  public var fewerWorkersReason: String? {
    guard workerCount < options.threads else { return nil }
    let work = Trainer.stepWork(model: model, batch: workspace.capacity)
    return
      "\(workerCount) of the \(options.threads) threads asked for: a step is \(Int(work)) training FLOPs, "
      + "less than \(Int(options.minimumWorkPerThread)) per thread"
  }

  /// The training FLOPs of a full step of `batch` samples, from the
  /// layers' own counts (``ModelSpec/trainingFLOPsPerSample``): for a dense
  /// model 6·P·B, the field's convention, less the first layer's input
  /// gradient, which is never computed.
  public static func stepWork(model: Model, batch: Int) -> Double {
    Double(model.spec.trainingFLOPsPerSample) * Double(batch)
  }

  /// How many of `threads` workers a step of `stepWork` FLOPs keeps busy:
  /// each gets at least `minimumWorkPerThread` (all of them when that is 0).
  public static func usefulWorkers(threads: Int, stepWork: Double, minimumWorkPerThread: Double) -> Int {
    guard minimumWorkPerThread > 0 else { return threads }
    return max(1, min(threads, Int(stepWork / minimumWorkPerThread)))
  }

  /// The number of optimizer steps the whole run takes.
  public var totalSteps: Int { options.totalSteps(samples: training.count) }

  /// Whether the plan puts more workers than allowed processing units.
  public var isOversubscribed: Bool { plan.isOversubscribed }

  /// The CPU each worker ran its shard on, for each of the last steps (at most
  /// ``cpuLogSteps``), oldest first; `-1` where a worker had no shard.
  public func recordedCPUs() -> [[Int]] {
    let kept = min(stepsTaken, Trainer.cpuLogSteps)
    return ((stepsTaken - kept)..<stepsTaken).map { step in
      let row = (step % Trainer.cpuLogSteps) * workerCount
      return (0..<workerCount).map { Int(cpuLog.base[row + $0]) }
    }
  }
}

/// When a run hands its state to a checkpoint writer, and what stops it.
public struct RunControl {
  /// Also checkpoint every this many optimizer steps (always at the end of
  /// every epoch, and when stopped by ``stop``, if ``checkpoint`` is set).
  public var checkpointEverySteps: Int?
  /// Called between steps, with every worker waiting and the parameters and
  /// optimizer state those of the position: writes a checkpoint (see
  /// ``Checkpoint/write(trainer:position:history:data:metadata:to:)``).
  /// An error it throws stops the run with
  /// ``TrainingError/checkpointFailed(epoch:steps:reason:)``.
  public var checkpoint: ((TrainingPosition, [EpochMetrics]) throws -> Void)?
  /// Stops the run at the next step boundary once requested.
  public var stop: StopRequest?

  /// A control with the given parts (none by default).
  public init(
    checkpointEverySteps: Int? = nil, checkpoint: ((TrainingPosition, [EpochMetrics]) throws -> Void)? = nil,
    stop: StopRequest? = nil
  ) {
    precondition(checkpointEverySteps.map { $0 > 0 } ?? true, "checkpoint interval must be positive")
    self.checkpointEverySteps = checkpointEverySteps
    self.checkpoint = checkpoint
    self.stop = stop
  }
}

/// The step the workers run next.
struct StepCommand {
  /// What the workers are to do.
  enum Kind { case step, synchronize, evaluate, stop }
  /// A step; or only meet at the barrier (so the leader may read the
  /// parameters); or score ``Trainer/evaluationJob``'s batches; or stop.
  var kind = Kind.step
  /// The batch, as indices into the training set.
  var indices = UnsafeBufferPointer<Int>(start: nil, count: 0)
  /// This step's learning rate.
  var learningRate = 0.0
  /// The 0-based number of the step in the run.
  var step = 0
  /// The 0-based epoch (augmentation draws by it).
  var epoch = 0
  /// The rows of the whole batch across ranks (0: `indices.count`): the
  /// gradient is the sum over them divided by this.
  var batchRows = 0
  /// The index in the whole batch of this rank's first row (dropout draws by it).
  var firstRow = 0
  /// Across ranks with ``TrainingOptions/reproducible``: the batch's first
  /// logical shard this rank runs, and how many (0: the trainer's own count).
  var firstShard = 0, shardLimit = 0

  /// The divisor of the mean gradient.
  var meanRows: Int { batchRows > 0 ? batchRows : indices.count }
}
