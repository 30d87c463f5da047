import Backprop
import Foundation
import Testing
import _BackpropTestSupport

#if canImport(Glibc)
  import Glibc
#endif

/// `train --checkpoint/--resume` through the binary: signals, SIGKILL while
/// writing, divergence, refused resumes.
@Suite(.serialized) struct CheckpointCommandTests {
  /// A `backprop` child process whose output is collected at the end.
  final class Child {
    let process = Process()
    private let out = Pipe()
    private let err = Pipe()

    init(_ arguments: [String], executable: String = CommandRun.binary, environment: [String: String] = [:]) throws {
      process.executableURL = URL(fileURLWithPath: executable)
      process.arguments = arguments
      process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
      process.standardOutput = out
      process.standardError = err
      try process.run()
    }

    /// Waits until `path` exists (or the child ends, or 30 s pass).
    func waitForFile(_ path: String) {
      let deadline = Date().addingTimeInterval(30)
      while access(path, F_OK) != 0 && process.isRunning && Date() < deadline { usleep(2000) }
    }

    /// Sends `signal` to the child.
    func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    /// Waits for the end (killing the child after 60 s, so a test never
    /// hangs); the exit status (or 128 + the signal) and standard error.
    func finish() -> (status: Int32, errors: String) {
      let deadline = Date().addingTimeInterval(60)
      while process.isRunning && Date() < deadline { usleep(5000) }
      if process.isRunning {
        Issue.record("the child did not end within 60 s")
        kill(process.processIdentifier, SIGKILL)
      }
      _ = out.fileHandleForReading.readDataToEndOfFile()
      let errors = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      let status =
        process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
      return (status, errors)
    }
  }

  /// A run long enough to be interrupted: a checkpoint at every epoch end.
  static func longRun(data: String, checkpoint: String, extra: [String] = []) -> [String] {
    [
      "train", "--data", data, "--model", "4-16-relu-3", "--batch-size", "8", "--epochs", "1000000", "--quiet",
      "--checkpoint", checkpoint,
    ] + extra
  }

  @Test(arguments: [(SIGINT, Int32(130), "SIGINT"), (SIGTERM, Int32(143), "SIGTERM")])
  func firstSignalCheckpointsAndExits(signal: Int32, status: Int32, name: String) throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let child = try Child(Self.longRun(data: data, checkpoint: path))
    child.waitForFile(path)
    usleep(100_000)
    child.send(signal)
    let result = child.finish()
    #expect(result.status == status, "\(result.errors)")
    #expect(
      result.errors.contains("interrupted by \(name)") && result.errors.contains("--resume \(path)"), "\(result.errors)"
    )
    let checkpoint = try Checkpoint.read(path)
    #expect(checkpoint.position.steps > 0)
    // It resumes, and a run that was stopped mid-epoch picks up its batch.
    let resumed = try CommandRun([
      "train", "--resume", path, "--epochs", String(checkpoint.position.epoch + 1), "--json",
    ])
    #expect(resumed.status == 0, "\(resumed.errors)")
    #expect(try resumed.json()["epochs"]?.integerValue == checkpoint.position.epoch + 1)
  }

  @Test func aSecondSignalExitsAtOnceAndKeepsTheLastCheckpoint() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    // A checkpoint every step of a model of a few MB: the second signal lands while one is written.
    let child = try Child(
      Self.longRun(
        data: data, checkpoint: path, extra: ["--model", "4-700-relu-700-relu-3", "--checkpoint-every", "1"]))
    child.waitForFile(path)
    usleep(50_000)
    child.send(SIGINT)
    child.send(SIGINT)
    let result = child.finish()
    #expect(result.status == 130, "\(result.errors)")
    #expect(throws: Never.self) { _ = try Checkpoint.read(path) }
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test func sigkillWhileWritingCheckpointsAlwaysLeavesALoadableOne() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    var random = SeededGenerator(seed: 12)
    // A model of a few MB so that kills land inside writes too.
    let arguments = [
      "train", "--data", data, "--model", "4-700-relu-700-relu-3", "--batch-size", "8", "--epochs", "1000000",
      "--quiet", "--checkpoint", path, "--checkpoint-every", "1",
    ]
    for round in 0..<12 {
      let child = try Child(round == 0 ? arguments : ["train", "--resume", path, "--quiet", "--checkpoint-every", "1"])
      child.waitForFile(path)
      usleep(UInt32(random.nextIndex(below: 150_000)))
      child.send(SIGKILL)
      let result = child.finish()
      #expect(result.status == 128 + SIGKILL, "\(result.errors)")
      #expect(throws: Never.self, "round \(round)") { _ = try Checkpoint.read(path) }
    }
    // A run that goes on clears the temporary files the killed ones left.
    let epoch = try Checkpoint.read(path).position.epoch
    let last = try CommandRun(["train", "--resume", path, "--quiet", "--epochs", String(epoch + 1)])
    #expect(last.status == 0, "\(last.errors)")
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.contains(".tmp-") }
    #expect(leftovers.isEmpty, "\(leftovers)")
  }

  @Test func divergenceStopsAndKeepsThePreviousCheckpoint() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let saved = scratch.file("w.safetensors")
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--lr", "1e30", "--epochs", "50", "--checkpoint", path,
      "--checkpoint-every", "1", "--save", saved,
    ])
    #expect(run.status != 0)
    #expect(
      run.errors.contains("diverged") && run.errors.contains("learning rate") && run.errors.contains("is kept"),
      "\(run.errors)")
    let checkpoint = try Checkpoint.read(path)
    #expect(checkpoint.parameters.allSatisfy { $0.isFinite })
    #expect(access(saved, F_OK) != 0, "weights of a diverged run were saved")
    // Skipping instead drops such batches, but an epoch that skips most of
    // them ends the run as divergence does.
    let skipping = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--lr", "1e30", "--epochs", "3", "--on-nan", "skip-batch",
    ])
    #expect(skipping.status == 1, "\(skipping.errors)")
    #expect(
      skipping.errors.contains("training diverged: epoch ") && skipping.errors.contains(" skipped "),
      "\(skipping.errors)")
  }

  @Test func resumeRefusesOtherDataOrOptionsAndWarnsAboutThreads() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let first = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--epochs", "2", "--checkpoint", path, "--threads", "1",
      "--min-work-per-thread", "0",
    ])
    #expect(first.status == 0, "\(first.errors)")
    let otherLR = try CommandRun(["train", "--resume", path, "--lr", "0.5"])
    #expect(
      otherLR.status != 0 && otherLR.errors.contains("refused") && otherLR.errors.contains("learning rate"),
      "\(otherLR.errors)")
    let otherModel = try CommandRun(["train", "--resume", path, "--model", "4-8-relu-3"])
    #expect(otherModel.status != 0 && otherModel.errors.contains("model"), "\(otherModel.errors)")
    let threads = try CommandRun(["train", "--resume", path, "--epochs", "3", "--threads", "2"])
    #expect(threads.status == 0 && threads.errors.contains("differ in the last bits"), "\(threads.errors)")
    // The data file changes under the checkpoint.
    var text = try String(contentsOfFile: data, encoding: .utf8)
    text = text.replacingOccurrences(of: "\n0.", with: "\n0.9", options: [], range: text.range(of: "\n0."))
    try text.write(toFile: data, atomically: true, encoding: .utf8)
    let otherData = try CommandRun(["train", "--resume", path, "--epochs", "4"])
    #expect(otherData.status != 0 && otherData.errors.contains("data:"), "\(otherData.errors)")
    // Outputs that name the same file are refused before training.
    let same = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--save", path, "--checkpoint",
      scratch.path + "/./c.safetensors",
    ])
    #expect(same.status != 0 && same.errors.contains("is the same file as --save"), "\(same.errors)")
    // A weights file is not a checkpoint.
    let weights = scratch.file("w.safetensors")
    _ = try CommandRun(["train", "--data", data, "--model", "4-16-relu-3", "--epochs", "1", "--save", weights])
    let notCheckpoint = try CommandRun(["train", "--resume", weights])
    #expect(
      notCheckpoint.status != 0 && notCheckpoint.errors.contains("not a Backprop checkpoint"), "\(notCheckpoint.errors)"
    )
  }

  /// A checkpoint from before checkpoints kept typed options (its metadata
  /// holds the command line; made by tools/make_legacy_checkpoint.sh) resumes,
  /// and ends with the weights of a run that was never interrupted.
  @Test func checkpointsOfEarlierVersionsStillResume() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("legacy.safetensors")
    try FileManager.default.copyItem(atPath: Fixtures.path("legacy-checkpoint-xor.safetensors"), toPath: path)
    let legacy = try Checkpoint.read(path)
    #expect(legacy.metadata[CheckpointRotation.commandKey] != nil)
    #expect(legacy.metadata[CheckpointRotation.settingsKey] == nil)
    let resumed = try CommandRun([
      "train", "--resume", path, "--epochs", "30", "--threads", "1", "--save", scratch.file("resumed.safetensors"),
    ])
    #expect(resumed.status == 0, "\(resumed.errors)")
    let straight = try CommandRun([
      "train", "--data", "xor", "--model", "2-4-tanh-1", "--epochs", "30", "--threads", "1", "--save",
      scratch.file("straight.safetensors"),
    ])
    #expect(straight.status == 0, "\(straight.errors)")
    let a = try Model.load(from: scratch.file("resumed.safetensors")).parameters.array
    let b = try Model.load(from: scratch.file("straight.safetensors")).parameters.array
    #expect(a == b)
    // The resumed run's own checkpoint keeps typed options, which read back.
    let rewritten = try Checkpoint.read(path)
    let settings = try SessionOptions(savedIn: rewritten, path: path)
    #expect(settings.data == "xor" && settings.model == "2-4-tanh-1" && settings.epochs == 30)
  }

  @Test func keepsTheNewestCheckpoints() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-16-relu-3", "--epochs", "5", "--batch-size", "8", "--checkpoint", path,
      "--keep-checkpoints", "3",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let names = try FileManager.default.contentsOfDirectory(atPath: scratch.path).filter { $0.hasPrefix("c.step-") }
      .sorted()
    // 8 steps per epoch (60 samples, batch 8): epochs 3, 4 and 5 end at 24, 32 and 40.
    #expect(names == ["c.step-000000024.safetensors", "c.step-000000032.safetensors", "c.step-000000040.safetensors"])
    #expect(try Checkpoint.read(path).position.steps == 40)
  }
}
