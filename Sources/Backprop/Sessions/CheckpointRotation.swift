#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Writes a run's checkpoints to PATH, which always holds the newest. With
/// `keep` above 1, each checkpoint is written as `NAME.step-N.safetensors`
/// beside PATH and PATH becomes a hard link to it (no second write); all but
/// the `keep` newest numbered files are removed.
public final class CheckpointRotation {
  /// Where the newest checkpoint is.
  public let path: String
  /// How many numbered checkpoints are kept.
  public let keep: Int
  /// The identity of the training data, checked on resume.
  public let data: DataIdentity
  /// Metadata every checkpoint carries (the session's options).
  public let metadata: [String: String]
  /// Where the last good checkpoint is, and its step count.
  public private(set) var last: (path: String, steps: Int)? = nil
  /// The checkpoints written, and the seconds they took.
  public private(set) var written = 0, seconds = 0.0

  /// The metadata key of the session's options (JSON, see ``SessionOptions/json``).
  public static let settingsKey = "backprop.session"
  /// The metadata key of the command line that checkpoints of version 0.6
  /// and earlier keep instead (a JSON array of strings).
  public static let commandKey = "backprop.command"
  /// The metadata key of the checkpoint interval in steps.
  public static let intervalKey = "backprop.checkpoint_every"

  /// Rotation for `path`, removing temporaries a crashed run left there.
  ///
  /// - Parameter last: the checkpoint this run resumed from, when it is `path`:
  ///   the last good one until this run writes its own.
  public init(
    path: String, keep: Int = 1, data: DataIdentity, metadata: [String: String], last: (path: String, steps: Int)? = nil
  ) {
    precondition(keep >= 1, "keep at least one checkpoint, got \(keep)")
    self.path = path
    self.keep = keep
    self.data = data
    self.metadata = metadata
    self.last = last
    AtomicFile.removeStaleTemporaries(of: path)
  }

  /// Why the last write failed, if it did.
  public private(set) var failure: String? = nil

  /// Writes the checkpoint of `trainer` at `position` (pass this to
  /// ``RunControl/checkpoint``).
  ///
  /// - Throws: ``SessionError`` naming `--checkpoint` and the reason (a
  ///   full disk), which stops the run: a run that cannot checkpoint would
  ///   lose its work to the next interruption.
  public func write(trainer: Trainer, position: TrainingPosition, history: [EpochMetrics]) throws(SessionError) {
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
      throw SessionError(option: "--checkpoint", line: "--checkpoint \(error)")
    }
  }

  /// `run.safetensors` → `run.step-000001234.safetensors`.
  public func numberedPath(steps: Int) -> String {
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
