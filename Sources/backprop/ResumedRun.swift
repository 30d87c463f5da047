import ArgumentParser
import Backprop

/// `train --resume PATH`: the checkpoint, and the training arguments of the
/// run it saved with the options given now laid over them.
struct ResumedRun {
  let path: String
  let checkpoint: Checkpoint
  /// The saved command line with the given options replacing its own.
  let arguments: TrainingArguments
  /// The checkpoint interval the saved run used, if any.
  let checkpointEvery: Int?

  init(path: String, given: TrainingArguments) throws(CommandFailure) {
    self.path = path
    do { checkpoint = try Checkpoint.read(path) } catch { throw CommandFailure("--resume \(error)") }
    guard let text = checkpoint.metadata[CheckpointFiles.commandKey],
      case .array(let items)? = try? JSONValue.parse(Array(text.utf8))
    else {
      throw CommandFailure("--resume \(path): no command line in its metadata ('\(CheckpointFiles.commandKey)')")
    }
    let saved = items.compactMap(\.stringValue)
    let merged = TrainingArguments.overlay(given.commandLine(), on: saved)
    do { arguments = try TrainingArguments.parse(merged) } catch {
      throw CommandFailure(
        "--resume \(path): its command line no longer parses: \(TrainingArguments.message(for: error))")
    }
    checkpointEvery = checkpoint.metadata[CheckpointFiles.intervalKey].flatMap { Int($0) }
  }
}
