/// Profiling: each worker times the parts of its step into its slot (only
/// when ``Trainer/isProfiling``), and the step's timings are summed into
/// ``Trainer/profile`` once no worker writes that slot any more.
extension Trainer {
  /// The monotonic clock when profiling, else 0 (no clock read).
  @inline(__always)
  func clockIfProfiling() -> Double { isProfiling ? monotonicSeconds() : 0 }

  /// Adds the timings of the step published in `bank`, which took `wall`
  /// seconds, to ``profile``. Called once no worker writes that bank's
  /// slots any more.
  func recordProfile(bank: Int, wall: Double) {
    var shards = 0
    var gather = 0.0
    var slowest = 0.0
    var computeSum = 0.0
    var lastEnd = 0.0
    var slowestGradient = 0.0
    var update = 0.0
    for w in 0..<workerCount {
      let slot = self.slot(w, bank: bank)
      slowestGradient = max(slowestGradient, slot[Slot.gradient.rawValue])
      update = max(update, slot[Slot.update.rawValue])
      guard slot[Slot.active.rawValue] == 1 else { continue }
      shards += 1
      gather += slot[Slot.gather.rawValue]
      computeSum += slot[Slot.compute.rawValue]
      slowest = max(slowest, slot[Slot.compute.rawValue] + slot[Slot.gather.rawValue])
      lastEnd = max(lastEnd, slot[Slot.phaseEnd.rawValue])
    }
    var wait = 0.0
    for w in 0..<workerCount {
      let slot = self.slot(w, bank: bank)
      if slot[Slot.active.rawValue] == 1 { wait += lastEnd - slot[Slot.phaseEnd.rawValue] }
    }
    let count = Double(max(shards, 1))
    // One write of the trainer's property, not seven (each is an access check).
    var profile = self.profile
    profile.steps += 1
    profile.wallSeconds += wall
    profile.dataSeconds += gather / count
    profile.computeSlowestSeconds += slowest - gather / count
    profile.reduceSeconds += slowestGradient
    profile.computeMeanSeconds += computeSum / count
    profile.waitMeanSeconds += wait / count
    profile.updateSeconds += update
    profile.ranksSeconds += processes.isDistributed ? self.slot(0, bank: bank)[Slot.ranks.rawValue] : 0
    self.profile = profile
  }
}
