import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// The two gradient strategies on the command line: `--gradients`, what
/// `auto` chooses and says, checkpoints that keep the strategy, and `scale`
/// measuring both.
@Suite struct GradientStrategyTests {
  /// `auto` picks all-reduce where a worker would read fewer floats of
  /// gradient than of the other shards' activations, else unit slices, and
  /// one worker always runs unit slices.
  @Test func autoChoosesByWhatAWorkerReads() throws {
    let small = try ModelSpec(parsing: "784-256-relu-128-relu-10")
    // 235k parameters (with padding) against 128 rows × 1,562 widths = 200k.
    #expect(GradientStrategy.automatic(spec: small, batch: 128, workers: 2).0 == .unitSlices)
    #expect(GradientStrategy.automatic(spec: small, batch: 1024, workers: 2).0 == .allReduce)
    #expect(GradientStrategy.automatic(spec: small, batch: 1024, workers: 1).0 == .unitSlices)
    let (_, reason) = GradientStrategy.automatic(spec: small, batch: 1024, workers: 2)
    #expect(reason.hasPrefix("auto: a worker reads about "), "\(reason)")
    #expect(reason.contains("(1024 rows × 1562)"), "\(reason)")
  }

  @Test func theCommandLineNamesAndKeepsTheStrategy() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 90)
    let common = [
      "--data", data, "--model", "4-16-relu-3", "--batch-size", "8", "--threads", "2", "--min-work-per-thread", "0",
    ]
    let asked = try CommandRun(["train"] + common + ["--epochs", "2", "--gradients", "all-reduce", "--json"])
    #expect(asked.status == 0, "\(asked.errors)")
    #expect(try asked.json()["gradient_strategy"]?.stringValue == "all-reduce")
    let chosen = try CommandRun(["train"] + common + ["--epochs", "1", "--profile", "--quiet"])
    #expect(chosen.errors.contains("profile: gradients "), "\(chosen.errors)")
    #expect(chosen.errors.contains("(auto: a worker reads about "), "\(chosen.errors)")
    let bad = try CommandRun(["train"] + common + ["--gradients", "ring"])
    #expect(bad.status == 64)

    // A checkpoint records the strategy; --resume keeps it, and goes on to
    // the weights of an uninterrupted run.
    let checkpoint = scratch.file("c.safetensors")
    let first = try CommandRun(
      ["train"] + common + ["--epochs", "2", "--gradients", "all-reduce", "--checkpoint", checkpoint, "--quiet"])
    #expect(first.status == 0, "\(first.errors)")
    let resumed = try CommandRun(["train", "--resume", checkpoint, "--epochs", "4", "--json", "--quiet"])
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(try resumed.json()["gradient_strategy"]?.stringValue == "all-reduce")
    let whole = try CommandRun(["train"] + common + ["--epochs", "4", "--gradients", "all-reduce", "--json"])
    #expect(try resumed.json()["train_loss"] == whole.json()["train_loss"])
    // A plain run's checkpoint is not resumed as a reproducible one.
    let changed = try CommandRun(["train", "--resume", checkpoint, "--epochs", "5", "--reproducible"])
    #expect(changed.status == 1)
    #expect(
      changed.errors.contains(
        "differs from the checkpoint's in --reproducible: the checkpoint has false, this run true"),
      "\(changed.errors)")
  }

  @Test func scaleMeasuresEachStrategy() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 90)
    let run = try CommandRun([
      "scale", "--data", data, "--model", "4-16-relu-3", "--batch-size", "8", "--threads", "1,2", "--warm-up", "1",
      "--measure", "3", "--repeats", "1", "--min-work-per-thread", "0", "--gradients", "all-reduce,unit-slices",
      "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    guard case .array(let rows)? = try run.json()["rows"] else {
      Issue.record("no rows")
      return
    }
    #expect(
      rows.map { $0["gradients"]?.stringValue ?? "" } == ["all-reduce", "all-reduce", "unit-slices", "unit-slices"])
    #expect(rows.map { $0["threads"]?.integerValue ?? 0 } == [1, 2, 1, 2])
  }

  /// `--reproducible` saves byte-identical weights files at any thread count.
  @Test func reproducibleRunsSaveTheSameFileAtAnyThreadCount() throws {
    let scratch = ScratchFolder()
    // Batches of 128 (four logical shards) and a last one of 72.
    let data = CommandLineTests.csvData(in: scratch, rows: 200)
    var files: [Data] = []
    for threads in [1, 2, 3, 4, 7] {
      let path = scratch.file("w\(threads).safetensors")
      let run = try CommandRun([
        "train", "--data", data, "--model", "4-16-relu-dropout0.2-8-tanh-3", "--batch-size", "128", "--epochs", "3",
        "--optimizer", "adam", "--clip-grad-norm", "0.5", "--threads", String(threads), "--min-work-per-thread", "0",
        "--reproducible", "--save", path, "--json", "--quiet",
      ])
      #expect(run.status == 0, "\(run.errors)")
      #expect(try run.json()["reproducible"] == .bool(true))
      files.append(try Data(contentsOf: URL(fileURLWithPath: path)))
    }
    for (index, file) in files.enumerated().dropFirst() {
      #expect(file == files[0], "threads \([1, 2, 3, 4, 7][index]) saved other weights than 1 thread")
    }
    let refused = try CommandRun([
      "train", "--data", data, "--model", "4-3", "--reproducible", "--gradients", "unit-slices",
    ])
    #expect(refused.status == 1)
    #expect(refused.errors.hasPrefix("backprop: error: --reproducible: sums logical shards"), "\(refused.errors)")
  }
}
