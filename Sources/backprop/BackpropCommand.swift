import ArgumentParser
import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The `backprop` command: train, evaluate and predict with multilayer networks.
@main
struct BackpropCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "backprop",
    abstract: "Train neural networks by backpropagation on multicore CPUs.",
    version: BackpropVersion.string,
    subcommands: [
      TrainCommand.self, EvaluateCommand.self, PredictCommand.self, ScaleCommand.self, CrossValidateCommand.self,
      SearchCommand.self, SummaryCommand.self, ExportCommand.self, BLASProbeCommand.self,
      TopologyCommand.self,
    ]
  )

  /// Parses and runs a command; every error becomes one line on standard
  /// error and a non-zero exit status.
  static func main() {
    Interruption.install()
    Ranks.join()
    BLASKernelChoice.restartIfSlow()
    if let warning = BLASKernelChoice.warning { writeStandardError("backprop: warning: \(warning)\n") }
    // Parallelism is Backprop's own; BLAS stays on the calling thread everywhere
    // (evaluation and prediction too), which also keeps results reproducible.
    BLAS.useSingleThread()
    // Runs are estimated before they allocate; an allocation that fails all
    // the same (the memory went elsewhere meanwhile) is one line, not a trap.
    AllocationFailure.install { bytes in
      let amount = bytes.map { MemoryBudget.describe($0) } ?? "more than can be counted"
      writeStandardError(
        "backprop: error: out of memory: could not allocate \(amount) (try a smaller model or batch, fewer threads, or --max-memory)\n"
      )
      AtomicFile.abandonWriteInProgress()
      terminate(1)
    }
    // `help NAME` for a command that does not exist is an error, not the overview.
    let arguments = CommandLine.arguments.dropFirst()
    if arguments.first == "help", let name = arguments.dropFirst().first,
      !configuration.subcommands.contains(where: { $0._commandName == name })
    {
      let names = configuration.subcommands.filter { $0.configuration.shouldDisplay }.map { $0._commandName }
        .joined(separator: ", ")
      writeStandardError(
        "backprop: error: help: there is no command '\(FilePath.printable(name))' (commands: \(names))\n")
      terminate(64)
    }
    do {
      var command = try parseAsRoot()
      try command.run()
      Ranks.group.finish()
    } catch {
      let code = exitCode(for: error)
      if code == .success {
        exit(withError: error)  // --help, --version
      }
      // A failure of ours is one line whatever it quotes (paths, cells): its
      // control characters are escaped; the parser's own text keeps its first line.
      var line =
        (error as? CommandFailure).map { FilePath.printable($0.description) }
        ?? FilePath.printable(
          BackpropCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "")
      if line.hasPrefix("Unknown option '"), let hint = unknownOptionHint(line) {
        // Ours replaces the parser's own guess, which knows no other tools' names.
        if let guess = line.firstRange(of: ". Did you mean") { line = String(line[..<guess.lowerBound]) }
        line += " (\(hint))"
      }
      writeStandardError("backprop: error: \(line)\n")
      terminate(code.rawValue == 0 ? 1 : code.rawValue)
    }
  }
}

extension BackpropCommand {
  /// The hint for the parser's "Unknown option '--name'" line: the command
  /// is the first argument that names one.
  static func unknownOptionHint(_ line: String) -> String? {
    let unknown = line.dropFirst("Unknown option '".count).prefix { $0 != "'" }
    let subcommands = configuration.subcommands
    guard let name = CommandLine.arguments.dropFirst().first(where: { !$0.hasPrefix("-") }),
      let command = subcommands.first(where: { $0._commandName == name })
    else { return nil }
    return OptionSuggestion.hint(for: String(unknown), in: command, among: subcommands)
  }
}

/// A failure to report as one line: the description names the file or
/// option and what is wrong.
struct CommandFailure: Error, CustomStringConvertible {
  let description: String

  init(_ description: String) { self.description = description }
  init(_ error: some Error) { self.description = String(describing: error) }
}

/// Runs `body`, turning any library error into a ``CommandFailure``.
func reporting<T>(_ body: () throws -> T) throws(CommandFailure) -> T {
  do { return try body() } catch let failure as CommandFailure { throw failure } catch {
    throw CommandFailure(error)
  }
}

/// Writes `text` to standard error, unbuffered.
func writeStandardError(_ text: String) {
  if Ranks.shows(text) { _ = writeAll(Ranks.named(text), to: 2) }
}

/// Writes `text` to standard output, unbuffered. Output that cannot be
/// written (a full disk, a closed file) ends the command with one line on
/// standard error and exit status 1: what was asked for was not delivered.
func writeStandardOutput(_ text: String) {
  guard Ranks.group.isLeader else { return }
  if let failure = writeAll(text, to: 1) {
    writeStandardError("backprop: error: standard output: cannot write: \(failure)\n")
    terminate(1)
  }
}

/// Writes all of `text`; the reason when it could not.
private func writeAll(_ text: String, to descriptor: Int32) -> String? {
  var bytes = Array(text.utf8)
  var offset = 0
  while offset < bytes.count {
    let written = bytes.withUnsafeMutableBytes { write(descriptor, $0.baseAddress! + offset, $0.count - offset) }
    if written < 0 && errno == EINTR { continue }
    guard written > 0 else { return written < 0 ? String(cString: strerror(errno)) : "nothing was written" }
    offset += written
  }
  return nil
}

/// Ends the process with `status` (the C library's `exit`, which the command's
/// own static `exit(withError:)` would otherwise shadow).
func terminate(_ status: Int32) -> Never {
  // A rank that fails takes the others down with it: none is left waiting.
  if status != 0 && Ranks.group.isDistributed {
    Interruption.silence()
    Ranks.group.abort(status: status)
  }
  #if canImport(Glibc)
    Glibc.exit(status)
  #else
    Darwin.exit(status)
  #endif
}
