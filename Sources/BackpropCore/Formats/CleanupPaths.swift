#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Paths to remove when the process ends abruptly: slot 0 holds the
/// temporary file of the write in progress, the others the lock files of
/// ``OutputFiles``. They live in fixed C buffers so that a signal handler can
/// read them without allocating or taking locks, and an `atexit` handler
/// removes the lock files when a command ends through `exit`.
enum CleanupPaths {
  static let slots = 9
  static let capacity = 4096
  nonisolated(unsafe) static let buffer: UnsafeMutablePointer<CChar> = {
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: slots * capacity)
    buffer.initialize(repeating: 0, count: slots * capacity)
    atexit { CleanupPaths.unlinkLockFiles() }
    return buffer
  }()

  /// Records `path` in `slot`; a path too long to record is not recorded.
  static func set(_ path: String, slot: Int) {
    let start = buffer + slot * capacity
    let bytes = Array(path.utf8CString)
    guard bytes.count <= capacity else { return clear(slot: slot) }
    start[0] = 0  // never a half-written name: the first byte goes last
    for i in 1..<bytes.count { start[i] = bytes[i] }
    start[0] = bytes[0]
  }

  static func clear(slot: Int) { buffer[slot * capacity] = 0 }

  /// Removes the file recorded in `slot`, if any.
  static func unlink(slot: Int) {
    let start = buffer + slot * capacity
    if start[0] != 0 { _ = Glibc.unlink(start) }
  }

  /// A free lock-file slot, or `nil` when all are taken.
  static func freeLockSlot() -> Int? {
    (1..<slots).first { buffer[$0 * capacity] == 0 }
  }

  static func unlinkLockFiles() {
    for slot in 1..<slots { unlink(slot: slot) }
  }
}
