import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// A user's first hour on data of their own (part 8): what the commands
/// report must describe what they saved, and say what they leave out.
@Suite struct FirstHourTests {
  /// A 3-class problem whose columns have different scales, as CSV
  /// (``FirstHourDataTests/rows(_:seed:)`` with numeric labels).
  static func threeClassCSV(in scratch: ScratchFolder, rows: Int = 300) -> String {
    let path = scratch.file("three.csv")
    FirstHourDataTests.csv(
      FirstHourDataTests.rows(rows), columns: ["width", "height", "weight", "age", "label"], to: path)
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

    // The same from a .npy pair (the warning names the labels file), and
    // with text labels (it names the classes).
    let rows = FirstHourDataTests.rows()
    let (x, y) = (scratch.file("x.npy"), scratch.file("y.npy"))
    FirstHourDataTests.npy(
      rows.flatMap { row in ["width", "height", "weight", "age"].map { Float(row.values[$0]!) } },
      shape: [rows.count, 4], to: x)
    FirstHourDataTests.npy(rows.map { Float($0.label) }, shape: [rows.count], to: y)
    let fromNPY = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-5", "--scale", "standard", "--epochs", "1",
    ])
    #expect(
      fromNPY.errors.contains("4-5 has 5 outputs but the labels of \(y) have 3 classes (0-2)"), "\(fromNPY.errors)")
    let named = scratch.file("named.csv")
    FirstHourDataTests.csv(rows, columns: ["width", "height", "weight", "age", "species"], to: named)
    let byName = try CommandRun([
      "train", "--data", named, "--label-column", "species", "--model", "4-4", "--scale", "standard", "--epochs", "1",
    ])
    #expect(
      byName.errors.contains("have 3 classes (setosa, versicolor, virginica)"), "\(byName.errors)")
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
        == "backprop: error: help: there is no command 'bogus' (commands: train, evaluate, predict, scale, cv, search, summary, export, topology)\n"
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

  /// `--output` follows one rule in scale, cv and search: the extension
  /// chooses the format, a bare base name gets both, nothing is written
  /// without it, and the files written are named.
  @Test func outputMeansTheSameInEveryCommand() throws {
    let scratch = ScratchFolder()
    let data = Self.threeClassCSV(in: scratch)
    let (work, out) = (scratch.file("work"), scratch.file("out"))
    for folder in [work, out] {
      try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }
    let train = ["--data", data, "--model", "4-8-relu-3", "--scale", "standard", "--batch-size", "16"]
    let scale = ["scale"] + train + ["--threads", "1", "--warm-up", "1", "--measure", "2", "--repeats", "1"]
    let cv = ["cv"] + train + ["--folds", "2", "--epochs", "1"]
    let search = ["search"] + train + ["--grid", "lr=0.1,0.2", "--folds", "2", "--epochs", "1"]

    for command in [scale, cv, search] {
      let none = try CommandRun(command, in: work)
      #expect(none.status == 0, "\(none.errors)")
      #expect(try FileManager.default.contentsOfDirectory(atPath: work).isEmpty, "\(command[0]) wrote a file unasked")

      let csv = try CommandRun(command + ["--output", "\(out)/\(command[0]).csv"])
      #expect(csv.errors.contains("wrote \(out)/\(command[0]).csv\n"), "\(csv.errors)")
      let json = try CommandRun(command + ["--output", "\(out)/\(command[0]).json"])
      #expect(json.status == 0, "\(json.errors)")
      let parsed = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: "\(out)/\(command[0]).json"))))
      guard case .object = parsed else {
        Issue.record("\(command[0]) --output x.json did not write a JSON object")
        continue
      }
      let both = try CommandRun(command + ["--output", "\(out)/\(command[0])-both"])
      #expect(both.errors.contains("wrote \(out)/\(command[0])-both.csv\nwrote \(out)/\(command[0])-both.json\n"))
      let header = try String(contentsOfFile: "\(out)/\(command[0])-both.csv", encoding: .utf8).prefix(1)
      #expect(header != "{", "the CSV file holds CSV")
    }
  }

  /// Each command's help lists only the options it takes, shows defaults
  /// (integers as integers) and required options as required, and has
  /// copyable examples.
  @Test func helpMatchesWhatEachCommandDoes() throws {
    func help(_ command: String) throws -> String {
      let run = try CommandRun(["help", command])
      #expect(run.status == 0, "\(run.errors)")
      return run.output
    }
    for command in ["train", "evaluate", "predict", "scale", "cv", "search", "topology"] {
      #expect(try help(command).contains("Examples:\n  backprop \(command)"), "\(command)")
    }
    /// The options a help text lists, by the names that start its lines.
    func options(_ text: String) -> [String] {
      text.split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }.filter { $0.hasPrefix("--") }
    }
    let cv = options(try help("cv"))
    for refused in ["--validation-split", "--test-data", "--test-labels", "--init "] {
      #expect(!cv.contains { $0.hasPrefix(refused) }, "cv lists \(refused)")
    }
    let scale = options(try help("scale"))
    for ignored in ["--epochs", "--steps", "--early-stopping", "--test-data"] {
      #expect(!scale.contains { $0.hasPrefix(ignored) }, "scale lists \(ignored)")
    }
    let train = try help("train")
    #expect(!train.contains("1000000.0"))
    // Each option's entry: from its name to the next option's.
    let flat = train.components(separatedBy: "OPTIONS:").last!.split(separator: "\n")
      .map { $0.trimmingCharacters(in: .whitespaces) }.joined(separator: " ")
    let entries = flat.components(separatedBy: " --")
    #expect(entries.contains { $0.hasPrefix("min-work-per-thread ") && $0.contains("(default: 1000000)") })
    for option in ["optimizer", "momentum", "epochs", "batch-size", "lr", "seed"] {
      let entry = try #require(entries.first { $0.hasPrefix(option + " <") }, "\(option)")
      #expect(entry.contains("default"), "\(option): \(entry)")
    }
    let search = try help("search").split(separator: "\n").joined(separator: " ")
    #expect(search.contains("--metric") && search.contains("(default for classification)"))
    #expect(try help("evaluate").contains("USAGE: backprop evaluate --weights <file> --data <name|file>"))
    #expect(try help("predict").contains("USAGE: backprop predict --weights <file> --data <name|file> --output"))
  }

  /// An option a command does not have gets the nearest it has, or the
  /// commands that take it; a mismatched --model names the file's model.
  @Test func messagesPointToWhatWasMeant() throws {
    var cases: [([String], String)] = [
      (["train", "--data", "xor", "--learning-rate", "0.1"], "Unknown option '--learning-rate' (did you mean --lr?)"),
      (["train", "--data", "xor", "--batch_size", "8"], "Unknown option '--batch_size' (did you mean --batch-size?)"),
      (["train", "--data", "xor", "--patience", "3"], "Unknown option '--patience' (did you mean --early-stopping?)"),
      (
        ["cv", "--data", "xor", "--model", "2-2-1", "--validation-split", "0.2"],
        "Unknown option '--validation-split' (it is an option of train, not of cv)"
      ),
    ]
    cases.append(
      (
        ["search", "--data", "xor", "--model", "2-2-1", "--grid", "lr=0.1", "--test-data", "t.csv"],
        "--test-data: needs --refit (the trials are scored on validation folds, never on test data)"
      ))
    for (arguments, expected) in cases {
      let run = try CommandRun(arguments)
      #expect(run.status == 64)
      #expect(run.errors == "backprop: error: \(expected)\n", "\(arguments)")
    }
    let scratch = ScratchFolder()
    let weights = scratch.file("xor.safetensors")
    let trained = try CommandRun([
      "train", "--data", "xor", "--model", "2-4-tanh-1", "--epochs", "1", "--save", weights,
    ])
    #expect(trained.status == 0, "\(trained.errors)")
    let mismatched = try CommandRun(["evaluate", "--weights", weights, "--model", "2-8-tanh-1", "--data", "xor"])
    #expect(mismatched.status == 1)
    #expect(mismatched.errors.hasSuffix("; the file holds model 2-4-tanh-1\n"), "\(mismatched.errors)")
  }

  /// A scaling study warns when its figures cannot be trusted: a busy
  /// machine, or a Karp–Flatt serial fraction above 1.
  @Test func scalingFiguresFromABusyMachineAreWarnedAbout() {
    func measurement(_ threads: Int, _ rate: Double) -> ScalingMeasurement {
      ScalingMeasurement(threads: threads, pinning: .compact, samplesPerSecond: rate, profile: StepProfile(), mode: "")
    }
    let one = measurement(1, 1000)
    let table = ScalingTable(
      rows: [ScalingRow(one, baseline: one), ScalingRow(measurement(2, 400), baseline: one)], model: "2-1", batchSize: 4
    )
    // 400 samples/s on two threads against 1000 on one: speedup 0.4, serial fraction (1/0.4 − 1/2)/(1/2) = 4.
    let warnings = table.warnings(loadAverage: 3.2, cores: 4)
    #expect(warnings.count == 2, "\(warnings)")
    #expect(warnings.first?.hasPrefix("the machine was busy: a load average of 3.20 with 4 core(s)") == true)
    #expect(
      warnings.last?.hasPrefix("Karp-Flatt's serial fraction at 2 thread(s) (compact, unit-slices) is 4.00, above 1")
        == true)
    let idle = ScalingTable(
      rows: [ScalingRow(one, baseline: one), ScalingRow(measurement(2, 1900), baseline: one)], model: "2-1",
      batchSize: 4)
    #expect(idle.warnings(loadAverage: 0.3, cores: 4).isEmpty)
  }

  /// Search gives numbers as numbers and a refit without test data says
  /// so; cv says how its folds actually ran.
  @Test func summariesSayWhatHappened() throws {
    let scratch = ScratchFolder()
    let data = Self.threeClassCSV(in: scratch)
    let train = ["--data", data, "--model", "4-8-relu-3", "--scale", "standard", "--batch-size", "16", "--epochs", "1"]
    let search = try CommandRun(
      ["search"] + train + ["--grid", "lr=0.1,0.2 optimizer=sgd", "--folds", "2", "--refit", "--json"])
    #expect(search.status == 0, "\(search.errors)")
    let board = try search.json()
    guard case .array(let trials)? = board["trials"] else { Issue.record("no trials"); return }
    let setting = trials.first?["setting"]
    #expect(setting?["lr"]?.doubleValue != nil && setting?["lr"]?.stringValue == nil)
    #expect(setting?["optimizer"]?.stringValue == "sgd")
    #expect(board["refit"]?["test_accuracy"] == .null)
    let text = try CommandRun(["search"] + train + ["--grid", "lr=0.1,0.2", "--folds", "2", "--refit"])
    #expect(
      text.output.contains("on all the training data (no test data to score it on: give --test-data"), "\(text.output)")
    #expect(!text.output.contains("test accuracy -"))

    let cv = try CommandRun(["cv"] + train + ["--folds", "3"])
    #expect(cv.status == 0, "\(cv.errors)")
    let last = cv.output.split(separator: "\n").last.map(String.init) ?? ""
    #expect(last.hasPrefix("ran 3 fold(s), at most "), "\(last)")
    #expect(last.contains(" worker(s) each (of ") && last.contains(", on CPUs "), "\(last)")
    let json = try CommandRun(["cv"] + train + ["--folds", "3", "--json"]).json()
    let most = try #require(json["most_folds_at_once"]?.integerValue)
    #expect(most >= 1 && most <= 3)
  }
}
