import ArgumentParser
import Backprop

/// Limits a run holds itself to: shared by every command that trains or scores.
struct ResourceOptions: ParsableArguments {
  @Option(
    help: ArgumentHelp(
      "The most memory the run may take, such as 8G or 500M; a model or file that needs more is refused before it is allocated.",
      discussion: "Without it, the memory available to the process (MemAvailable, its cgroup, ulimit -v) is the limit."
    ))
  var maxMemory: String?

  func validate() throws {
    guard let maxMemory else { return }
    guard let bytes = MemoryBudget.parse(maxMemory) else {
      throw ValidationError("--max-memory '\(maxMemory)' is not a size such as 8G, 512M or 1000000")
    }
    // Set while parsing, so that it holds before the command's first allocation.
    MemoryBudget.limit = bytes
  }
}
