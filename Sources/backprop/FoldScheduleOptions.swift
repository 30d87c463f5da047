import ArgumentParser
import Backprop

/// How `cv` and `search` make and schedule folds: stratification, folds side
/// by side, threads and placement of each.
struct FoldScheduleOptions: ParsableArguments {
  @Flag(inversion: .prefixedNo, help: "Keep each class's share in every fold (default for classification).")
  var stratified = true
  @Option(help: "Folds run side by side (each on its own cores), or auto to choose from the model and the cores.")
  var parallelFolds: String = "auto"
  @Option(
    name: .customLong("threads"), parsing: .unconditional,
    help: "Worker threads of each fold (default: chosen with the plan).")
  var threadsPerFold: Int?
  @Option(help: "Worker placement inside each fold's cores: compact, spread or none.")
  var pin: PinningPolicy = .compact

  /// The folds side by side asked for; `nil` for `auto`.
  var parallel: Int? { Int(parallelFolds) }

  func validate() throws {
    if parallelFolds != "auto" && (Int(parallelFolds) ?? 0) < 1 {
      throw ValidationError("--parallel-folds must be a positive number or auto, got '\(parallelFolds)'")
    }
    if let threadsPerFold, threadsPerFold < 1 {
      throw ValidationError("--threads must be at least 1, got \(threadsPerFold)")
    }
    if let threadsPerFold { try Threads.check(threadsPerFold) }
  }
}
