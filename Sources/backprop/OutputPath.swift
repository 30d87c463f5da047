import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Checks a command's outputs against each other and its inputs and locks
/// them for the command's lifetime (see ``OutputFiles``), before any long
/// work starts, so a run never ends in an error about its output.
func claimOutputs(
  _ outputs: [OutputFiles.Named?], inputs: [OutputFiles.Named?],
  sharedWithInput: (output: String, input: String)? = nil
) throws(CommandFailure) -> OutputFiles {
  do {
    return try OutputFiles(
      outputs: outputs.compactMap { $0 }, inputs: inputs.compactMap { $0 }, sharedWithInput: sharedWithInput)
  } catch {
    throw CommandFailure(error.description)
  }
}

/// `(option, path)` when `path` is given.
func named(_ option: String, _ path: String?) -> OutputFiles.Named? {
  path.map { OutputFiles.Named(option, $0) }
}

/// Saves `model` to `path` (named by `option`); when that fails after the
/// work is done, the weights go to a fallback file beside it (or in the
/// working folder, or the temporary folder) and the error says where, so a
/// finished model is never lost.
func saveFinishedModel(_ model: Model, to path: String, option: String, metadata: [String: String])
  throws(CommandFailure)
{
  do { try model.save(to: path, metadata: metadata) } catch {
    let name = "backprop-unsaved-\(getpid()).safetensors"
    for folder in [FilePath.folder(of: path), ".", "/tmp"] {
      let fallback = folder == "." ? name : folder + "/" + name
      // Never over a file that is there already (an earlier run's with the same process id).
      if access(fallback, F_OK) != 0, (try? model.save(to: fallback, metadata: metadata)) != nil {
        throw CommandFailure(
          "\(option) \(error); the trained weights were saved to \(FilePath.printable(fallback)) instead")
      }
    }
    throw CommandFailure("\(option) \(error); the trained weights could not be saved anywhere")
  }
}
