import ArgumentParser
import Backprop

/// `--threads N`, shared by `train`, `evaluate`, `predict` and `topology`.
struct ThreadOptions: ParsableArguments {
  @Option(
    name: .customLong("threads"), parsing: .unconditional,
    help: "Worker threads (default: the number of allowed physical cores).")
  var requested: Int?

  /// The thread count to use: the one asked for, or the allowed physical cores.
  var count: Int { requested ?? Topology.shared.allowedCores }

  func validate() throws {
    if let requested, requested < 1 { throw ValidationError("--threads must be at least 1, got \(requested)") }
    if let requested { try Threads.check(requested) }
  }
}
