import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes a run's checkpoints to `--checkpoint PATH`: PATH always holds the
/// newest. With `--keep-checkpoints K` above 1, each checkpoint is written
/// as `NAME.step-N.safetensors` beside PATH and PATH becomes a hard link to
/// it (no second write); all but the K newest numbered files are removed.
final class CheckpointFiles {
  let path: String
  let keep: Int
  let data: DataIdentity
  let metadata: [String: String]
  /// Where the last good checkpoint is, and its step count.
  private(set) var last: (path: String, steps: Int)? = nil
  /// The checkpoints written, and the seconds they took (for `--profile`).
  private(set) var written = 0
  private(set) var seconds = 0.0

  /// Keys of the command line's own metadata in a checkpoint.
  static let commandKey = "backprop.command"
  static let intervalKey = "backprop.checkpoint_every"

  init(path: String, keep: Int, data: DataIdentity, metadata: [String: String], last: (path: String, steps: Int)?) {
    self.path = path
    self.keep = keep
    self.data = data
    self.metadata = metadata
    self.last = last
    AtomicFile.removeStaleTemporaries(of: path)
  }

  /// Why the last write failed, if it did.
  private(set) var failure: String? = nil

  /// Writes the checkpoint of `trainer` at `position`.
  ///
  /// - Throws: a ``CommandFailure`` naming `--checkpoint` and the reason (a
  ///   full disk), which stops the run: a run that cannot checkpoint would
  ///   lose its work to the next interruption.
  func write(trainer: Trainer, position: TrainingPosition, history: [EpochMetrics]) throws(CommandFailure) {
    let started = ContinuousClock.now
    defer { seconds += (ContinuousClock.now - started).seconds }
    do {
      if keep == 1 {
        try Checkpoint.write(
          trainer: trainer, position: position, history: history, data: data, metadata: metadata, to: path)
      } else {
        let numbered = numberedPath(steps: position.steps)
        try Checkpoint.write(
          trainer: trainer, position: position, history: history, data: data, metadata: metadata, to: numbered)
        try AtomicFile.replaceWithLink(path, to: numbered)
        removeAllButNewest()
      }
      last = (path, position.steps)
      written += 1
    } catch {
      failure = error.reason
      throw CommandFailure("--checkpoint \(error)")
    }
  }

  /// `run.safetensors` → `run.step-000001234.safetensors`.
  func numberedPath(steps: Int) -> String {
    let digits = String(steps)
    return stem + ".step-" + String(repeating: "0", count: max(0, 9 - digits.count)) + digits + suffix
  }

  private var suffix: String { path.hasSuffix(".safetensors") ? ".safetensors" : "" }
  private var stem: String { String(path.dropLast(suffix.count)) }

  /// Removes the numbered checkpoints of PATH beyond the `keep` newest.
  private func removeAllButNewest() {
    let folder = FilePath.folder(of: path)
    let prefix = FilePath.name(of: stem) + ".step-"
    let numbered = FilePath.names(inFolder: folder).compactMap { name -> (steps: Int, name: String)? in
      guard name.hasPrefix(prefix), name.hasSuffix(suffix),
        let steps = Int(name.dropFirst(prefix.count).dropLast(suffix.count))
      else { return nil }
      return (steps, name)
    }
    for old in numbered.sorted(by: { $0.steps > $1.steps }).dropFirst(keep) { unlink(folder + "/" + old.name) }
  }
}
