import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Ctrl-C and a scheduler's SIGTERM during training: the first one asks the
/// run to stop after the current step (it then writes a checkpoint and says
/// how to resume); a second one ends the process at once, removing a
/// half-written temporary file, so the last good checkpoint is untouched.
enum Interruption {
  /// Set by the first signal; its code is the signal's number.
  static let stop = StopRequest()

  /// Installs the handlers for SIGINT and SIGTERM.
  static func install() {
    // Everything the handler touches exists before it can run.
    _ = stop.isRequested
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

/// Only async-signal-safe work: an atomic store, `unlink` and `_exit`.
private let interruptionHandler: @convention(c) (Int32) -> Void = { signal in
  if Interruption.stop.isRequested {
    AtomicFile.abandonWriteInProgress()
    _exit(128 + signal)
  }
  Interruption.stop.request(code: signal)
}
