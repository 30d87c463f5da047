import Backprop

/// The processes of this run: this one alone, or the ranks `mpirun`
/// started (see ``ProcessGroup``). Rank 0 prints and writes files; the
/// others print only their error lines, which name the rank.
enum Ranks {
  /// Set once by ``join()``, before any command runs or any thread starts.
  nonisolated(unsafe) private(set) static var group = ProcessGroup.single

  /// Joins the ranks when started by `mpirun`; a failure is one line and exit status 1.
  static func join() {
    do { group = try ProcessGroup.start() } catch {
      writeStandardError("backprop: error: \(error.description)\n")
      terminate(1)
    }
    if group.isDistributed { Interruption.nameRank(group.rank) }
  }

  /// Whether text for standard error from this process is shown: everything
  /// on rank 0, error lines elsewhere.
  static func shows(_ text: String) -> Bool {
    group.isLeader || text.hasPrefix("backprop: error")
  }

  /// `text` with its `backprop: ` start naming the rank, when there are several.
  static func named(_ text: String) -> String {
    guard group.isDistributed, text.hasPrefix("backprop: ") else { return text }
    return "backprop: rank \(group.rank): " + text.dropFirst("backprop: ".count)
  }
}
