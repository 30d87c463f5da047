extension SessionOptions {
  /// The options a checkpoint was written with: its typed options, or the
  /// command line that checkpoints of version 0.6 and earlier keep.
  ///
  /// - Throws: ``SessionError`` naming `--resume` and the checkpoint when
  ///   neither is there or they do not read back.
  public init(savedIn checkpoint: Checkpoint, path: String) throws(SessionError) {
    let metadata = checkpoint.metadata
    func damaged(_ what: String) -> SessionError {
      SessionError(option: "--resume", line: "--resume \(path): \(what)")
    }
    if let text = metadata[CheckpointRotation.settingsKey] {
      guard let json = try? JSONValue.parse(Array(text.utf8)) else {
        throw damaged("its options ('\(CheckpointRotation.settingsKey)') are not JSON")
      }
      do { try self.init(json: json) } catch { throw damaged("its options no longer read: \(error)") }
    } else if let text = metadata[CheckpointRotation.commandKey] {
      guard case .array(let items)? = try? JSONValue.parse(Array(text.utf8)) else {
        throw damaged("its command line ('\(CheckpointRotation.commandKey)') is not a JSON array")
      }
      do { try self.init(commandLine: items.compactMap(\.stringValue)) } catch {
        throw damaged("its command line no longer parses: \(error)")
      }
    } else {
      throw damaged("no options in its metadata ('\(CheckpointRotation.settingsKey)')")
    }
  }
}

extension TrainingSession {
  /// Takes up `checkpoint` (read from `path`) in `trainer`, which trains this
  /// session, so that its next ``Trainer/train(evaluation:control:progress:epochEnd:)``
  /// goes on where the checkpoint's run stopped.
  ///
  /// - Returns: a warning when the trainer has another number of workers
  ///   than the checkpoint's run (the result then differs in the last bits).
  /// - Throws: ``SessionError`` when this session differs from the
  ///   checkpoint's in what a resumed run must keep (model, loss, data,
  ///   optimizer, batches, seed …), or the checkpoint's position does not fit.
  public func resume(_ trainer: Trainer, from checkpoint: Checkpoint, path: String) throws(SessionError) -> String? {
    let conflicts = checkpoint.conflicts(
      spec: model.spec, loss: model.loss, options: options, data: DataIdentity(training))
    guard conflicts.isEmpty else {
      throw SessionError(
        option: "--resume",
        line: "--resume \(path): refused, this run differs from the checkpoint's in "
          + conflicts.joined(separator: "; "))
    }
    if let problem = checkpoint.positionProblem(options: options, samples: training.count) {
      throw SessionError(option: "--resume", line: "--resume \(path): damaged checkpoint: \(problem)")
    }
    trainer.restore(from: checkpoint)
    guard trainer.workerCount != checkpoint.workers else { return nil }
    return "resuming on \(trainer.workerCount) worker(s) where the checkpoint ran \(checkpoint.workers): "
      + "the result will differ in the last bits from an uninterrupted run"
  }
}
