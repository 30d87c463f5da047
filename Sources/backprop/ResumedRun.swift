import ArgumentParser
import Backprop

/// `train --resume PATH`: the checkpoint, and the options of the run it
/// saved with the options given now laid over them.
struct ResumedRun {
  let path: String
  let checkpoint: Checkpoint
  /// The saved options with the given ones replacing them.
  let settings: SessionOptions
  /// The checkpoint interval the saved run used, if any.
  let checkpointEvery: Int?

  init(path: String, given: SessionOptions) throws(CommandFailure) {
    self.path = path
    do { checkpoint = try Checkpoint.read(path) } catch { throw CommandFailure("--resume \(error)") }
    do {
      var merged = given.overlaid(on: try SessionOptions(savedIn: checkpoint, path: path))
      // A reproducible run always sums logical shards: the strategy saved with
      // a plain run must not stand in the way of the checkpoint's own refusal.
      if given.reproducible == true && given.gradients == nil { merged.gradients = nil }
      settings = merged
      try settings.validate()
    } catch {
      throw CommandFailure(error.description)
    }
    checkpointEvery = checkpoint.metadata[CheckpointRotation.intervalKey].flatMap { Int($0) }
  }
}
