import ArgumentParser
import Backprop

/// `--tensorboard DIR` and `--tensorboard-every N`, on `train`, `cv` and `search`.
struct TensorBoardOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "Write TensorBoard event files into this folder (made if missing): a run for train, one per fold for cv, one per trial and fold for search.",
      valueName: "dir"))
  var tensorboard: String?
  @Option(
    parsing: .unconditional,
    help: "With --tensorboard, also log the training loss (the mean of the last N steps' batches) every N steps.")
  var tensorboardEvery: Int?

  func validate() throws {
    if let every = tensorboardEvery {
      if every < 1 { throw ValidationError("--tensorboard-every must be at least 1, got \(every)") }
      if tensorboard == nil { throw ValidationError("--tensorboard-every: needs --tensorboard DIR") }
    }
  }

  /// Checks the folder before anything runs: made if missing, refused (one
  /// line) if it is a file or cannot be written into.
  func prepare() throws(CommandFailure) {
    guard let tensorboard else { return }
    do { try TensorBoardLog.prepareFolder(tensorboard) } catch { throw CommandFailure(error.description) }
  }
}
