import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// A user's first hour on data of their own (part 8): what the commands
/// report must describe what they saved, and say what they leave out.
@Suite struct FirstHourTests {
  /// A 3-class problem whose columns have different scales, as CSV.
  static func threeClassCSV(in scratch: ScratchFolder, rows: Int = 300) -> String {
    var data = TestData(seed: 8)
    var text = "width,height,weight,age,label\n"
    for _ in 0..<rows {
      let x = data.uniform(4)
      let label = x[0] + x[1] > 0.3 ? 2 : x[2] > 0 ? 1 : 0
      let shifted: Double = 0.3 * Double(label)
      let scaled: [Double] = [x[0], 10 * x[1] + shifted, 100 * x[2], 0.01 * x[3]]
      text += scaled.map { String($0) }.joined(separator: ",") + ",\(label)\n"
    }
    let path = scratch.file("three.csv")
    try! text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// Early stopping keeps the best epoch's weights: the summary's train and
  /// validation figures are that epoch's, and the validation figures are
  /// what the saved weights score on the same split.
  @Test func theSummaryDescribesTheKeptWeights() throws {
    let scratch = ScratchFolder()
    let data = Self.threeClassCSV(in: scratch)
    let weights = scratch.file("w.safetensors")
    let metrics = scratch.file("m.jsonl")
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--scale", "standard", "--validation-split", "0.3",
      "--early-stopping", "3", "--epochs", "400", "--lr", "0.5", "--save", weights, "--metrics", metrics, "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let summary = try run.json()
    let best = try #require(summary["best_epoch"]?.integerValue)
    let epochs = try #require(summary["epochs"]?.integerValue)
    #expect(best < epochs, "early stopping should have ended the run after a worse epoch")
    let lines = try String(contentsOfFile: metrics, encoding: .utf8).split(separator: "\n")
      .map { try JSONValue.parse(Array($0.utf8)) }
    let kept = try #require(lines.first { $0["epoch"]?.integerValue == best })
    let last = try #require(lines.last)
    #expect(summary["train_loss"] == kept["train_loss"])
    let valLoss = try #require(summary["val_loss"]?.doubleValue)
    #expect(abs(valLoss - (kept["val_loss"]?.doubleValue ?? 0)) <= 1e-9 * valLoss)
    #expect(valLoss != last["val_loss"]?.doubleValue)
    #expect(summary["steps"] == last["steps"])

    // The saved weights on the same split (the session's seeded split).
    var settings = SessionOptions()
    settings.data = data
    settings.model = "4-16-relu-3"
    settings.validationSplit = 0.3
    settings.scaling = .standard  // fitted on the same training split: the split is scaled as in the run
    let validation = try #require(try TrainingSession(settings, threads: 1).validation)
    let scored = try Model.load(from: weights).evaluate(validation)
    #expect(abs(scored.loss - valLoss) <= 1e-6 * valLoss)
    #expect(scored.accuracy == summary["val_accuracy"]?.doubleValue)

    // Epoch lines are thinned on long runs, and the run says so.
    #expect(run.errors.contains("showing every 20th epoch's line and the last"), "\(run.errors)")
    let text = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--scale", "standard", "--validation-split", "0.3",
      "--early-stopping", "3", "--epochs", "400", "--lr", "0.5",
    ])
    #expect(text.output.contains("kept the weights of epoch \(best)"), "\(text.output)")
  }

  /// Model-spec pitfalls are warned about, naming the widths or the layer.
  @Test func aModelThatDoesNotFitItsLabelsIsWarnedAbout() throws {
    let scratch = ScratchFolder()
    let data = Self.threeClassCSV(in: scratch)
    let wide = try CommandRun(["train", "--data", data, "--model", "4-16-relu", "--scale", "standard", "--epochs", "1"])
    #expect(wide.status == 0, "\(wide.errors)")
    #expect(
      wide.errors.contains(
        "backprop: warning: --model: 4-16-relu has 16 outputs but the labels of \(data) have 3 classes (0-2)"),
      "\(wide.errors)")
    let after = try CommandRun([
      "cv", "--data", data, "--model", "4-16-relu-3-relu", "--scale", "standard", "--epochs", "1", "--folds", "2",
    ])
    #expect(after.status == 0, "\(after.errors)")
    #expect(
      after.errors.contains(
        "backprop: warning: --model: 'relu' after the output layer of 4-16-relu-3-relu: cross-entropy applies softmax itself"
      ), "\(after.errors)")
    let fine = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--scale", "standard", "--epochs", "1",
    ])
    #expect(fine.status == 0 && !fine.errors.contains("warning"), "\(fine.errors)")
  }

  /// A run cut short by --steps says how much of an epoch it made.
  @Test func stepsAreReportedAsTheShareOfAnEpochTheyMake() throws {
    let scratch = ScratchFolder()
    let data = Self.threeClassCSV(in: scratch)  // 300 samples: 10 steps of 32 an epoch
    let text = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--scale", "standard", "--steps", "3",
    ])
    #expect(text.status == 0, "\(text.errors)")
    #expect(text.output.hasPrefix("trained 3 steps (0.30 epochs)"), "\(text.output)")
    let json = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--scale", "standard", "--steps", "25", "--json",
    ])
    #expect(try json.json()["epochs_trained"]?.doubleValue == 2.5)
    #expect(try json.json()["steps"] == .integer(25))
  }

  /// `help` for a command that does not exist is an error naming the commands.
  @Test func helpForAnUnknownCommandIsAnError() throws {
    let run = try CommandRun(["help", "bogus"])
    #expect(run.status == 64)
    #expect(
      run.errors
        == "backprop: error: help: there is no command 'bogus' (commands: train, evaluate, predict, scale, cv, search, topology)\n"
    )
    #expect(try CommandRun(["help", "train"]).status == 0)
  }

  /// A data name that is neither a file nor a named set lists the named sets.
  @Test func anUnknownDataNameListsTheNamedSets() throws {
    let run = try CommandRun(["train", "--data", "fashion", "--model", "784-10"])
    #expect(run.status == 1)
    #expect(
      run.errors
        == "backprop: error: --data: 'fashion' is not a file, nor one of the named sets (fashion-mnist, xor)\n",
      "\(run.errors)")
  }

  /// `--quiet` leaves out the progress line on a terminal too (run under
  /// `script`, which gives the command a pseudo-terminal).
  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/script"), "no script(1) for a terminal"))
  func quietLeavesOutTheProgressLine() throws {
    let scratch = ScratchFolder()
    let data = Self.threeClassCSV(in: scratch)
    func onTerminal(_ extra: String) throws -> String {
      let command =
        "\(CommandRun.binary) train --data \(data) --model 4-16-relu-3 --scale standard --epochs 3000 \(extra)"
      let run = try CommandRun(["-qec", command, "/dev/null"], executable: "/usr/bin/script")
      #expect(run.status == 0, "\(run.errors)")
      return run.output
    }
    #expect(try onTerminal("").contains("  batch "))
    let quiet = try onTerminal("--quiet")
    #expect(!quiet.contains("  batch "), "\(quiet)")
    #expect(quiet.contains("trained 3000 epoch(s)"))
  }
}
