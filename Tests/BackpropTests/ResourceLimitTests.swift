import Backprop
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Part 6, items 7, 8, 10, 11 and 12: resource limits, overflowing sizes,
/// huge and hostile inputs are one clear line and exit 1, never a trap, a
/// hang or a read of the whole file.
@Suite(.serialized) struct ResourceLimitTests {
  static func expectRefused(_ run: CommandRun, _ parts: String...) {
    #expect(run.status == 1, "\(run.errors)")
    #expect(run.errors.split(separator: "\n").count == 1, "\(run.errors)")
    for part in parts { #expect(run.errors.contains(part), "\(run.errors) lacks \(part)") }
  }

  @Test(arguments: [
    (["--model", "4-100000-100000-10", "--max-memory", "1G"], "allowed by --max-memory"),
    (["--model", "4-2000000000-3", "--max-memory", "64G"], "needs about"),
    (["--model", "4-1000-1000-3", "--max-memory", "10M", "--threads", "2"], "more than the 10 MiB allowed"),
  ])
  func aModelTooLargeForTheBudgetIsRefusedBeforeAllocating(options: [String], reason: String) throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let run = try CommandRun(["train", "--data", x, "--labels", y, "--epochs", "1"] + options)
    Self.expectRefused(run, "--model: model \(options[1])", reason)
  }

  @Test func theAddressSpaceLimitIsPartOfTheBudget() throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let run = try OutputSafetyTests.withShell(
      "ulimit -v 2000000", ["train", "--data", x, "--labels", y, "--model", "4-20000-20000-3", "--epochs", "1"])
    Self.expectRefused(run, "--model: model 4-20000-20000-3", "ulimit -v")
  }

  @Test func crossValidationAndSearchRefuseOrRankAHugeModel() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let cv = try CommandRun(["cv", "--data", data, "--model", "4-2000000000-3", "--folds", "2"])
    Self.expectRefused(cv, "--model: model 4-2000000000-3", "needs about")
    let search = try CommandRun([
      "search", "--data", data, "--model", "4-{h}-3", "--grid", "h=2000000000,8", "--holdout", "0.3", "--epochs", "1",
      "--json",
    ])
    #expect(search.status == 0, "\(search.errors)")
    let board = try search.json()
    guard case .array(let trials)? = board["trials"], trials.count == 2 else {
      Issue.record("\(search.output)")
      return
    }
    // The trial that cannot fit ranks last, with the reason.
    #expect(trials[0]["setting"]?["h"]?.integerValue == 8)
    #expect(trials[1]["failure"]?.stringValue?.contains("needs about") == true, "\(trials[1].serialized())")
  }

  @Test func weightsWhoseMetadataNamesAHugeModelAllocateNothing() throws {
    let scratch = ScratchFolder()
    let path = scratch.file("forged.safetensors")
    let tensors = [Safetensors.Tensor(name: "0.weight", shape: [3, 4], values: [Float](repeating: 0, count: 12))]
    let bytes = Safetensors.encode(tensors: tensors, metadata: ["backprop.model": "4-2000000000-3"])
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    let run = try CommandRun(["evaluate", "--weights", path, "--data", "xor"])
    Self.expectRefused(run, path, "shape [3, 4] but model 4-2000000000-3 needs [2000000000, 4]")
  }

  @Test(arguments: [
    "784-9223372036854775807-10", "784-99999999999999999999-10", "4-3037000500-3037000500-3",
    "4-4294967296-4294967296-2",
  ])
  func overflowingWidthsAreRefused(spec: String) throws {
    #expect(throws: ModelSpecError.self) { try ModelSpec(parsing: spec) }
    let run = try CommandRun(["train", "--data", "xor", "--model", spec])
    Self.expectRefused(run, "--model: invalid model spec")
  }

  @Test func overflowingJSONModelsAndSearchSpacesAreRefused() throws {
    let scratch = ScratchFolder()
    let model = scratch.file("m.json")
    try #"{"input": 2, "layers": [{"dense": 9223372036854775807}, {"dense": 1}]}"#.write(
      toFile: model, atomically: true, encoding: .utf8)
    Self.expectRefused(try CommandRun(["train", "--data", "xor", "--model", model]), "more than 1099511627776")
    let search = try CommandRun([
      "search", "--data", "xor", "--model", "2-{h}-1", "--random", "3", "--space", "h=1:9223372036854775807",
    ])
    Self.expectRefused(search, "--space", "within ±2^53")
  }

  @Test func aHugeSparseFileIsRefusedFromItsHeader() throws {
    let scratch = ScratchFolder()
    let (_, y) = npyData(in: scratch)
    // 10 GB of holes: a reader that read it whole would take 10 GB and a minute.
    let fake = scratch.file("big.npy")
    Self.sparseFile(fake, bytes: 10 << 30)
    Self.expectRefused(
      try CommandRun(["train", "--data", fake, "--labels", y, "--model", "4-8-3"]), "big.npy: not a NumPy .npy file")
    // A real header announcing 40 GiB of data (2684354560 × 4 floats).
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2684354560, 4), }"
    header += String(repeating: " ", count: (10 + header.utf8.count + 1 + 63) / 64 * 64 - 10 - header.utf8.count - 1)
    header += "\n"
    let huge = scratch.file("huge.npy")
    let length = header.utf8.count
    try Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)] + Array(header.utf8))
      .write(to: URL(fileURLWithPath: huge))
    Self.expectRefused(
      try CommandRun(["train", "--data", huge, "--labels", y, "--model", "4-8-3", "--max-memory", "1G"]),
      "its header announces 40 GiB, more than the 1 GiB allowed by --max-memory")
    // Text has no header: its size, and what parsing takes, must fit.
    let csv = scratch.file("big.csv")
    Self.sparseFile(csv, bytes: 2 << 30)
    Self.expectRefused(
      try CommandRun(["train", "--data", csv, "--model", "4-8-3", "--max-memory", "1G"]),
      "big.csv: cannot read: reading and parsing it as text needs about 8 GiB")
  }

  /// A file of `bytes` holes: no disk used, and reading it whole would take the memory.
  static func sparseFile(_ path: String, bytes: Int) {
    let descriptor = open(path, O_WRONLY | O_CREAT, 0o644)
    #expect(descriptor >= 0 && ftruncate(descriptor, off_t(bytes)) == 0)
    close(descriptor)
  }

  @Test func aGzipBombStopsAtWhatItsHeaderAnnounces() throws {
    let scratch = ScratchFolder()
    let (_, y) = npyData(in: scratch)
    // An IDX header for 48 × 4 bytes, then 64 MiB of zeros, gzipped.
    var idx: [UInt8] = [0, 0, 8, 2, 0, 0, 0, 48, 0, 0, 0, 4]
    idx += [UInt8](repeating: 0, count: 64 << 20)
    let path = scratch.file("bomb.idx")
    try Data(idx).write(to: URL(fileURLWithPath: path))
    let gzip = Process()
    gzip.executableURL = URL(fileURLWithPath: "/bin/gzip")
    gzip.arguments = ["-f", path]
    try gzip.run()
    gzip.waitUntilExit()
    let run = try CommandRun(["train", "--data", path + ".gz", "--labels", y, "--model", "4-8-3"])
    Self.expectRefused(run, "bomb.idx.gz: its gzip data inflates to more than the 204 bytes its header announces")
  }

  @Test func aGridIsCountedBeforeItIsBuilt() throws {
    let values = (1...100).map(String.init).joined(separator: ",")
    let space = (0..<10).map { "d\($0)=\(values)" }.joined(separator: " ")
    let run = try CommandRun(["search", "--data", "xor", "--model", "2-4-1", "--grid", space])
    Self.expectRefused(run, "--grid: the grid has more than 2^63 combinations, more than the 100000")
    let random = try CommandRun([
      "search", "--data", "xor", "--model", "2-{h}-1", "--random", "1000000000000", "--space", "h=2,4",
    ])
    #expect(random.status != 0 && random.errors.contains("more than the 100000 trials"), "\(random.errors)")
  }

  @Test func threadCountsAreCapped() throws {
    let run = try CommandRun([
      "train", "--data", "xor", "--model", "2-4-1", "--threads", "100000", "--min-work-per-thread", "0",
    ])
    #expect(run.status != 0, "\(run.errors)")
    #expect(run.errors.contains("--threads 100000 is more than 4 × the"), "\(run.errors)")
    let scale = try CommandRun(["scale", "--data", "xor", "--model", "2-4-1", "--threads", "1,100000"])
    #expect(scale.status != 0 && scale.errors.contains("--threads 100000 is more than"), "\(scale.errors)")
  }

  @Test(arguments: ["--data", "--labels", "--weights"])
  func aFIFOOrDeviceAsInputIsRefusedWithoutBlocking(option: String) throws {
    let scratch = ScratchFolder()
    let (x, y) = npyData(in: scratch)
    let fifo = scratch.file("pipe")
    #expect(mkfifo(fifo, 0o644) == 0)
    for input in [fifo, "/dev/zero"] {
      let arguments: [String]
      switch option {
      case "--data": arguments = ["train", "--data", input, "--labels", y, "--model", "4-8-3"]
      case "--labels": arguments = ["train", "--data", x, "--labels", input, "--model", "4-8-3"]
      default: arguments = ["evaluate", "--weights", input, "--data", "xor"]
      }
      // A child with a deadline: a blocking open would hang here.
      let child = try CheckpointCommandTests.Child(arguments)
      let result = child.finish()
      #expect(result.status == 1, "\(result.errors)")
      #expect(result.errors.contains("\(input): cannot read: it is a"), "\(result.errors)")
    }
  }

  @Test func pseudoFilesAreNotData() throws {
    let run = try CommandRun(["train", "--data", "/proc/self/maps", "--model", "4-8-3"])
    Self.expectRefused(run, "/proc/self/maps: cannot read: it is on the kernel's proc file system")
  }

  @Test func memoryBudgetParsesSizesAndEstimatesGrow() throws {
    #expect(MemoryBudget.parse("8G") == 8 << 30)
    #expect(MemoryBudget.parse("512M") == 512 << 20)
    #expect(MemoryBudget.parse("1.5GiB") == 3 << 29)
    #expect(MemoryBudget.parse("1000") == 1000)
    #expect(MemoryBudget.parse("8Q") == nil && MemoryBudget.parse("-1G") == nil && MemoryBudget.parse("") == nil)
    let spec = try ModelSpec(parsing: "784-256-relu-128-relu-10")
    var options = TrainingOptions()
    options.batchSize = 128
    options.threads = 1
    let one = try #require(Trainer.estimatedBytes(spec: spec, options: options, samples: 60000))
    options.threads = 8
    let eight = try #require(Trainer.estimatedBytes(spec: spec, options: options, samples: 60000))
    // At least the parameters and the gradient (235,146 parameters), and more with more workers.
    #expect(one >= 2 * 4 * 235_146 && eight > one)
  }
}
