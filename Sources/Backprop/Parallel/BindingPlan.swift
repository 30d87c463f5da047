/// How workers are placed on processing units.
public enum PinningPolicy: String, Sendable, Hashable, CaseIterable {
  /// Fill cores in order, one worker per physical core before any core's
  /// second hardware thread.
  case compact
  /// Round-robin across NUMA nodes (or packages), one worker per core before
  /// second hardware threads.
  case spread
  /// No binding: the operating system places the threads.
  case none
}

/// Which processing unit each of W workers is bound to.
public struct BindingPlan: Sendable, Hashable {
  /// The policy the plan follows.
  public let policy: PinningPolicy
  /// For each worker, the OS index of its processing unit, or `nil` (no binding).
  public let units: [Int?]
  /// Whether there are more workers than allowed processing units.
  public let isOversubscribed: Bool

  /// Plans `workers` workers on `topology`'s allowed units. With more workers
  /// than units, the order wraps around (and ``isOversubscribed`` is set).
  public init(workers: Int, policy: PinningPolicy, topology: Topology = .shared) {
    self.init(workers: workers, policy: policy, units: topology.allowedUnits)
  }

  /// Plans on an explicit list of units (for tests and for subsets of a machine).
  public init(workers: Int, policy: PinningPolicy, units available: [Topology.ProcessingUnit]) {
    precondition(workers > 0, "need at least one worker, got \(workers)")
    self.policy = policy
    isOversubscribed = workers > max(available.count, 1)
    let order = BindingPlan.order(available, policy: policy)
    units = (0..<workers).map { worker in
      policy == .none || order.isEmpty ? nil : order[worker % order.count].osIndex
    }
  }

  /// The units in the order workers take them: each core's first unit (cores
  /// interleaved across NUMA nodes for `spread`), then each core's second unit…
  static func order(_ available: [Topology.ProcessingUnit], policy: PinningPolicy) -> [Topology.ProcessingUnit] {
    var byCore: [Int: [Topology.ProcessingUnit]] = [:]
    var coreOrder: [Int] = []
    for unit in available {
      if byCore[unit.core] == nil { coreOrder.append(unit.core) }
      byCore[unit.core, default: []].append(unit)
    }
    if policy == .spread {
      // Interleave cores across NUMA nodes (or packages when there is one node).
      let domains =
        Set(available.map(\.numaNode)).count > 1
        ? { (unit: Topology.ProcessingUnit) in unit.numaNode } : { (unit: Topology.ProcessingUnit) in unit.package }
      var queues: [Int: [Int]] = [:]
      var domainOrder: [Int] = []
      for core in coreOrder {
        let domain = domains(byCore[core]![0])
        if queues[domain] == nil { domainOrder.append(domain) }
        queues[domain, default: []].append(core)
      }
      coreOrder = []
      var round = 0
      while coreOrder.count < byCore.count {
        for domain in domainOrder where round < queues[domain]!.count { coreOrder.append(queues[domain]![round]) }
        round += 1
      }
    }
    let depth = byCore.values.map(\.count).max() ?? 0
    return (0..<depth).flatMap { level in
      coreOrder.compactMap { core in level < byCore[core]!.count ? byCore[core]![level] : nil }
    }
  }
}
