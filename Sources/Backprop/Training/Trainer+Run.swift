import Dispatch

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Trainer {
  /// Runs the training, from the start or from where ``restore(from:)``
  /// left it.
  ///
  /// Callbacks run on the calling thread (which is also worker 0).
  ///
  /// - Parameters:
  ///   - evaluation: data scored after every epoch (a test or validation split).
  ///   - control: when to hand the run's state to a checkpoint writer, and
  ///     a request that stops the run between steps.
  ///   - progress: called after every step.
  ///   - epochEnd: called after every epoch with its metrics.
  /// - Returns: the metrics of every epoch (those of a restored run included).
  /// - Throws: ``TrainingError/diverged(epoch:step:what:)`` when a batch's
  ///   loss or gradient is not finite and ``TrainingOptions/onNonFinite`` is
  ///   `.stop` (that batch's update is not applied);
  ///   ``TrainingError/interrupted(epoch:steps:)`` when `control.stop` was
  ///   requested (after the checkpoint writer was called).
  @discardableResult
  public func train(
    evaluation: Dataset? = nil,
    control: RunControl = RunControl(),
    progress: ((TrainingProgress) -> Void)? = nil,
    epochEnd: ((EpochMetrics) -> Void)? = nil
  ) throws(TrainingError) -> [EpochMetrics] {
    let driver = EpochDriver(
      trainer: self, evaluation: evaluation, progress: progress, epochEnd: epochEnd, control: control,
      resume: resumePoint)
    resumePoint = nil
    (localStop, stopAgreed) = (control.stop, false)
    if workerCount == 1 {
      executionMode = .singleWorker
      withBinding(0) {
        runOnCaller(driver) { singleWorkerStep() }
      }
    } else if plan.isOversubscribed {
      // Dispatch sizes its pool to the allowed CPUs: more workers than that
      // cannot all run at once, so barriers inside one fork would never open.
      executionMode = .forkJoin(reason: "\(workerCount) workers on \(topology.allowedUnits.count) allowed CPUs")
      runOnCaller(driver) { forkJoinStep(bank: 0) }
    } else if !runPersistentWorkers(driver) {
      runOnCaller(driver) { forkJoinStep(bank: 0) }
    }
    if let error = driver.error { throw error }
    if let best = bestParameters, let epoch = driver.bestEpoch {
      // Early stopping ends with the best epoch's weights.
      model.parameters.base.update(from: best.base, count: best.count)
      bestEpoch = epoch
    }
    return driver.history
  }

  /// Runs the whole training inside one `concurrentPerform` of W long-lived
  /// workers. The calling thread is worker 0 and drives the epochs; the
  /// others follow its commands between barriers.
  ///
  /// - Returns: `false` (having run no step) when the W workers did not all
  ///   start within the rendezvous time-out; ``executionMode`` says so.
  func runPersistentWorkers(_ driver: EpochDriver) -> Bool {
    let team = TeamStart(workers: workerCount)
    let barrier = StepBarrier(count: workerCount)
    let caller = pthread_self()
    DispatchQueue.concurrentPerform(iterations: workerCount) { [unchecked = UncheckedTrainer(self)] _ in
      let trainer = unchecked.trainer
      // The calling thread is worker 0; the others take 1, 2, … as they arrive.
      guard let w = team.claimRole(isCaller: pthread_equal(pthread_self(), caller) != 0) else { return }
      guard team.rendezvous() else { return }
      trainer.withBinding(w) {
        _ = trainer.worker(w)  // first touched here, on the worker's core
        if w == 0 {
          trainer.executionMode = .persistentWorkers  // worker 0 is the calling thread
          trainer.lead(driver, barrier: barrier)
        } else {
          trainer.follow(w, barrier: barrier)
        }
      }
    }
    if team.started { return true }
    executionMode = .forkJoin(
      reason: "Dispatch did not start \(workerCount) workers at once within \(TeamStart.timeout) s")
    return false
  }

  /// Runs every step on the calling thread's schedule: `body` runs one step
  /// published in bank 0, to completion.
  private func runOnCaller(_ driver: EpochDriver, _ body: () -> Void) {
    while let command = driver.next() {
      commands[0] = localized(command)
      let started = clockIfProfiling()
      body()
      driver.finish(bank: 0)
      if isProfiling { recordProfile(bank: 0, wall: monotonicSeconds() - started) }
    }
  }

  /// Worker 0: publishes each step, takes part in it, and does the serial
  /// work between steps (bookkeeping, progress); at epoch ends it scores
  /// the evaluation set together with the others (``scoreWithTeam(_:meet:barrier:)``).
  /// Steps alternate between two banks of commands and slots, so publishing
  /// step k+1 never touches what a worker still finishing step k reads.
  private func lead(_ driver: EpochDriver, barrier: StepBarrier) {
    let normFirst = needsNormBeforeUpdate
    var bank = 0
    var pending: (bank: Int, started: Double)? = nil
    func meet() {
      barrier.wait()  // the published command is visible; the previous step is complete
      if let step = pending {
        if let diverged = divergedStep(bank: step.bank) { driver.stopDiverged(step: diverged) }
        if isProfiling { recordProfile(bank: step.bank, wall: monotonicSeconds() - step.started) }
      }
      pending = nil
    }
    let synchronize = {
      self.commands[bank] = StepCommand(kind: .synchronize)
      meet()
      bank ^= 1
    }
    let evaluate = { (data: Dataset) -> Evaluation in
      self.commands[bank] = StepCommand(kind: .evaluate)
      defer { bank ^= 1 }
      return self.scoreWithTeam(data, meet: meet, barrier: barrier)
    }
    let (distributed, gathers, exchanges) = (processes.isDistributed, gathersShards, exchangesStatistics)
    while let command = driver.next(synchronize: synchronize, evaluate: evaluate) {
      commands[bank] = localized(command)
      let started = clockIfProfiling()
      meet()
      if abandonsStep(bank: bank) {
        bank ^= 1  // the previous step diverged: the run stops, nothing of this one is computed
        continue
      }
      // A rank with no rows of this batch only takes part in the sum and the update.
      let hasRows = !commands[bank].indices.isEmpty
      if hasRows {
        runShard(0, bank: bank) { segment in
          barrier.wait()  // this segment's statistics are in
          guard exchanges else { return }
          exchangeStatistics(after: segment, bank: bank)
          barrier.wait()  // and the other ranks'
        }
      } else {
        exchangeStatisticsWithoutRows(bank: bank)
      }
      barrier.wait()  // all gradients are ready
      if gathers {
        gatherShards(bank: bank)
        barrier.wait()  // every rank's logical shards are here
      }
      if normFirst {
        if hasRows || gathers { reduceSlice(0, bank: bank) }
        barrier.wait()  // the parts of the global norm are ready
      }
      if distributed && !gathers {
        reduceAcrossRanks(bank: bank)
        barrier.wait()  // the sum over the ranks is in the gradient
      }
      updateSlice(0, bank: bank)
      driver.finish(bank: bank, allUpdated: false)
      pending = (bank, started)
      bank ^= 1
    }
    commands[bank] = StepCommand(kind: .stop)
    meet()
  }

  /// Workers 1…W-1: run the published steps until told to stop.
  private func follow(_ w: Int, barrier: StepBarrier) {
    let normFirst = needsNormBeforeUpdate
    let (distributed, gathers, exchanges) = (processes.isDistributed, gathersShards, exchangesStatistics)
    var bank = 0
    while true {
      barrier.wait()
      let kind = commands[bank].kind
      if kind == .stop { return }
      if kind == .evaluate {
        scoreEvaluationBatches(w)
        barrier.wait()  // every batch is scored
      }
      if kind == .step && !abandonsStep(bank: bank) {
        let hasRows = !commands[bank].indices.isEmpty
        if hasRows {
          runShard(w, bank: bank) { _ in
            barrier.wait()
            if exchanges { barrier.wait() }
          }
        }
        barrier.wait()
        if gathers { barrier.wait() }
        if normFirst {
          if hasRows || gathers { reduceSlice(w, bank: bank) }
          barrier.wait()
        }
        if distributed && !gathers { barrier.wait() }
        updateSlice(w, bank: bank)
      }
      bank ^= 1
    }
  }
}

/// The start of a team of workers: roles handed out once, and a rendezvous
/// that proves all W run at the same time (or gives up after ``timeout``).
final class TeamStart: @unchecked Sendable {
  // @unchecked Sendable: all state is atomic.
  static let timeout = 0.5

  let workers: Int
  private let nextRole = AtomicCounter(1)
  private let callerClaimed = AtomicCounter(0)
  private let arrived = AtomicCounter(0)
  /// 0 while waiting, 1 once all arrived, 2 once abandoned.
  private let state = AtomicCounter(0)

  init(workers: Int) { self.workers = workers }

  /// Whether all workers met (the team ran).
  var started: Bool { state.load() == 1 }

  /// The role of the iteration now starting, or `nil` if there is none left.
  func claimRole(isCaller: Bool) -> Int? {
    if isCaller && callerClaimed.exchange(1) == 0 { return 0 }
    let role = nextRole.add(1) - 1
    return role < workers ? role : nil
  }

  /// Waits until all workers have arrived; `false` if the team was abandoned.
  func rendezvous() -> Bool {
    if arrived.add(1) == workers { _ = state.compareExchange(expected: 0, desired: 1) }
    let deadline = monotonicSeconds() + TeamStart.timeout
    while state.load() == 0 {
      if monotonicSeconds() > deadline { _ = state.compareExchange(expected: 0, desired: 2) }
      sched_yield()
    }
    return state.load() == 1
  }
}
