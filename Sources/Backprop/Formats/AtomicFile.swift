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
    let folder = folderOf(path)
    let temporary = "\(folder)/.\(baseName(path)).tmp-\(getpid())"
    let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard descriptor >= 0 else { throw WriteError(path: path, reason: systemError()) }
    var failure: String? = nil
    bytes.withUnsafeBytes { buffer in
      var written = 0
      while written < buffer.count {
        let result = Glibc.write(descriptor, buffer.baseAddress! + written, buffer.count - written)
        if result < 0 {
          if errno == EINTR { continue }
          failure = systemError()
          return
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
    // Flush the folder so the rename itself survives a power cut.
    let folderDescriptor = open(folder, O_RDONLY)
    if folderDescriptor >= 0 {
      fsync(folderDescriptor)
      close(folderDescriptor)
    }
  }

  /// Replaces the file at `path` with the UTF-8 bytes of `text`, atomically.
  public static func write(_ text: String, to path: String) throws(WriteError) {
    try write(Array(text.utf8), to: path)
  }

  static func folderOf(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  static func baseName(_ path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }
}
