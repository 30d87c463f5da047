import Backprop
import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Ctrl-C and a scheduler's SIGTERM. In a command that stops cleanly
/// (`train`, `cv`, `search`: see ``stopsCleanly``) the first one asks the
/// run to stop after the current step (`train` then writes a checkpoint and
/// says how to resume; `cv` and `search` report what finished); a second
/// one ends the process at once with one line. Elsewhere (and before a
/// command has set up), the first signal ends the process at once. Exiting
/// at once removes a half-written temporary file and the lock files, so the
/// last good checkpoint is untouched.
enum Interruption {
  /// Set by the first signal; its code is the signal's number.
  static let stop = StopRequest()
  /// Whether the running command stops cleanly on a first signal.
  static let cleanly = Atomic<Bool>(false)
  /// How the signal handler's own lines start: `backprop: `, or under
  /// `mpirun` `backprop: rank N: ` (see ``nameRank(_:)``).
  /// (Raw bytes, never freed: the handler must not touch reference counts.)
  nonisolated(unsafe) private static var linePrefix = persistentBytes("backprop: ")
  /// Whether the handler's own lines are shown: under `mpirun`, rank 0's
  /// only, and none once the process is ending with an error.
  private static let showsLines = Atomic<Bool>(true)

  /// Makes the signal handler's lines name `rank`, and keeps other ranks'
  /// quiet (like their other lines that are not errors); called once, before
  /// any thread starts.
  static func nameRank(_ rank: Int) {
    linePrefix = persistentBytes("backprop: rank \(rank): ")
    showsLines.store(rank == 0, ordering: .relaxed)
  }

  /// Keeps the handler quiet from now on: the process is ending with its
  /// error line, and the signal that may follow (`mpirun` ending the ranks)
  /// would only add a misleading one.
  static func silence() { showsLines.store(false, ordering: .relaxed) }

  /// `text`'s bytes in memory that lives as long as the process.
  private static func persistentBytes(_ text: String) -> UnsafeBufferPointer<UInt8> {
    let bytes = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: text.utf8.count)
    _ = bytes.initialize(from: text.utf8)
    return UnsafeBufferPointer(bytes)
  }

  /// Writes the handler's line `text` (static text after the prefix): only
  /// async-signal-safe calls.
  fileprivate static func writeHandlerLine(_ text: StaticString) {
    guard showsLines.load(ordering: .relaxed) else { return }
    _ = write(2, linePrefix.baseAddress, linePrefix.count)
    _ = write(2, text.utf8Start, text.utf8CodeUnitCount)
  }

  /// Lets the first signal ask the command to stop instead of ending the
  /// process; a signal that came before is acted on by the command's own
  /// check of ``stop``.
  static func stopsCleanly() { cleanly.store(true, ordering: .relaxed) }

  /// Ends a command that a signal stopped after some of its `total` parts
  /// (folds, trials) finished: one line saying how many, and where they were
  /// written, then the signal's exit status.
  static func exitAfterPartialRun(finished: Int, of total: Int, parts: String, output: String?, note: String = "")
    -> Never
  {
    writeStandardError(
      "backprop: interrupted by \(signalName): \(finished) of \(total) \(parts) finished"
        + (output.map { "; they are in \(FilePath.printable($0))" } ?? "") + note + "\n")
    terminate(exitStatus)
  }

  /// Ends a run that every rank agreed to stop (or a single process's) with
  /// the signal's exit status, without aborting the other ranks: they end
  /// the same way after the same step.
  static func exitAfterAgreedStop() -> Never {
    #if canImport(Glibc)
      Glibc.exit(exitStatus)
    #else
      Darwin.exit(exitStatus)
    #endif
  }

  /// Installs the handlers for SIGINT and SIGTERM: the first thing `main`
  /// does, so that no signal meets the default action.
  static func install() {
    // Everything the handler touches exists before it can run.
    _ = stop.isRequested
    _ = cleanly.load(ordering: .relaxed)
    _ = (linePrefix, showsLines.load(ordering: .relaxed))
    AtomicFile.prepareForSignalHandlers()
    var action = sigaction()
    action.__sigaction_handler.sa_handler = interruptionHandler
    sigemptyset(&action.sa_mask)
    action.sa_flags = SA_RESTART
    sigaction(SIGINT, &action, nil)
    sigaction(SIGTERM, &action, nil)
    // A parent may have started us with these blocked (a thread of a
    // Dispatch pool blocks them, and children inherit the mask).
    var unblocked = sigset_t()
    sigemptyset(&unblocked)
    sigaddset(&unblocked, SIGINT)
    sigaddset(&unblocked, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &unblocked, nil)
  }

  /// The exit status for the signal that stopped the run: 128 + its number
  /// (130 for SIGINT, 143 for SIGTERM), as shells report it.
  static var exitStatus: Int32 { 128 + stop.requestedCode }

  /// The signal's name, for messages.
  static var signalName: String {
    switch stop.requestedCode {
    case SIGINT: "SIGINT"
    case SIGTERM: "SIGTERM"
    default: "signal \(stop.requestedCode)"
    }
  }
}

/// Only async-signal-safe work: atomic loads and stores, `write` of static
/// text, `unlink` and `_exit`.
private let interruptionHandler: @convention(c) (Int32) -> Void = { signal in
  guard Interruption.cleanly.load(ordering: .relaxed) && !Interruption.stop.isRequested else {
    Interruption.writeHandlerLine(
      Interruption.stop.isRequested
        ? (signal == SIGINT ? "second SIGINT: exiting at once\n" : "second SIGTERM: exiting at once\n")
        : (signal == SIGINT ? "interrupted by SIGINT\n" : "interrupted by SIGTERM\n"))
    AtomicFile.abandonWriteInProgress()
    _exit(128 + signal)
  }
  Interruption.stop.request(code: signal)
}
