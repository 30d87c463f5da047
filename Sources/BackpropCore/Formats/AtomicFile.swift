#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes files so that a crash at any instant leaves either the old file or
/// the new one, never a torn one: the bytes go to a temporary file in the same
/// folder, which is flushed to disk, renamed over the target, and the folder
/// is flushed too.
///
/// The temporary file has an unpredictable name and is created with
/// `O_CREAT | O_EXCL | O_NOFOLLOW`, so a file or symbolic link planted under
/// that name is never written through. A target that exists must be a regular
/// file (or a symbolic link to one, which the rename replaces, leaving the
/// file it pointed to untouched): devices, FIFOs and folders are refused.
public enum AtomicFile {
  /// Why a file could not be written.
  public struct WriteError: Error, Sendable, CustomStringConvertible {
    /// The file that was to be written.
    public let path: String
    /// What went wrong.
    public let reason: String
    public var description: String {
      "\(FilePath.printable(path)): cannot write: \(reason)"
    }
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
    try checkTarget(path)
    let (temporary, descriptor) = try createTemporary(for: path, kind: "tmp")
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
      PendingTemporary.clear()
      throw WriteError(path: path, reason: failure)
    }
    PendingTemporary.clear()
    syncFolder(FilePath.folder(of: path))
  }

  /// Checks, before any long work, that ``write(parts:to:)`` can replace
  /// `path`: the name is not empty and fits the file system's limits, an
  /// existing target is a regular file that may be replaced (not immutable
  /// or append-only), the folder is not a kernel pseudo file system such as
  /// `/proc` or `/sys`, and the real temporary file can be created there
  /// (it is removed again at once).
  ///
  /// - Throws: ``WriteError`` saying what stands in the way.
  public static func checkWritable(_ path: String) throws(WriteError) {
    try checkTarget(path)
    let folder = FilePath.folder(of: path)
    var folderInfo = stat()
    guard stat(folder, &folderInfo) == 0 else {
      throw WriteError(path: path, reason: "its folder '\(FilePath.printable(folder))': \(systemError())")
    }
    guard (folderInfo.st_mode & S_IFMT) == S_IFDIR else {
      throw WriteError(path: path, reason: "'\(FilePath.printable(folder))' is not a folder")
    }
    if let system = FileKind.pseudoFileSystem(folder) {
      throw WriteError(path: path, reason: "its folder is on the kernel's \(system) file system, not a place for files")
    }
    let maximum = pathconf(folder, Int32(_PC_NAME_MAX))
    if maximum > 0, FilePath.name(of: path).utf8.count > maximum {
      throw WriteError(path: path, reason: "the file name is longer than the \(maximum) bytes the file system allows")
    }
    let (temporary, descriptor) = try createTemporary(for: path, kind: "tmp")
    close(descriptor)
    unlink(temporary)
    PendingTemporary.clear()
  }

  /// Refuses a target that must not be replaced: an empty name, a folder, a
  /// device, a FIFO or a socket (also through a symbolic link), or a regular
  /// file marked immutable or append-only.
  static func checkTarget(_ path: String) throws(WriteError) {
    guard !path.isEmpty else { throw WriteError(path: path, reason: "the path is empty") }
    guard !path.hasSuffix("/") else { throw WriteError(path: path, reason: "names a folder, not a file") }
    var info = stat()
    guard stat(path, &info) == 0 else { return }  // absent (or a dangling link, which the rename replaces)
    let kind = FileKind(mode: info.st_mode)
    guard kind == .regular else {
      throw WriteError(path: path, reason: "it is \(kind.description); refusing to replace it with a regular file")
    }
    if let flag = FileKind.protectionFlag(path) {
      throw WriteError(path: path, reason: "the file is \(flag) (chattr), so it cannot be replaced")
    }
  }

  /// Creates a new temporary file beside `path`, with an unpredictable name
  /// and `O_EXCL | O_NOFOLLOW`, retrying on a name clash; registers it for
  /// ``abandonWriteInProgress()``.
  private static func createTemporary(for path: String, kind: String) throws(WriteError) -> (String, Int32) {
    var descriptor: Int32 = -1
    let temporary = try claimTemporaryName(for: path, kind: kind) { name in
      PendingTemporary.set(name)
      descriptor = open(name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
      if descriptor < 0 { PendingTemporary.clear() }
      return descriptor >= 0
    }
    return (temporary, descriptor)
  }

  /// A fresh temporary name beside `path` that `create` managed to create
  /// (`O_EXCL`, `link`: it fails on a name that exists), trying new random
  /// names while the failure is a clash.
  private static func claimTemporaryName(for path: String, kind: String, create: (String) -> Bool)
    throws(WriteError) -> String
  {
    let folder = FilePath.folder(of: path)
    for _ in 0..<16 {
      let temporary = folder + "/" + temporaryName(for: FilePath.name(of: path), kind: kind)
      if create(temporary) { return temporary }
      let reason = errno
      if reason == EEXIST || reason == EINTR { continue }
      throw WriteError(path: path, reason: "cannot create a file in its folder: \(String(cString: strerror(reason)))")
    }
    throw WriteError(path: path, reason: "no free temporary name in its folder after 16 tries")
  }

  /// `.NAME.KIND-PID-RANDOM`, with NAME shortened (at a character boundary)
  /// so that the whole fits in 255 bytes.
  static func temporaryName(for name: String, kind: String) -> String {
    var generator = SystemRandomNumberGenerator()
    let random = String(generator.next() & 0xFFFF_FFFF_FFFF, radix: 16)
    let suffix = ".\(kind)-\(getpid())-\(random)"
    return "." + FilePath.prefix(of: name, bytes: 255 - 1 - suffix.utf8.count) + suffix
  }

  /// Makes `link` name the same file as `target` (a hard link), replacing
  /// whatever `link` named before atomically: readers see the old file or
  /// the new one. Used to keep numbered checkpoints without writing twice.
  public static func replaceWithLink(_ link: String, to target: String) throws(WriteError) {
    try checkTarget(link)
    // link(2) never follows or replaces what is at the new name: a clash fails with EEXIST.
    let temporary = try claimTemporaryName(for: link, kind: "link") { Glibc.link(target, $0) == 0 }
    guard rename(temporary, link) == 0 else {
      let reason = systemError()
      unlink(temporary)
      throw WriteError(path: link, reason: reason)
    }
    syncFolder(FilePath.folder(of: link))
  }

  /// Removes the temporary file of a write in progress, if any, and the
  /// lock files of ``OutputFiles``. Safe to call from a signal handler (it
  /// only calls `unlink`): a process that is told to exit at once leaves no
  /// temporary file behind, and the old file is untouched since the rename
  /// has not happened (or has, and then the temporary name no longer exists).
  public static func abandonWriteInProgress() {
    PendingTemporary.unlinkIfSet()
    CleanupPaths.unlinkLockFiles()
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
    let stem = String(FilePath.name(of: path).split(separator: ".", omittingEmptySubsequences: false)[0])
    let prefix = "." + FilePath.prefix(of: stem, bytes: 200)
    for name in FilePath.names(inFolder: folder) {
      // `.NAME.tmp-PID-RANDOM` or `.NAME.link-PID-RANDOM`.
      let parts = name.split(separator: "-")
      guard name.hasPrefix(prefix), parts.count >= 3,
        parts[parts.count - 3].hasSuffix(".tmp") || parts[parts.count - 3].hasSuffix(".link"),
        let pid = Int32(parts[parts.count - 2]), pid != getpid(),
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

/// The temporary file being written: the first slot of ``CleanupPaths``.
private enum PendingTemporary {
  static func set(_ path: String) { CleanupPaths.set(path, slot: 0) }
  static func clear() { CleanupPaths.clear(slot: 0) }
  static func unlinkIfSet() { CleanupPaths.unlink(slot: 0) }
}
