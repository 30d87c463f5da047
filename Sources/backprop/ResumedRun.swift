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
    let merged = ResumedRun.overlay(given.commandLine(), on: saved)
    do { arguments = try TrainingArguments.parse(merged) } catch {
      throw CommandFailure(
        "--resume \(path): its command line no longer parses: \(TrainingArguments.message(for: error))")
    }
    checkpointEvery = checkpoint.metadata[CheckpointFiles.intervalKey].flatMap { Int($0) }
  }

  /// `base` with every option of `top` replacing the same option in it (or
  /// added). Both are command lines as ``TrainingArguments/commandLine(spec:loss:)``
  /// writes them: `--name value` pairs and the bare flags.
  static func overlay(_ top: [String], on base: [String]) -> [String] {
    func pairs(_ arguments: [String]) -> [(String, String?)] {
      var result: [(String, String?)] = []
      var i = 0
      while i < arguments.count {
        let name = arguments[i]
        if TrainingArguments.flags.contains(name) || i + 1 == arguments.count {
          result.append((name, nil))
          i += 1
        } else {
          result.append((name, arguments[i + 1]))
          i += 2
        }
      }
      return result
    }
    let given = pairs(top)
    let givenNames = Set(given.map(\.0))
    let kept = pairs(base).filter { !givenNames.contains($0.0) }
    return (kept + given).flatMap { name, value in [name] + (value.map { [$0] } ?? []) }
  }
}
