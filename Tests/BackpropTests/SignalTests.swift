import Backprop
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Part 6, item 13: every command stops cleanly on SIGINT and SIGTERM.
@Suite(.serialized) struct SignalTests {
  /// A child that runs long enough to be signalled.
  static func start(_ arguments: [String]) throws -> CheckpointCommandTests.Child {
    try CheckpointCommandTests.Child(arguments)
  }

  @Test func crossValidationReportsTheFoldsFinishedSoFar() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 90)
    let output = scratch.file("folds.csv")
    let child = try Self.start([
      "cv", "--data", data, "--model", "4-16-relu-3", "--folds", "3", "--parallel-folds", "1", "--threads", "1",
      "--batch-size", "4", "--epochs", "40000", "--output", output,
    ])
    usleep(1_500_000)
    child.send(SIGINT)
    let result = child.finish()
    #expect(result.status == 130, "\(result.errors)")
    #expect(child.process.terminationReason == .exit, "ended by its own exit, not the default action")
    let last = result.errors.split(separator: "\n").last.map(String.init) ?? ""
    #expect(last.hasPrefix("backprop: interrupted by SIGINT: ") && last.contains(" of 3 fold(s) finished"), "\(last)")
    let finished = Int(last.split(separator: " ")[4]) ?? -1
    // The CSV holds a header and one row per finished fold.
    let rows = try String(contentsOfFile: output, encoding: .utf8).split(separator: "\n")
    #expect(rows.count == finished + 1)
  }

  @Test func searchReportsTheTrialsFinishedSoFar() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 90)
    let output = scratch.file("board.json")
    let child = try Self.start([
      "search", "--data", data, "--model", "4-{h}-relu-3", "--grid", "h=4,8,16", "--holdout", "0.3",
      "--parallel-folds", "1", "--threads", "1", "--batch-size", "4", "--epochs", "200000", "--output", output,
    ])
    usleep(1_500_000)
    child.send(SIGTERM)
    let result = child.finish()
    #expect(result.status == 143, "\(result.errors)")
    #expect(child.process.terminationReason == .exit)
    #expect(result.errors.contains("backprop: interrupted by SIGTERM: "), "\(result.errors)")
    let board = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: output))))
    guard case .array(let trials)? = board["trials"] else {
      Issue.record("no trials in \(board.serialized())")
      return
    }
    #expect(result.errors.contains(": \(trials.count) of 3 trial(s) finished"), "\(result.errors)")
  }

  @Test func aSecondSignalExitsAtOnceWithOneLine() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 360)
    // Steps of about half a second (36 GFLOP), so the run is still stopping
    // when the second signal comes.
    let child = try Self.start([
      "train", "--data", data, "--model", "4-4096-relu-4096-relu-3", "--epochs", "1000", "--threads", "1",
      "--batch-size", "360",
    ])
    usleep(800_000)
    child.send(SIGINT)
    usleep(5_000)
    child.send(SIGINT)
    let result = child.finish()
    #expect(result.status == 130)
    #expect(result.errors.contains("backprop: second SIGINT: exiting at once"), "\(result.errors)")
  }

  /// A signal soon after start meets the handler, not the default action, in
  /// a command without a clean stop of its own too.
  @Test(arguments: [["train", "--data", "xor", "--model", "2-8-tanh-1", "--epochs", "100000000"], ["topology"]])
  func handlersAreInstalledFirst(arguments: [String]) throws {
    for _ in 0..<5 {
      let child = try Self.start(arguments)
      usleep(40_000)
      guard child.process.isRunning else { continue }  // topology may be done already
      child.send(SIGTERM)
      let result = child.finish()
      // Ended on its own before the signal came (it had exited, not yet been reaped).
      if arguments == ["topology"] && result.status == 0 && child.process.terminationReason == .exit { continue }
      #expect(result.status == 143)
      #expect(child.process.terminationReason == .exit, "\(result.errors)")
      #expect(result.errors.contains("interrupted by SIGTERM"), "\(result.errors)")
    }
  }
}
