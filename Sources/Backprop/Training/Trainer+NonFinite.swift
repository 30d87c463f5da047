/// A loss or gradient that is not finite, handled in the step where it
/// happens.
///
/// - A non-finite loss: every worker sees it in the shards' summed loss
///   before updating, so no slice changes.
/// - A non-finite gradient, with the norm computed first (clipping, or
///   ``NonFinitePolicy/skipBatch``): every worker sees it in the norm before
///   updating, so no slice changes.
/// - Otherwise each worker checks its own slice's gradient as it computes it
///   and leaves a non-finite block alone, marking its slot. With long-lived
///   workers the leader sees the others' marks only at the barrier that
///   starts the next command; every worker then abandons that step before
///   computing anything of it (``abandonsStep(bank:)``), and the run stops.
extension Trainer {
  /// Whether the whole gradient's norm is needed before any slice is
  /// updated: to clip it, or to skip a batch whose gradient is not finite
  /// without having updated part of the parameters. Costs one more barrier.
  var needsNormBeforeUpdate: Bool {
    options.clipGradientNorm != nil || options.onNonFinite == .skipBatch || processes.isDistributed
  }

  /// After a step: the loss and correct count from the slots, what was not
  /// finite (`"loss"`, `"gradient"` or `nil`), and the step counted if it was
  /// applied.
  ///
  /// - Parameter allUpdated: whether every worker has finished the step's
  ///   update. Long-lived workers may still be updating when the leader
  ///   finishes, so it reads only its own gradient check, and the others'
  ///   after the next barrier (``anyNonFiniteGradient(bank:)``). When the
  ///   norm comes first every worker reaches the same verdict, so its own
  ///   suffices.
  func finishStep(bank: Int, allUpdated: Bool = true) -> (loss: Double, correct: Int, nonFinite: String?) {
    let correct = batchCorrect(bank: bank)
    let loss = batchLoss(bank: bank)
    guard loss.isFinite else { return (loss, correct, "loss") }
    let checked = allUpdated ? workerCount : 1
    for w in 0..<checked where slot(w, bank: bank)[Slot.nonFiniteGradient.rawValue] != 0 {
      return (loss, correct, "gradient")
    }
    stepsTaken += 1
    return (loss, correct, nil)
  }

  /// Whether any worker found a non-finite gradient in the step of `bank`;
  /// read only once every worker has finished that step's update.
  func anyNonFiniteGradient(bank: Int) -> Bool {
    for w in 0..<workerCount where slot(w, bank: bank)[Slot.nonFiniteGradient.rawValue] != 0 { return true }
    return false
  }

  /// Whether the step published in `bank` is abandoned before any of it is
  /// computed: a worker found a non-finite gradient in the command before
  /// (whose workers have all finished, past the barrier that published this
  /// one). Every worker reads the same slots after the same barrier, so all
  /// agree. Stale slots of an older step cannot misfire: any mark stops the run.
  func abandonsStep(bank: Int) -> Bool {
    !needsNormBeforeUpdate && anyNonFiniteGradient(bank: bank ^ 1)
  }

  /// The 1-based number of the step published in `bank` if a worker found a
  /// non-finite gradient in it, else `nil`; read once every worker has
  /// finished that step.
  func divergedStep(bank: Int) -> Int? {
    guard options.onNonFinite == .stop, anyNonFiniteGradient(bank: bank) else { return nil }
    return commands[bank].step + 1
  }
}
