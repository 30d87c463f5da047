import Backprop
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// What is in a folder: each entry's name and bytes (a link's target as
/// `-> TARGET`), to prove that a refused command changed nothing.
func snapshot(_ folder: String) -> [String: [UInt8]] {
  var entries: [String: [UInt8]] = [:]
  for name in FilePath.names(inFolder: folder) {
    let path = folder + "/" + name
    if let target = try? FileManager.default.destinationOfSymbolicLink(atPath: path) {
      entries[name] = Array("-> \(target)".utf8)
    } else {
      entries[name] = (try? Data(contentsOf: URL(fileURLWithPath: path))).map(Array.init) ?? []
    }
  }
  return entries
}

/// A `.npy` features file and labels file for a 4-feature, 3-class set.
func npyData(in scratch: ScratchFolder, rows: Int = 48) -> (features: String, labels: String) {
  let features = (0..<(rows * 4)).map { Float($0 % 7) / 7 }
  let labels = (0..<rows).map { Float($0 % 3) }
  let x = scratch.file("x.npy")
  let y = scratch.file("y.npy")
  try! Data(NPYFile.encode(values: features, shape: [rows, 4])).write(to: URL(fileURLWithPath: x))
  try! Data(NPYFile.encode(values: labels, shape: [rows])).write(to: URL(fileURLWithPath: y))
  return (x, y)
}

/// Part 6, items 1–6: outputs never replace inputs, devices or another
/// run's files, are checked before training, and a failed write fails.
@Suite(.serialized) struct OutputSafetyTests {
  /// Expects one error line that contains every part of `parts`, exit 1.
  static func expectRefused(_ run: CommandRun, _ parts: String...) {
    #expect(run.status == 1, "\(run.errors)")
    let lines = run.errors.split(separator: "\n")
    #expect(lines.count == 1, "\(run.errors)")
    #expect(lines.first?.hasPrefix("backprop: error: ") == true, "\(run.errors)")
    for part in parts { #expect(run.errors.contains(part), "\(run.errors) lacks \(part)") }
  }

  @Test(arguments: [
    ("--save", "x.npy", "--data"), ("--metrics", "y.npy", "--labels"), ("--checkpoint", "x.npy", "--data"),
    ("--save", "link.npy", "--data"),
  ])
  func anOutputThatIsAnInputIsRefused(option: String, name: String, input: String) throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    symlink("x.npy", scratch.file("link.npy"))
    let before = snapshot(scratch.path)
    let run = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", option, scratch.file(name),
    ])
    Self.expectRefused(run, "\(option) \(scratch.file(name))", "same file as \(input)")
    #expect(snapshot(scratch.path) == before)
  }

  @Test func predictDoesNotOverwriteItsData() throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let weights = scratch.file("w.safetensors")
    let trained = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", "--save", weights,
    ])
    #expect(trained.status == 0, "\(trained.errors)")
    let before = snapshot(scratch.path)
    let run = try CommandRun(["predict", "--weights", weights, "--data", x, "--output", x])
    Self.expectRefused(run, "--output \(x)", "same file as --data")
    let intoWeights = try CommandRun(["predict", "--weights", weights, "--data", x, "--output", weights + ".npy"])
    #expect(intoWeights.status == 0, "\(intoWeights.errors)")
    unlink(weights + ".npy")
    #expect(snapshot(scratch.path) == before)
  }

  @Test(arguments: ["--save", "--metrics", "--checkpoint"])
  func devicesAndFIFOsAreNeverReplaced(option: String) throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let fifo = scratch.file("pipe")
    #expect(mkfifo(fifo, 0o644) == 0)
    for target in ["/dev/null", fifo] {
      let run = try CommandRun([
        "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", option, target,
      ])
      Self.expectRefused(run, "\(option) \(target)", target == fifo ? "a FIFO" : "a character device")
      #expect(!run.errors.contains("epoch 1"), "refused before training")
    }
    var info = stat()
    #expect(stat("/dev/null", &info) == 0 && (info.st_mode & S_IFMT) == S_IFCHR)
    #expect(lstat(fifo, &info) == 0 && (info.st_mode & S_IFMT) == S_IFIFO)
  }

  @Test func aPlantedSymlinkAtTheOldTemporaryNameIsNotFollowed() throws {
    let scratch = ScratchFolder()
    let victim = scratch.file("victim")
    try "precious".write(toFile: victim, atomically: false, encoding: .utf8)
    // The names the temporary file once had (`.NAME.tmp-PID`), planted for
    // this process and its neighbours.
    for pid in getpid() - 2...getpid() + 2 {
      symlink(victim, scratch.file(".w.safetensors.tmp-\(pid)"))
    }
    try AtomicFile.write("weights", to: scratch.file("w.safetensors"))
    #expect(try String(contentsOfFile: victim, encoding: .utf8) == "precious")
    #expect(try String(contentsOfFile: scratch.file("w.safetensors"), encoding: .utf8) == "weights")
    let planted = (getpid() - 2...getpid() + 2).map { ".w.safetensors.tmp-\($0)" }
    #expect(Set(FilePath.names(inFolder: scratch.path)) == Set(planted + ["victim", "w.safetensors"]))
  }

  @Test(arguments: [
    ("/proc/version", "proc file system"), ("", "the path is empty"), ("/sys/kernel/w.safetensors", "sysfs"),
    ("/nonexistent-folder/w.safetensors", "No such file or directory"), ("SCRATCH/", "names a folder"),
  ])
  func anUnwritableSaveIsFoundBeforeTraining(path: String, reason: String) throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let target = path.replacingOccurrences(of: "SCRATCH", with: scratch.path)
    let run = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", "--save", target,
    ])
    Self.expectRefused(run, "--save", reason)
    #expect(!run.errors.contains("epoch 1"))
  }

  @Test func aLongNameIsSavedWhenItFits() throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let name = String(repeating: "a", count: 252)
    let run = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", "--save", scratch.file(name),
    ])
    #expect(run.status == 0, "\(run.errors)")
    #expect(try Model.load(from: scratch.file(name)).spec.description == "4-8-relu-3")
    let tooLong = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", "--save",
      scratch.file(name + "bbbb"),
    ])
    Self.expectRefused(tooLong, "--save", "longer than the 255 bytes")
  }

  /// Runs `chattr FLAG path`; whether it worked.
  static func chattr(_ flag: String, _ path: String) -> Bool {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/chattr")
    process.arguments = [flag, path]
    process.standardError = FileHandle.nullDevice
    guard (try? process.run()) != nil else { return false }
    process.waitUntilExit()
    return process.terminationStatus == 0
  }

  /// Whether files in the scratch folders can be made immutable here (root,
  /// and a file system with the flag: tmpfs has none).
  static let immutableFilesWork: Bool = {
    let scratch = ScratchFolder()
    let probe = scratch.file("probe")
    FileManager.default.createFile(atPath: probe, contents: nil)
    guard chattr("+i", probe) else { return false }
    return chattr("-i", probe)
  }()

  @Test(.enabled(if: immutableFilesWork, "chattr +i needs root and a file system with the flag"))
  func anImmutableSaveIsFoundBeforeTraining() throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let target = scratch.file("w.safetensors")
    try "old".write(toFile: target, atomically: false, encoding: .utf8)
    #expect(Self.chattr("+i", target))
    defer { _ = Self.chattr("-i", target) }
    let run = try CommandRun([
      "train", "--data", x, "--labels", y, "--model", "4-8-relu-3", "--epochs", "1", "--save", target,
    ])
    Self.expectRefused(run, "--save \(target)", "immutable")
    #expect(try String(contentsOfFile: target, encoding: .utf8) == "old")
  }

  /// A save that fails once training is over keeps the weights beside it.
  @Test func aFinishedModelIsKeptWhenTheSaveFails() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let target = scratch.file("w.safetensors")
    let metrics = scratch.file("m.jsonl")
    let child = try CheckpointCommandTests.Child([
      "train", "--data", data, "--model", "4-8-relu-3", "--batch-size", "4", "--epochs", "400", "--quiet",
      "--save", target, "--metrics", metrics,
    ])
    child.waitForFile(metrics)
    // After the checks, something takes the name: a folder cannot be replaced by a file.
    mkdir(target, 0o755)
    defer { rmdir(target) }
    let result = child.finish()
    #expect(result.status == 1, "\(result.errors)")
    #expect(result.errors.contains("--save \(target)") && result.errors.contains("saved to"), "\(result.errors)")
    let kept = FilePath.names(inFolder: scratch.path).filter { $0.hasPrefix("backprop-unsaved-") }
    #expect(kept.count == 1)
    if let name = kept.first {
      #expect(result.errors.contains(scratch.file(name)))
      #expect(try Model.load(from: scratch.file(name)).spec.description == "4-8-relu-3")
    }
  }

  /// Runs `arguments` under bash after `setup` (a `ulimit`), with `stdout`
  /// (a redirection) appended.
  static func withShell(_ setup: String, _ arguments: [String], stdout: String = "") throws -> CommandRun {
    let quoted = arguments.map { "'\($0)'" }.joined(separator: " ")
    return try CommandRun(
      ["-c", "\(setup); exec '\(CommandRun.binary)' \(quoted) \(stdout)"], executable: "/bin/bash")
  }

  /// Runs `arguments` with a file-size limit of `blocks` KiB (SIGXFSZ
  /// ignored, so a write past it fails with EFBIG, as on a full disk).
  static func withFileSizeLimit(_ blocks: Int, _ arguments: [String], stdout: String = "") throws -> CommandRun {
    try withShell("trap '' XFSZ; ulimit -f \(blocks)", arguments, stdout: stdout)
  }

  @Test func aCheckpointThatCannotBeWrittenStopsTheRun() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let run = try Self.withFileSizeLimit(
      1, ["train", "--data", data, "--model", "4-64-relu-3", "--epochs", "50", "--checkpoint", path])
    #expect(run.status == 1, "\(run.errors)")
    #expect(run.errors.contains("backprop: error: --checkpoint \(path): cannot write: File too large"), "\(run.errors)")
    #expect(run.errors.contains("training stopped in epoch 1"), "\(run.errors)")
    #expect(!FileManager.default.fileExists(atPath: path))
    #expect(FilePath.names(inFolder: scratch.path).sorted() == ["train.csv"])
  }

  @Test func metricsThatCannotBeWrittenFailTheCommand() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let metrics = scratch.file("m.jsonl")
    let run = try Self.withFileSizeLimit(
      1, ["train", "--data", data, "--model", "4-8-relu-3", "--epochs", "40", "--quiet", "--metrics", metrics])
    #expect(run.status == 1, "\(run.errors)")
    #expect(run.errors.contains("backprop: error: --metrics \(metrics): cannot write: File too large"), "\(run.errors)")
  }

  @Test(arguments: [
    ["train", "--data", "xor", "--model", "2-4-tanh-1", "--epochs", "2", "--json"], ["topology"],
    ["evaluate", "--weights", "WEIGHTS", "--data", "xor", "--json"],
  ])
  func standardOutputThatCannotBeWrittenFails(arguments: [String]) throws {
    let scratch = ScratchFolder()
    let weights = scratch.file("w.safetensors")
    let trained = try CommandRun([
      "train", "--data", "xor", "--model", "2-4-tanh-1", "--epochs", "2", "--save", weights,
    ])
    #expect(trained.status == 0)
    let run = try Self.withFileSizeLimit(
      1000, arguments.map { $0 == "WEIGHTS" ? weights : $0 }, stdout: "> /dev/full")
    #expect(run.status == 1, "\(run.errors)")
    #expect(run.errors.contains("backprop: error: standard output: cannot write: No space left on device"))
  }

  @Test func twoRunsCannotShareACheckpoint() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let first = try CheckpointCommandTests.Child(CheckpointCommandTests.longRun(data: data, checkpoint: path))
    first.waitForFile(path)
    // The first run's own temporary files come and go; nothing else may appear.
    func names() -> Set<String> { Set(FilePath.names(inFolder: scratch.path).filter { !$0.contains(".tmp-") }) }
    let before = names()
    let second = try CommandRun(CheckpointCommandTests.longRun(data: data, checkpoint: path))
    Self.expectRefused(
      second, "--checkpoint \(path)", "another run is writing it (process \(first.process.processIdentifier))")
    #expect(names() == before)
    first.send(SIGINT)
    #expect(first.finish().status == 130)
    // The lock file goes with the run.
    #expect(FilePath.names(inFolder: scratch.path).sorted() == ["c.safetensors", "train.csv"])
  }
}
