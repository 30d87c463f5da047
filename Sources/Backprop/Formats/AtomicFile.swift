#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that a crash at any instant leaves either the old file or
/// the new one, never a torn one: the bytes go to a temporary file in the same
/// folder, which is flushed to disk, renamed over the target, and the folder
/// is flushed too.
public enum AtomicFile {
  /// Why a file could not be written.
  public struct WriteError: Error, Sendable, CustomStringConvertible {
    /// The file that was to be written.
    public let path: String
    /// What went wrong.
    public let reason: String
    public var description: String { "\(path): cannot write: \(reason)" }
  }

  /// Replaces the file at `path` with `bytes`, atomically.
  ///
  /// - Throws: ``WriteError``; the old file, if any, is then untouched and no
  ///   temporary file is left behind.
  public static func write(_ bytes: [UInt8], to path: String) throws(WriteError) {
    // withUnsafeBytes rethrows untyped errors; carry the typed one out.
    let result = bytes.withUnsafeBytes { buffer in
      Result { () throws(WriteError) in try write(parts: [buffer], to: path) }
    }
    try result.get()
  }

  /// Replaces the file at `path` with the UTF-8 bytes of `text`, atomically.
  public static func write(_ text: String, to path: String) throws(WriteError) {
    try write(Array(text.utf8), to: path)
  }

  /// Replaces the file at `path` with the concatenation of `parts`,
  /// atomically, written straight from the callers' memory (a checkpoint's
  /// tensors are not copied into one array first).
  ///
  /// - Throws: ``WriteError``; the old file, if any, is then untouched and no
  ///   temporary file is left behind.
  public static func write(parts: [UnsafeRawBufferPointer], to path: String) throws(WriteError) {
    let folder = FilePath.folder(of: path)
    let temporary = "\(folder)/.\(FilePath.name(of: path)).tmp-\(getpid())"
    PendingTemporary.set(temporary)
    defer { PendingTemporary.clear() }
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw WriteError(path: path, reason: systemError()) }
    var failure: String? = nil
    for part in parts where failure == nil && part.count > 0 {
      var written = 0
      while written < part.count {
        let result = Glibc.write(descriptor, part.baseAddress! + written, part.count - written)
        if result < 0 {
          if errno == EINTR { continue }
          failure = systemError()
          break
        }
        written += result
      }
    }
    if failure == nil, fsync(descriptor) != 0 { failure = systemError() }
    if close(descriptor) != 0, failure == nil { failure = systemError() }
    if failure == nil, rename(temporary, path) != 0 { failure = systemError() }
    if let failure {
      unlink(temporary)
      throw WriteError(path: path, reason: failure)
    }
    syncFolder(folder)
  }

  /// Makes `link` name the same file as `target` (a hard link), replacing
  /// whatever `link` named before atomically: readers see the old file or
  /// the new one. Used to keep numbered checkpoints without writing twice.
  public static func replaceWithLink(_ link: String, to target: String) throws(WriteError) {
    let temporary = "\(FilePath.folder(of: link))/.\(FilePath.name(of: link)).link-\(getpid())"
    unlink(temporary)
    guard Glibc.link(target, temporary) == 0 else { throw WriteError(path: link, reason: systemError()) }
    guard rename(temporary, link) == 0 else {
      let reason = systemError()
      unlink(temporary)
      throw WriteError(path: link, reason: reason)
    }
    syncFolder(FilePath.folder(of: link))
  }

  /// Removes the temporary file of a write in progress, if any. Safe to call
  /// from a signal handler (it only calls `unlink`): a process that is told
  /// to exit at once leaves no temporary file behind, and the old file is
  /// untouched since the rename has not happened (or has, and then the
  /// temporary name no longer exists).
  public static func abandonWriteInProgress() {
    PendingTemporary.unlinkIfSet()
  }

  /// Sets up what ``abandonWriteInProgress()`` reads; call before installing
  /// a signal handler that calls it (a handler must not run initialisers).
  public static func prepareForSignalHandlers() {
    PendingTemporary.clear()
  }

  /// Removes the temporary files that writes of `path` (or of files in its
  /// folder whose names begin like `path`'s, such as numbered checkpoints)
  /// left behind in processes that no longer exist, killed mid-write.
  public static func removeStaleTemporaries(of path: String) {
    let folder = FilePath.folder(of: path)
    let prefix = "." + FilePath.name(of: path).split(separator: ".", omittingEmptySubsequences: false)[0]
    for name in FilePath.names(inFolder: folder) {
      guard name.hasPrefix(prefix), let dash = name.lastIndex(of: "-"),
        name[..<dash].hasSuffix(".tmp") || name[..<dash].hasSuffix(".link"),
        let pid = Int32(name[name.index(after: dash)...]), pid != getpid(),
        kill(pid, 0) != 0 && errno == ESRCH
      else { continue }
      unlink(folder + "/" + name)
    }
  }

  /// Flushes the folder so that a rename in it survives a power cut.
  static func syncFolder(_ folder: String) {
    let folderDescriptor = open(folder, O_RDONLY | O_CLOEXEC)
    if folderDescriptor >= 0 {
      fsync(folderDescriptor)
      close(folderDescriptor)
    }
  }

}

/// The path of the temporary file being written, in a fixed C buffer so that
/// a signal handler can read it without allocating or taking locks.
private enum PendingTemporary {
  static let capacity = 4096
  nonisolated(unsafe) static let buffer: UnsafeMutablePointer<CChar> = {
    let buffer = UnsafeMutablePointer<CChar>.allocate(capacity: capacity)
    buffer.initialize(repeating: 0, count: capacity)
    return buffer
  }()

  static func set(_ path: String) {
    let bytes = Array(path.utf8CString)
    guard bytes.count <= capacity else { return clear() }
    buffer[0] = 0  // never a half-written name: the first byte goes last
    for i in 1..<bytes.count { buffer[i] = bytes[i] }
    buffer[0] = bytes[0]
  }

  static func clear() { buffer[0] = 0 }

  static func unlinkIfSet() {
    if buffer[0] != 0 { unlink(buffer) }
  }
}
