#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

extension Topology {
  /// `count` disjoint groups of `coresEach` whole cores (with all their
  /// allowed processing units), taken in compact order, so runs placed on
  /// different groups never share a core; `nil` when there are not enough
  /// allowed cores.
  public func coreGroups(count: Int, coresEach: Int) -> [[ProcessingUnit]]? {
    precondition(count > 0 && coresEach > 0, "need positive group counts")
    var cores: [Int] = []
    for unit in BindingPlan.order(allowedUnits, policy: .compact) where !cores.contains(unit.core) {
      cores.append(unit.core)
    }
    guard count * coresEach <= cores.count else { return nil }
    return (0..<count).map { group in
      let mine = Set(cores[(group * coresEach)..<((group + 1) * coresEach)])
      return allowedUnits.filter { mine.contains($0.core) }
    }
  }
}

/// Runs jobs on a fixed number of threads of its own, each taking the next
/// job as it finishes one (the threads are plain POSIX threads, not
/// Dispatch's: each job may start its own Dispatch workers, and they must
/// not share a pool that nested calls divide).
public enum JobRunner {
  /// Runs `body(job, lane)` for every job in `0..<jobs` on `lanes` threads
  /// (`lane` says which thread, for placement); returns when all are done.
  /// One lane runs on the calling thread.
  public static func run(jobs: Int, lanes: Int, _ body: @escaping @Sendable (_ job: Int, _ lane: Int) -> Void) {
    precondition(lanes > 0, "need at least one lane")
    let next = AtomicCounter(0)
    let work: @Sendable (Int) -> Void = { lane in
      while true {
        let job = next.add(1) - 1
        guard job < jobs else { return }
        body(job, lane)
      }
    }
    guard lanes > 1 else { return work(0) }
    var threads: [pthread_t] = []
    for lane in 1..<lanes {
      let box = Unmanaged.passRetained(LaneBox { work(lane) }).toOpaque()
      var thread = pthread_t()
      let status = pthread_create(
        &thread, nil,
        { raw in
          let box = Unmanaged<LaneBox>.fromOpaque(raw!).takeRetainedValue()
          box.body()
          return nil
        }, box)
      precondition(status == 0, "pthread_create failed: \(status)")
      threads.append(thread)
    }
    work(0)
    for thread in threads { pthread_join(thread, nil) }
  }
}

private final class LaneBox: @unchecked Sendable {
  let body: @Sendable () -> Void
  init(_ body: @escaping @Sendable () -> Void) { self.body = body }
}
