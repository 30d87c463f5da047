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
    let bytes = max(count, 1) * MemoryLayout<Element>.stride
    let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
    if zeroed { raw.initializeMemory(as: UInt8.self, repeating: 0, count: bytes) }
    pointer = UnsafeMutableBufferPointer(
      start: raw.bindMemory(to: Element.self, capacity: max(count, 1)), count: count)
  }

  /// Allocates a copy of `values`.
  public convenience init(copying values: some Collection<Element>) {
    self.init(count: values.count)
    _ = pointer.initialize(from: values)
  }

  deinit { UnsafeMutableRawPointer(pointer.baseAddress!).deallocate() }

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
