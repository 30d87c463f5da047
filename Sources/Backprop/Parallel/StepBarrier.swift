import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A reusable barrier for a fixed team of threads: each `wait()` returns once
/// all `count` threads have called it. Waiters spin briefly (a step's phases
/// are short, and waking a sleeping thread costs tens of microseconds), then
/// block on a condition variable so idle workers do not burn cores.
///
/// Everything a thread wrote before `wait()` is visible to every thread after
/// it (the arrival counter is acquire-release; the generation is released by
/// the last arriver and acquired by the others).
public final class StepBarrier: @unchecked Sendable {
  // @unchecked Sendable: the mutable state is atomics, and a pthread mutex and
  // condition that live at fixed addresses for the barrier's lifetime.

  /// The number of threads that meet at the barrier.
  public let count: Int
  private let arrived = Atomic<Int>(0)
  private let generation = Atomic<Int>(0)
  private let spinLimit: Int
  private let mutex: UnsafeMutablePointer<pthread_mutex_t>
  private let condition: UnsafeMutablePointer<pthread_cond_t>

  /// A barrier for `count` threads.
  ///
  /// - Parameter spin: how many times a waiter polls before it blocks (the
  ///   default, about a millisecond, covers a step's phase imbalance and its
  ///   serial bookkeeping); use 0 when threads outnumber cores, where
  ///   spinning only steals time.
  public init(count: Int, spin: Int = 1_000_000) {
    precondition(count > 0, "a barrier needs at least one thread, got \(count)")
    self.count = count
    spinLimit = spin
    mutex = .allocate(capacity: 1)
    condition = .allocate(capacity: 1)
    pthread_mutex_init(mutex, nil)
    pthread_cond_init(condition, nil)
  }

  deinit {
    pthread_cond_destroy(condition)
    pthread_mutex_destroy(mutex)
    mutex.deallocate()
    condition.deallocate()
  }

  /// Waits until all `count` threads have arrived.
  public func wait() {
    let current = generation.load(ordering: .acquiring)
    if arrived.add(1, ordering: .acquiringAndReleasing).newValue == count {
      arrived.store(0, ordering: .relaxed)
      pthread_mutex_lock(mutex)
      generation.store(current &+ 1, ordering: .releasing)
      pthread_cond_broadcast(condition)
      pthread_mutex_unlock(mutex)
      return
    }
    var spins = 0
    while spins < spinLimit {
      if generation.load(ordering: .acquiring) != current { return }
      spins += 1
    }
    pthread_mutex_lock(mutex)
    while generation.load(ordering: .acquiring) == current {
      pthread_cond_wait(condition, mutex)
    }
    pthread_mutex_unlock(mutex)
  }
}
