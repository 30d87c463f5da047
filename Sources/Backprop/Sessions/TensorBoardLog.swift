#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One TensorBoard run: a folder with an event file of this process's
/// (`events.out.tfevents.<seconds>.<host>.<pid>.backprop`), which TensorBoard
/// and its readers (`EventAccumulator`, `tbparse`) read unchanged.
///
/// Scalars are kept in memory and written at ``flush()`` (the callers flush
/// at every epoch's end, so a live TensorBoard follows the run). A file is
/// only ever created new (`O_EXCL | O_NOFOLLOW`: a planted file or link is
/// not written through) and never rewritten: a resumed run adds a file of its
/// own to the same folder, named after the older ones so that TensorBoard
/// reads it last, and starting with a `SessionLog.START` at its first step,
/// which drops whatever a crashed run logged past its checkpoint.
public final class TensorBoardLog {
  /// Why a log could not be made or written.
  public struct Failure: Error, Sendable, CustomStringConvertible {
    /// The folder or file.
    public let path: String
    /// What went wrong.
    public let reason: String
    public var description: String { "--tensorboard: \(FilePath.printable(path)): \(reason)" }
  }

  /// The run's folder.
  public let folder: String
  /// The event file.
  public let path: String
  private var descriptor: Int32
  private var pending: [UInt8] = []
  /// The first write that failed, after which nothing more is written.
  public private(set) var failure: Failure?

  /// Opens a new event file in `folder` (made, with the folders above it,
  /// if missing).
  ///
  /// - Parameter resumingAt: the first step of a run that continues an
  ///   earlier one in the same folder.
  public init(folder: String, resumingAt step: Int? = nil) throws(Failure) {
    self.folder = folder
    try TensorBoardLog.makeFolder(folder)
    // After every event file already there, in TensorBoard's (name) order.
    let seconds =
      FilePath.names(inFolder: folder).compactMap(TensorBoardLog.seconds(ofEventFile:)).max()
      .map { max($0 + 1, time(nil)) } ?? time(nil)
    var host = [CChar](repeating: 0, count: 256)
    let hostName = gethostname(&host, host.count - 1) == 0 ? String(cString: host) : "localhost"
    let name = "events.out.tfevents.\(seconds).\(hostName.filter { $0 != "/" }).\(getpid()).backprop"
    path = TensorBoardLog.path(name, in: folder)
    descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
    guard descriptor >= 0 else { throw Failure(path: path, reason: String(cString: strerror(errno))) }
    let now = TensorBoardLog.wallTime()
    append(TensorBoardEvent.fileVersion(wallTime: now))
    if let step { append(TensorBoardEvent.sessionStart(step: step, wallTime: now)) }
    flush()
    if let failure { throw failure }
  }

  deinit { close() }

  /// Logs `scalars` at `step` (written at the next ``flush()``).
  public func log(_ scalars: [(tag: String, value: Double)], step: Int) {
    guard !scalars.isEmpty else { return }
    append(
      TensorBoardEvent.scalars(
        scalars.map { ($0.tag, Float($0.value)) }, step: step, wallTime: TensorBoardLog.wallTime()))
  }

  /// Writes what was logged; on a failure (a full disk) remembers it in
  /// ``failure`` and writes nothing more.
  public func flush() {
    guard failure == nil, descriptor >= 0, !pending.isEmpty else { return }
    var written = 0
    while written < pending.count {
      let result = pending.withUnsafeBytes { write(descriptor, $0.baseAddress! + written, $0.count - written) }
      if result < 0 && errno == EINTR { continue }
      guard result > 0 else {
        failure = Failure(path: path, reason: result < 0 ? String(cString: strerror(errno)) : "nothing was written")
        break
      }
      written += result
    }
    pending.removeAll(keepingCapacity: true)
  }

  /// Flushes and closes the file.
  public func close() {
    flush()
    if descriptor >= 0 { _ = Glibc.close(descriptor) }
    descriptor = -1
  }

  private func append(_ event: [UInt8]) { pending += TensorBoardEvent.record(event) }

  private static func wallTime() -> Double {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Double(now.tv_sec) + Double(now.tv_nsec) / 1e9
  }

  /// A run's name in a series: `prefix` and `number`, padded with zeros to
  /// the digits of `count` so that TensorBoard's run selector sorts the
  /// runs in order (`fold-01` … `fold-10`).
  public static func runName(_ prefix: String, _ number: Int, of count: Int) -> String {
    let digits = String(number)
    return prefix + String(repeating: "0", count: max(0, String(count).count - digits.count)) + digits
  }

  /// `name` inside `folder`.
  public static func path(_ name: String, in folder: String) -> String {
    (folder.hasSuffix("/") ? folder : folder + "/") + name
  }

  /// The seconds in an event file's name (`events.out.tfevents.<seconds>.…`).
  private static func seconds(ofEventFile name: String) -> Int? {
    let prefix = "events.out.tfevents."
    guard name.hasPrefix(prefix) else { return nil }
    return Int(name.dropFirst(prefix.count).prefix { $0 != "." })
  }

  /// Makes `folder` (with the folders above it) if missing, and checks that
  /// it is a folder this process can write into: what a command does before
  /// it trains, so that a bad `--tensorboard` is one line, not a run's end.
  public static func prepareFolder(_ folder: String) throws(Failure) { try makeFolder(folder) }

  /// Makes `folder` and the folders above it; a path that is there and is
  /// not a folder (a file, a device, a link to one) is refused.
  static func makeFolder(_ folder: String) throws(Failure) {
    guard !folder.isEmpty else { throw Failure(path: folder, reason: "an empty path names no folder") }
    var status = stat()
    if stat(folder, &status) == 0 {
      guard status.st_mode & S_IFMT == S_IFDIR else {
        let what = status.st_mode & S_IFMT == S_IFREG ? "is a file, not a folder" : "is not a folder"
        throw Failure(path: folder, reason: "\(what) (TensorBoard logs go into a folder)")
      }
      guard access(folder, W_OK | X_OK) == 0 else {
        throw Failure(path: folder, reason: "cannot write into it: \(String(cString: strerror(errno)))")
      }
      return
    }
    guard errno == ENOENT else { throw Failure(path: folder, reason: String(cString: strerror(errno))) }
    let parent = FilePath.folder(of: folder)
    if parent != folder && !parent.isEmpty { try makeFolder(parent) }
    // Another process (a rank, a fold) may make it at the same time.
    guard mkdir(folder, 0o755) == 0 || errno == EEXIST else {
      throw Failure(path: folder, reason: "cannot make the folder: \(String(cString: strerror(errno)))")
    }
  }
}
