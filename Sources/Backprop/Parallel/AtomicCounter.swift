import Synchronization

/// A shared integer with sequentially consistent operations, for the rare
/// coordination outside the hot path (team start-up).
final class AtomicCounter: Sendable {
  private let value: Atomic<Int>

  init(_ initial: Int) { value = Atomic(initial) }

  func load() -> Int { value.load(ordering: .sequentiallyConsistent) }

  /// Adds `delta` and returns the new value.
  func add(_ delta: Int) -> Int { value.add(delta, ordering: .sequentiallyConsistent).newValue }

  /// Stores `desired` and returns the old value.
  func exchange(_ desired: Int) -> Int { value.exchange(desired, ordering: .sequentiallyConsistent) }

  /// Stores `desired` if the value is `expected`; returns whether it did.
  func compareExchange(expected: Int, desired: Int) -> Bool {
    value.compareExchange(expected: expected, desired: desired, ordering: .sequentiallyConsistent).exchanged
  }
}
