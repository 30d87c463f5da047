import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// `--tensorboard`: event files that TensorBoard's own reader
/// (`EventAccumulator`, through `tools/read_tensorboard.py`) reads back with
/// the tags, steps and values of `--metrics`.
@Suite struct TensorBoardTests {
  /// CRC-32C's check value (RFC 3720's, and every implementation's).
  @Test func crc32cHasItsCheckValue() {
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
  }

  /// The scalars of a run folder, as TensorBoard reads them: tag → [(step, value)].
  static func scalars(_ folder: String) throws -> [String: [(step: Int, value: Double)]] {
    let run = try TestPython.run("read_tensorboard.py", [folder])
    #expect(run.status == 0, "\(run.errors)")
    guard case .object(let members) = try JSONValue.parse(Array(run.output.utf8)) else { return [:] }
    var scalars: [String: [(step: Int, value: Double)]] = [:]
    for (tag, points) in members {
      scalars[tag] = (points.arrayValue ?? []).map { point in
        let pair = point.arrayValue ?? []
        return (pair.first?.integerValue ?? -1, pair.last?.doubleValue ?? .nan)
      }
    }
    return scalars
  }

  /// `--metrics` lines as objects.
  static func metrics(_ path: String) throws -> [JSONValue] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { try JSONValue.parse(Array($0.utf8)) }
  }

  /// Every epoch's scalars equal its `--metrics` line at the epoch's last step.
  static func expectEpochs(_ scalars: [String: [(step: Int, value: Double)]], match lines: [JSONValue]) {
    for (tag, key) in [
      ("epoch/train_loss", "train_loss"), ("epoch/train_accuracy", "train_accuracy"), ("epoch/val_loss", "val_loss"),
      ("epoch/val_accuracy", "val_accuracy"), ("epoch/learning_rate", "learning_rate"), ("epoch", "epoch"),
    ] {
      let points = scalars[tag] ?? []
      #expect(points.map(\.step) == lines.compactMap { $0["steps"]?.integerValue }, "\(tag) steps")
      for (point, line) in zip(points, lines) {
        let expected = line[key]?.doubleValue ?? .nan
        #expect(abs(point.value - expected) <= 1e-6 * max(1, abs(expected)), "\(tag) at \(point.step)")
      }
    }
  }

  @Test(.enabled(if: TestPython.available, "no Python with tensorboard (tools/test-venv.sh)"))
  func trainLogsWhatMetricsRecords() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 200)
    let folder = scratch.file("runs/first")
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--epochs", "4", "--batch-size", "16", "--validation-split",
      "0.2", "--tensorboard", folder, "--tensorboard-every", "3", "--metrics", scratch.file("m.jsonl"), "--quiet",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let scalars = try Self.scalars(folder)
    let lines = try Self.metrics(scratch.file("m.jsonl"))
    #expect(lines.count == 4)
    Self.expectEpochs(scalars, match: lines)
    #expect(scalars["epoch/samples_per_second"]?.count == 4)
    // 160 training rows in batches of 16: 10 steps an epoch, 40 in all; a point every 3 steps.
    #expect(scalars["step/train_loss"]?.map(\.step) == Array(stride(from: 3, through: 40, by: 3)))
  }

  /// A run resumed from a checkpoint older than its log's end logs each step
  /// once: what the first run logged past the checkpoint is replaced.
  @Test(.enabled(if: TestPython.available, "no Python with tensorboard (tools/test-venv.sh)"))
  func aResumedRunAppendsWithoutDuplicatingSteps() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 200)
    let folder = scratch.file("run")
    let checkpoint = scratch.file("c.safetensors")
    let common = ["--validation-split", "0.2", "--batch-size", "16", "--tensorboard", folder, "--quiet"]
    let first = try CommandRun(
      [
        "train", "--data", data, "--model", "4-16-relu-3", "--epochs", "5", "--checkpoint", checkpoint,
        "--keep-checkpoints", "3", "--metrics", scratch.file("first.jsonl"),
      ] + common)
    #expect(first.status == 0, "\(first.errors)")
    // The checkpoint of epoch 3 (step 30), as if the run had crashed after logging epochs 4 and 5.
    let older = scratch.file("c.step-000000030.safetensors")
    #expect(FileManager.default.fileExists(atPath: older))
    let resumed = try CommandRun(
      [
        "train", "--resume", older, "--epochs", "6", "--checkpoint", scratch.file("d.safetensors"), "--metrics",
        scratch.file("resumed.jsonl"),
      ] + common)
    #expect(resumed.status == 0, "\(resumed.errors)")
    let scalars = try Self.scalars(folder)
    // Epochs 1–3 of the first run, then 4–6 of the resumed one, each once.
    let lines =
      try Array(Self.metrics(scratch.file("first.jsonl")).prefix(3))
      + Self.metrics(scratch.file("resumed.jsonl")).suffix(3)
    Self.expectEpochs(scalars, match: lines)
    #expect(scalars["epoch"]?.map(\.value) == [1, 2, 3, 4, 5, 6])
    #expect(FilePath.names(inFolder: folder).filter { $0.hasPrefix("events.out.tfevents.") }.count == 2)
  }

  /// A file cut in the middle of a record (a crash, a full disk) still gives
  /// TensorBoard every complete record before the cut.
  @Test(.enabled(if: TestPython.available, "no Python with tensorboard (tools/test-venv.sh)"))
  func aFileCutInARecordKeepsTheCompleteOnes() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 100)
    let folder = scratch.file("run")
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-8-relu-3", "--epochs", "3", "--validation-split", "0.2",
      "--tensorboard", folder, "--quiet",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let name = try #require(FilePath.names(inFolder: folder).first)
    let path = folder + "/" + name
    let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
    // The last record is epoch 3's: cut it in half.
    let lastRecord = Self.recordStarts(Array(bytes)).last!
    try bytes.prefix(lastRecord + (bytes.count - lastRecord) / 2).write(to: URL(fileURLWithPath: path))
    let scalars = try Self.scalars(folder)
    #expect(scalars["epoch"]?.map(\.value) == [1, 2])
    #expect(scalars["epoch/val_loss"]?.count == 2)
  }

  /// Where each TFRecord frame starts: a length (8 bytes), its checksum (4),
  /// the event, its checksum (4).
  static func recordStarts(_ bytes: [UInt8]) -> [Int] {
    var starts: [Int] = []
    var offset = 0
    while offset + 12 <= bytes.count {
      starts.append(offset)
      let length = bytes[offset..<(offset + 8)].reversed().reduce(0) { $0 << 8 | Int($1) }
      offset += 12 + length + 4
    }
    return starts
  }

  /// `cv` writes a run per fold and `search` one per trial and fold, named
  /// so that TensorBoard's run selector sorts and tells them apart.
  @Test(.enabled(if: TestPython.available, "no Python with tensorboard (tools/test-venv.sh)"))
  func crossValidationAndSearchWriteARunPerFold() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 120)
    let cv = try CommandRun([
      "cv", "--data", data, "--model", "4-8-relu-3", "--folds", "3", "--epochs", "2", "--tensorboard",
      scratch.file("cv"),
    ])
    #expect(cv.status == 0, "\(cv.errors)")
    #expect(FilePath.names(inFolder: scratch.file("cv")).sorted() == ["fold-1", "fold-2", "fold-3"])
    for fold in 1...3 { #expect(try Self.scalars(scratch.file("cv/fold-\(fold)"))["epoch/val_loss"]?.count == 2) }
    let search = try CommandRun([
      "search", "--data", data, "--model", "4-{hidden}-relu-3", "--grid", "lr=0.1 hidden=4,8", "--folds", "2",
      "--epochs", "2", "--tensorboard", scratch.file("search"),
    ])
    #expect(search.status == 0, "\(search.errors)")
    #expect(
      FilePath.names(inFolder: scratch.file("search")).sorted() == [
        "trial-1_lr=0.1_hidden=4", "trial-2_lr=0.1_hidden=8",
      ])
    #expect(try Self.scalars(scratch.file("search/trial-2_lr=0.1_hidden=8/fold-2"))["epoch/train_loss"]?.count == 2)
  }

  @Test func aTensorBoardPathThatIsAFileIsOneLine() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let file = scratch.file("notes.txt")
    try "keep me\n".write(toFile: file, atomically: true, encoding: .utf8)
    for command in ["train", "cv"] {
      let run = try CommandRun([command, "--data", data, "--model", "4-3", "--tensorboard", file])
      #expect(run.status != 0)
      #expect(
        run.errors
          == "backprop: error: --tensorboard: \(file): is a file, not a folder (TensorBoard logs go into a folder)\n")
    }
    #expect(try String(contentsOfFile: file, encoding: .utf8) == "keep me\n")
    let every = try CommandRun(["train", "--data", data, "--model", "4-3", "--tensorboard-every", "5"])
    #expect(
      every.status != 0 && every.errors.contains("--tensorboard-every: needs --tensorboard DIR"), "\(every.errors)")
  }
}
