#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The files one command will write, checked together before any long work
/// and locked for as long as the command runs, so that a run never ends in
/// an error about its outputs, never writes one of its inputs, and never
/// shares an output with another run.
///
/// Each output must be writable (``AtomicFile/checkWritable(_:)``), must not
/// be the same file as any input (same device and inode, or the same resolved
/// path: a symbolic or hard link to an input counts as the input) and must
/// differ from every other output. Each is then locked with an advisory
/// `fcntl` lock on `.NAME.lock` beside it, which a second command asking for
/// the same output finds held; the lock file is removed on ``release()``.
public final class OutputFiles {
  /// A path and the option that named it, for messages.
  public struct Named: Sendable {
    /// The option, such as `--save`.
    public var option: String
    /// The path as given.
    public var path: String

    /// A path named by `option`.
    public init(_ option: String, _ path: String) {
      self.option = option
      self.path = path
    }
  }

  /// Why an output cannot be used: one line naming the option and path.
  public struct Refusal: Error, Sendable, CustomStringConvertible {
    /// The option and path refused.
    public let output: Named
    /// What is wrong.
    public let reason: String
    public var description: String {
      "\(output.option) \(FilePath.printable(output.path)): \(reason)"
    }
  }

  private var locks: [(path: String, descriptor: Int32, slot: Int?)] = []

  /// Checks `outputs` against each other and against `inputs`, then locks them.
  ///
  /// - Parameters:
  ///   - outputs: the files the command will write.
  ///   - inputs: the files it reads (data, labels, weights, checkpoints);
  ///     ones that do not exist are ignored here (reading them fails later).
  ///   - sharedWithInput: an output that may be the same file as an input
  ///     (`--checkpoint` of a run that goes on from its own `--resume` file).
  /// - Throws: ``Refusal`` for the first output that cannot be used; locks
  ///   already taken are released.
  public init(outputs: [Named], inputs: [Named], sharedWithInput: (output: String, input: String)? = nil)
    throws(Refusal)
  {
    for (index, output) in outputs.enumerated() {
      do { try AtomicFile.checkWritable(output.path) } catch {
        throw Refusal(output: output, reason: error.reason)
      }
      let identity = FileIdentity(output.path)
      for input in inputs {
        if let shared = sharedWithInput, shared.output == output.option, shared.input == input.option { continue }
        if identity.isSame(as: FileIdentity(input.path)) {
          throw Refusal(
            output: output,
            reason: "is the same file as \(input.option) \(FilePath.printable(input.path)); an input is never written")
        }
      }
      for other in outputs[..<index] where identity.isSame(as: FileIdentity(other.path)) {
        throw Refusal(
          output: output, reason: "is the same file as \(other.option); one would overwrite the other")
      }
    }
    for output in outputs {
      do { try lock(output) } catch {
        release()
        throw error
      }
    }
  }

  deinit { release() }

  /// Removes the lock files and releases the locks (also done when the
  /// value is freed).
  public func release() {
    for (path, descriptor, slot) in locks {
      if let slot { CleanupPaths.clear(slot: slot) }
      unlink(path)
      close(descriptor)
    }
    locks = []
  }

  /// `.NAME.lock` beside `path`.
  static func lockPath(for path: String) -> String {
    FilePath.folder(of: path) + "/." + FilePath.prefix(of: FilePath.name(of: path), bytes: 249) + ".lock"
  }

  /// Takes the lock of `output`, or says which process holds it.
  private func lock(_ output: Named) throws(Refusal) {
    let path = OutputFiles.lockPath(for: output.path)
    if locks.contains(where: { $0.path == path }) { return }
    for _ in 0..<8 {
      let descriptor = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC, 0o644)
      guard descriptor >= 0 else {
        throw Refusal(
          output: output, reason: "cannot create its lock file \(FilePath.printable(path)): \(systemError())")
      }
      var info = stat()
      guard fstat(descriptor, &info) == 0, FileKind(mode: info.st_mode) == .regular else {
        close(descriptor)
        throw Refusal(output: output, reason: "its lock file \(FilePath.printable(path)) is not a regular file")
      }
      var request = flock()
      request.l_type = Int16(F_WRLCK)
      request.l_whence = Int16(SEEK_SET)
      if fcntlLock(descriptor, F_SETLK, &request) != 0 {
        var holder = flock()
        holder.l_type = Int16(F_WRLCK)
        holder.l_whence = Int16(SEEK_SET)
        let pid = fcntlLock(descriptor, F_GETLK, &holder) == 0 && holder.l_type != Int16(F_UNLCK) ? holder.l_pid : 0
        close(descriptor)
        throw Refusal(
          output: output,
          reason: "another run is writing it" + (pid > 0 ? " (process \(pid))" : "")
            + "; two runs with the same output would overwrite each other")
      }
      // A run that just ended may have removed the file between our open
      // and our lock: then the lock guards nothing, so take it again.
      var current = stat()
      if stat(path, &current) == 0, current.st_dev == info.st_dev, current.st_ino == info.st_ino {
        // Recorded so that an exit or a second signal removes it too.
        let slot = CleanupPaths.freeLockSlot()
        if let slot { CleanupPaths.set(path, slot: slot) }
        locks.append((path, descriptor, slot))
        return
      }
      close(descriptor)
    }
    throw Refusal(output: output, reason: "its lock file \(FilePath.printable(path)) keeps changing")
  }
}

/// Who a path is: its device and inode when it exists (following links), and
/// its resolved absolute path (the folder resolved, the name kept), so that
/// two names of one file compare equal.
struct FileIdentity {
  let device: UInt64?
  let inode: UInt64?
  let resolved: String?

  init(_ path: String) {
    var info = stat()
    if !path.isEmpty, stat(path, &info) == 0 {
      device = UInt64(info.st_dev)
      inode = UInt64(info.st_ino)
    } else {
      device = nil
      inode = nil
    }
    if let folder = realpath(FilePath.folder(of: path), nil) {
      resolved = String(cString: folder) + "/" + FilePath.name(of: path)
      free(folder)
    } else {
      resolved = nil
    }
  }

  func isSame(as other: FileIdentity) -> Bool {
    if let device, let inode, device == other.device, inode == other.inode { return true }
    if let resolved, resolved == other.resolved { return true }
    return false
  }
}

/// `fcntl` with a lock argument (the variadic C function is not imported).
private func fcntlLock(_ descriptor: Int32, _ command: Int32, _ request: inout flock) -> Int32 {
  fcntl(descriptor, command, &request)
}
