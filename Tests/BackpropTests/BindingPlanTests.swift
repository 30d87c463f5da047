import Backprop
import Testing

/// Binding plans on made-up machines: two packages (one NUMA node each) of
/// two cores with two hardware threads each, OS numbering as Linux does it
/// (siblings of core c are c and c + 4).
@Suite struct BindingPlanTests {
  static let machine: [Topology.ProcessingUnit] = (0..<8).map { os in
    let core = os % 4
    return Topology.ProcessingUnit(osIndex: os, core: core, package: core / 2, numaNode: core / 2)
  }.sorted { ($0.core, $0.osIndex) < ($1.core, $1.osIndex) }

  @Test func compactFillsCoresBeforeSecondHardwareThreads() {
    let plan = BindingPlan(workers: 8, policy: .compact, units: Self.machine)
    #expect(plan.units == [0, 1, 2, 3, 4, 5, 6, 7])
    #expect(!plan.isOversubscribed)
    #expect(BindingPlan(workers: 2, policy: .compact, units: Self.machine).units == [0, 1])
  }

  @Test func spreadAlternatesNUMANodes() {
    let plan = BindingPlan(workers: 4, policy: .spread, units: Self.machine)
    // Cores 0, 1 on node 0 and 2, 3 on node 1: node 0, node 1, node 0, node 1.
    #expect(plan.units == [0, 2, 1, 3])
    #expect(BindingPlan(workers: 8, policy: .spread, units: Self.machine).units == [0, 2, 1, 3, 4, 6, 5, 7])
  }

  @Test func noneBindsNothingAndOversubscriptionWraps() {
    #expect(BindingPlan(workers: 3, policy: .none, units: Self.machine).units == [nil, nil, nil])
    let plan = BindingPlan(workers: 10, policy: .compact, units: Self.machine)
    #expect(plan.isOversubscribed)
    #expect(plan.units == [0, 1, 2, 3, 4, 5, 6, 7, 0, 1])
  }

  @Test func onlyAllowedUnitsAreUsed() {
    // A cpuset that allows CPUs 1, 2 and 6 only.
    let allowed = Self.machine.filter { [1, 2, 6].contains($0.osIndex) }
    let plan = BindingPlan(workers: 3, policy: .compact, units: allowed)
    #expect(plan.units == [1, 2, 6])
    #expect(Set(plan.units.compactMap { $0 }).isSubset(of: [1, 2, 6]))
  }

  @Test func theRealMachineHasAllowedUnits() {
    let topology = Topology.shared
    #expect(!topology.allowedUnits.isEmpty)
    #expect(topology.allowedCores >= 1 && topology.allowedCores <= topology.cores)
    let plan = BindingPlan(workers: topology.allowedCores, policy: .compact)
    let allowed = Set(topology.allowedUnits.map(\.osIndex))
    #expect(plan.units.allSatisfy { $0.map(allowed.contains) == true })
    #expect(Set(plan.units.compactMap { $0 }).count == topology.allowedCores)
  }
}
