#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A fixed-size, zero-initialised buffer of scalars that starts on a 64-byte
/// cache line and is freed with its owner.
///
/// Parameters, gradients, optimizer state and worker activations all live in
/// these: allocated once before training, never resized, so a training step
/// allocates nothing.
public final class AlignedBuffer<Element: BitwiseCopyable>: @unchecked Sendable {
  // @unchecked Sendable: the class only hands out its pointer; who writes
  // which part of it is the caller's contract (workers write disjoint slabs).

  /// The storage, `count` elements long.
  public let pointer: UnsafeMutableBufferPointer<Element>

  /// Allocates `count` elements aligned to 64 bytes, zeroed unless asked not
  /// to be (a caller that first touches each part on the thread that will use
  /// it, so the pages land on that thread's NUMA node).
  ///
  /// - Complexity: O(`count`) when zeroed, else O(1).
  public init(count: Int, zeroed: Bool = true) {
    precondition(count >= 0, "buffer size must not be negative, got \(count)")
    let (bytes, overflow) = max(count, 1).multipliedReportingOverflow(by: MemoryLayout<Element>.stride)
    var memory: UnsafeMutableRawPointer? = nil
    if overflow || posix_memalign(&memory, 64, bytes) != 0 || memory == nil {
      AllocationFailure.report(bytes: overflow ? nil : bytes)
    }
    let raw = memory!
    if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    pointer = UnsafeMutableBufferPointer(
      start: raw.bindMemory(to: Element.self, capacity: max(count, 1)), count: count)
  }

  /// Allocates a copy of `values`.
  public convenience init(copying values: some Collection<Element>) {
    self.init(count: values.count)
    _ = pointer.initialize(from: values)
  }

  deinit { free(UnsafeMutableRawPointer(pointer.baseAddress!)) }

  /// The number of elements.
  public var count: Int { pointer.count }

  /// The first element's address.
  public var base: UnsafeMutablePointer<Element> { pointer.baseAddress! }

  /// The elements as an array (a copy).
  public var array: [Element] { Array(pointer) }

  /// Sets every element to zero bits.
  public func zero() {
    UnsafeMutableRawPointer(base).initializeMemory(
      as: UInt8.self, repeating: 0, count: count * MemoryLayout<Element>.stride)
  }
}

/// What happens when a buffer cannot be allocated, though the run's memory
/// was estimated first (``MemoryBudget``): another process took the memory
/// meanwhile, or the estimate missed. A library user may install a handler
/// that ends the process its own way; without one, it is a fatal error.
public enum AllocationFailure {
  nonisolated(unsafe) private static var handler: (@Sendable (Int?) -> Never)? = nil

  /// Installs `handler`, called with the bytes asked for (`nil`: too many to
  /// count); set it once, before any training starts.
  public static func install(_ handler: @escaping @Sendable (Int?) -> Never) { self.handler = handler }

  static func report(bytes: Int?) -> Never {
    if let handler { handler(bytes) }
    fatalError("out of memory: failed to allocate \(bytes.map(String.init) ?? "too many") bytes")
  }
}
