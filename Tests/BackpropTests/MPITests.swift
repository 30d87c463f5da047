import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Whether this build has MPI and the machine `mpirun`.
private let mpirunWorks = ProcessGroup.hasMPI && FileManager.default.isExecutableFile(atPath: "/usr/bin/mpirun")

/// Several `backprop` processes joined by Open MPI on this machine: a build
/// with `--traits MPI` (the test command's), skipped without it or without
/// `mpirun`. Every run is under `timeout`: a hang fails the test.
@Suite(.serialized, .enabled(if: mpirunWorks, "built without MPI, or no mpirun"))
struct MPITests {
  static let mpirun = "/usr/bin/mpirun"

  /// As root in a container: allowed explicitly, and no cross-memory attach
  /// (often refused there). Waiting ranks yield their core instead of
  /// spinning: the other suites run beside these on the same two cores.
  static let environment = [
    "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
    "OMPI_MCA_btl_vader_single_copy_mechanism": "none", "OMPI_MCA_mpi_yield_when_idle": "1",
  ]

  /// Over loopback TCP instead of shared memory.
  static let tcp = ["--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "lo"]

  /// `mpirun -np ranks backprop arguments`, or several programs (`:`-separated).
  static func run(_ programs: [[String]], ranks: Int = 1, transport: [String] = []) throws -> CommandRun {
    var arguments = ["120", mpirun, "--oversubscribe", "--bind-to", "none"] + transport
    for (index, program) in programs.enumerated() {
      if index > 0 { arguments.append(":") }
      arguments += ["-np", String(ranks), CommandRun.binary] + program
    }
    return try CommandRun(arguments, environment: environment, executable: "/usr/bin/timeout")
  }

  /// A training run on 401 rows in batches of 25 (the last batch, of 1 row,
  /// leaves the second rank without rows), with dropout.
  static func training(_ data: String, save: String, threads: Int, batch: Int = 25) -> [String] {
    [
      "train", "--data", data, "--model", "4-16-relu-dropout0.2-3", "--epochs", "3", "--batch-size", String(batch),
      "--seed", "3", "--threads", String(threads), "--save", save, "--json", "--quiet",
    ]
  }

  static func largestDifference(_ a: String, _ b: String) throws -> Float {
    let (x, y) = (try Model.load(from: a).parameters.array, try Model.load(from: b).parameters.array)
    #expect(x.count == y.count)
    return zip(x, y).map { abs($0 - $1) }.max() ?? .infinity
  }

  @Test func twoRanksTrainAsOneProcessWithTwoThreads() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 401)
    let single = try CommandRun(Self.training(data, save: scratch.file("single.safetensors"), threads: 2))
    #expect(single.status == 0, "\(single.errors)")
    for (name, transport) in [("shared", [String]()), ("tcp", Self.tcp)] {
      let path = scratch.file("\(name).safetensors")
      let ranks = try Self.run([Self.training(data, save: path, threads: 1)], ranks: 2, transport: transport)
      #expect(ranks.status == 0, "\(name): \(ranks.errors)")
      // One report: rank 0's.
      #expect(try ranks.json()["epochs"] != nil, "\(name): \(ranks.output)")
      #expect(try Self.largestDifference(path, scratch.file("single.safetensors")) < 1e-5, "\(name)")
    }
    // Only rank 0 wrote: nothing but the data and the three weight files.
    let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
    #expect(files == ["shared.safetensors", "single.safetensors", "tcp.safetensors", "train.csv"], "\(files)")
  }

  @Test func aRankThatFailsEndsEveryRank() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 401)
    let good = Self.training(data, save: scratch.file("w.safetensors"), threads: 1)
    let bad = Self.training(scratch.file("missing.csv"), save: scratch.file("w.safetensors"), threads: 1)
    let run = try Self.run([good, bad])
    #expect(run.status != 0 && run.status != 124, "status \(run.status): \(run.errors)")
    // One line that names the rank and the file; rank 0 is ended too (no hang, no weights).
    #expect(
      run.errors.contains("backprop: rank 1: error: \(scratch.file("missing.csv")): cannot read"), "\(run.errors)")
    #expect(!FileManager.default.fileExists(atPath: scratch.file("w.safetensors")))
  }

  /// `--reproducible` covers ranks: 1 × 1, 1 × 2, 2 × 1 and 2 × 2 (ranks ×
  /// threads) give bitwise-identical weights. Batches of 100 rows are 3
  /// logical shards (2 on rank 0, 1 on rank 1); the last batch, of 1 row, is
  /// 1 shard and leaves rank 1 without rows.
  @Test func reproducibleRunsAreBitwiseTheSameForAnyRanksAndThreads() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 401)
    func arguments(_ name: String, threads: Int) -> [String] {
      Self.training(data, save: scratch.file(name), threads: threads, batch: 100)
        + ["--reproducible", "--clip-grad-norm", "1"]
    }
    var weights: [String: [Float]] = [:]
    for threads in [1, 2] {
      let name = "one-\(threads).safetensors"
      let run = try CommandRun(arguments(name, threads: threads))
      #expect(run.status == 0, "\(run.errors)")
      weights["1 × \(threads)"] = try Model.load(from: scratch.file(name)).parameters.array
      let spread = "two-\(threads).safetensors"
      let ranks = try Self.run([arguments(spread, threads: threads)], ranks: 2)
      #expect(ranks.status == 0, "\(ranks.errors)")
      weights["2 × \(threads)"] = try Model.load(from: scratch.file(spread)).parameters.array
    }
    let reference = try #require(weights["1 × 1"])
    for (name, values) in weights {
      #expect(values.map(\.bitPattern) == reference.map(\.bitPattern), "\(name) differs from 1 × 1")
    }
  }

  /// Batch normalisation across ranks normalises by the whole batch, as
  /// one process does: a CNN with 2-D and 1-D batch norm, dropout, and a
  /// last batch of 1 row that leaves rank 1 without rows, gives the weights
  /// and running statistics of 1 process × 2 threads within 1e-5 (2 ranks ×
  /// 1 and × 2 threads, unit-slices and all-reduce), and bitwise the same
  /// with `--reproducible`. (SGD: Adam turns the rounding noise in the
  /// zero gradient of a bias before batch norm into steps of ±lr.)
  @Test func batchNormalisationAcrossRanksUsesTheWholeBatch() throws {
    let scratch = ScratchFolder()
    var data = TestData(seed: 5)
    let images = scratch.file("images.npy")
    FirstHourDataTests.npy(data.uniform(101 * 72).map { Float($0) }, shape: [101, 2, 6, 6], to: images)
    let labels = scratch.file("labels.idx")
    writeFile(idxBytes(type: 8, shape: [101], payload: (0..<101).map { UInt8($0 * 7 % 3) }), to: labels)
    func arguments(_ name: String, threads: Int, _ extra: [String] = []) -> [String] {
      [
        "train", "--data", images, "--labels", labels, "--model",
        "2x6x6-conv8k3p1-bn-relu-maxpool2-flatten-16-bn-relu-dropout0.2-3", "--momentum", "0.9", "--epochs", "2",
        "--batch-size", "25", "--seed", "9", "--threads", String(threads), "--save", scratch.file(name), "--quiet",
      ] + extra
    }
    for gradients in ["all-reduce", "unit-slices"] {
      let flags = ["--gradients", gradients]
      let single = try CommandRun(arguments("one-\(gradients).safetensors", threads: 2, flags))
      #expect(single.status == 0, "\(single.errors)")
      for threads in [1, 2] {
        let name = "two-\(threads)-\(gradients).safetensors"
        let ranks = try Self.run([arguments(name, threads: threads, flags)], ranks: 2)
        #expect(ranks.status == 0, "\(ranks.errors)")
        let difference = try Self.largestDifference(
          scratch.file(name), scratch.file("one-\(gradients).safetensors"))
        #expect(difference < 1e-5, "2 × \(threads), \(gradients): \(difference)")
      }
    }
    let one = try CommandRun(arguments("r1.safetensors", threads: 1, ["--reproducible"]))
    let two = try Self.run([arguments("r2.safetensors", threads: 2, ["--reproducible"])], ranks: 2)
    #expect(one.status == 0 && two.status == 0, "\(one.errors) \(two.errors)")
    let (a, b) = (
      try Model.load(from: scratch.file("r1.safetensors")), try Model.load(from: scratch.file("r2.safetensors"))
    )
    #expect(a.parameters.array.map(\.bitPattern) == b.parameters.array.map(\.bitPattern))
  }

  /// A run checkpointed by rank 0 and resumed under `mpirun` ends with the
  /// weights of a run never stopped, bitwise; with `--reproducible` the
  /// resumed run may even have another number of ranks.
  @Test func aResumedRunContinuesBitwise() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 401)
    func run(_ name: String, ranks: Int, _ extra: [String]) throws -> [Float] {
      var arguments = Self.training(data, save: scratch.file(name), threads: 1, batch: 100) + extra
      if let index = arguments.firstIndex(of: "--epochs") {
        arguments[index + 1] = extra.contains("--resume") ? "6" : "3"
      }
      let run = try Self.run([arguments], ranks: ranks)
      #expect(run.status == 0, "\(name): \(run.errors)")
      return try Model.load(from: scratch.file(name)).parameters.array
    }
    for (ranks, resumedRanks, reproducible) in [(2, 2, false), (2, 1, true)] {
      let flags = reproducible ? ["--reproducible"] : []
      let checkpoint = scratch.file("c-\(ranks)-\(resumedRanks).safetensors")
      _ = try run("half.safetensors", ranks: ranks, flags + ["--checkpoint", checkpoint])
      let resumed = try run("resumed.safetensors", ranks: resumedRanks, flags + ["--resume", checkpoint])
      var straight = Self.training(data, save: scratch.file("straight.safetensors"), threads: 1, batch: 100) + flags
      straight[straight.firstIndex(of: "--epochs")! + 1] = "6"
      let whole = try Self.run([straight], ranks: ranks)
      #expect(whole.status == 0, "\(whole.errors)")
      let expected = try Model.load(from: scratch.file("straight.safetensors")).parameters.array
      #expect(resumed.map(\.bitPattern) == expected.map(\.bitPattern), "\(ranks) → \(resumedRanks) ranks")
    }
  }

  /// `cv` across 2 ranks (folds 1, 3, 5 on rank 0; 2, 4 on rank 1) gives
  /// the fold results of one process, and rank 0 alone reports them.
  @Test func crossValidationAcrossRanksGivesTheFoldsOfOneProcess() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 200)
    let arguments = [
      "cv", "--data", data, "--model", "4-8-relu-3", "--folds", "5", "--epochs", "3", "--threads", "1",
      "--parallel-folds", "1", "--seed", "4", "--json",
    ]
    let single = try CommandRun(arguments + ["--output", scratch.file("one.csv")])
    #expect(single.status == 0, "\(single.errors)")
    let ranks = try Self.run([arguments + ["--output", scratch.file("two.csv")]], ranks: 2)
    #expect(ranks.status == 0, "\(ranks.errors)")
    func folds(_ run: CommandRun) throws -> [[String]] {
      let list = try #require(try run.json()["folds"]?.arrayValue)
      return list.map { fold in
        ["fold", "val_loss", "val_accuracy", "weights_crc32", "epochs"].map { fold[$0]?.serialized() ?? "-" }
      }
    }
    let expected = try folds(single)
    #expect(expected.count == 5)
    #expect(try folds(ranks) == expected)
    #expect(FileManager.default.fileExists(atPath: scratch.file("two.csv")))
  }

  /// A signal that reaches one rank (mpirun sends SIGTERM to every rank on
  /// SIGINT; here one rank alone gets it) stops every rank after the same
  /// step: rank 0 writes its checkpoint and says so, no rank aborts, every
  /// rank exits with the signal's status, and the checkpoint loads.
  @Test func aSignalToOneRankStopsEveryRankAfterTheSameStep() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 2000)
    let checkpoint = scratch.file("run.safetensors")
    let child = try CheckpointCommandTests.Child(
      [
        "--oversubscribe", "--bind-to", "none", "-np", "2", CommandRun.binary, "train", "--data", data, "--model",
        "4-64-relu-3", "--epochs", "100000", "--threads", "1", "--checkpoint", checkpoint,
      ], executable: Self.mpirun, environment: Self.environment)
    child.waitForFile(checkpoint)
    // mpirun's own signals may be blocked by this test's thread: signal a rank, as mpirun would.
    let ranks = Self.children(of: child.process.processIdentifier)
    #expect(ranks.count == 2, "ranks \(ranks)")
    if let last = ranks.last { kill(last, SIGTERM) }
    let result = child.finish()
    #expect(result.status != 0, "\(result.errors)")
    #expect(result.errors.contains("backprop: rank 0: interrupted by SIGTERM"), "\(result.errors)")
    #expect(!result.errors.contains("MPI_ABORT"), "\(result.errors)")
    #expect(throws: Never.self) { _ = try Checkpoint.read(checkpoint) }
  }

  /// The processes whose parent is `parent`, from /proc.
  static func children(of parent: Int32) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap(Int32.init).filter { pid in
      guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return false }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      return fields.count > 1 && Int32(fields[1]) == parent
    }.sorted()
  }

  /// `topology` under `mpirun` prints once, with a line per rank: its host,
  /// the CPUs mpirun bound it to, and its workers' plan.
  @Test func topologyShowsEveryRanksBinding() throws {
    let run = try Self.run([["topology"]], ranks: 2)
    #expect(run.status == 0, "\(run.errors)")
    for rank in 0..<2 { #expect(run.output.contains("rank \(rank) on "), "\(run.output)") }
    #expect(run.output.components(separatedBy: "machine:").count == 2, "printed once: \(run.output)")
  }

  /// `search` across 2 ranks (each running every other fold of every
  /// trial) ranks the settings as one process does, with the same fold
  /// scores; the refit of the best setting trains across both ranks; rank 0
  /// alone writes the leaderboard and the weights.
  @Test func searchAcrossRanksGivesTheLeaderboardOfOneProcess() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 200)
    func arguments(_ name: String) -> [String] {
      [
        "search", "--data", data, "--model", "4-{hidden}-relu-3", "--grid", "lr=0.1,0.03 hidden=4,8", "--folds", "3",
        "--epochs", "3", "--threads", "1", "--parallel-folds", "1", "--seed", "4", "--refit", "--output",
        scratch.file("\(name).csv"), "--save", scratch.file("\(name).safetensors"), "--json",
      ]
    }
    let single = try CommandRun(arguments("one"))
    #expect(single.status == 0, "\(single.errors)")
    let ranks = try Self.run([arguments("two")], ranks: 2)
    #expect(ranks.status == 0, "\(ranks.errors)")
    // Every column but the seconds.
    func board(_ name: String) throws -> [String] {
      try String(contentsOfFile: scratch.file("\(name).csv"), encoding: .utf8).split(separator: "\n").map { line in
        var cells = line.split(separator: ",", omittingEmptySubsequences: false)
        cells.remove(at: 9)
        return cells.joined(separator: ",")
      }
    }
    let expected = try board("one")
    #expect(expected.count == 5)
    #expect(try board("two") == expected)
    #expect(try ranks.json()["refit"]?["setting"] == single.json()["refit"]?["setting"])
    #expect(try Self.largestDifference(scratch.file("one.safetensors"), scratch.file("two.safetensors")) < 1e-5)
    let files = try FileManager.default.contentsOfDirectory(atPath: scratch.path).sorted()
    #expect(files == ["one.csv", "one.safetensors", "train.csv", "two.csv", "two.safetensors"], "\(files)")
  }

  /// `scale` under `mpirun` measures every thread count across the ranks
  /// and says so: the ranks and the share of a step spent summing across
  /// them, in the table and in its files.
  @Test func scaleReportsTheRanks() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 200)
    let run = try Self.run(
      [
        [
          "scale", "--data", data, "--model", "4-32-relu-3", "--threads", "1", "--warm-up", "2", "--measure", "20",
          "--repeats", "1", "--output", scratch.file("scaling"),
        ]
      ], ranks: 2)
    #expect(run.status == 0, "\(run.errors)")
    #expect(run.output.contains("2 MPI ranks × the threads of each row"), "\(run.output)")
    let json = try JSONValue.parse(Array(try Data(contentsOf: URL(fileURLWithPath: scratch.file("scaling.json")))))
    #expect(json["ranks"]?.integerValue == 2)
    let row = try #require(json["rows"]?.arrayValue?.first)
    #expect(row["ranks"]?.integerValue == 2)
    let share = try #require(row["mpi_share"]?.doubleValue)
    #expect(share > 0 && share < 1, "\(share)")
    let csv = try String(contentsOfFile: scratch.file("scaling.csv"), encoding: .utf8)
    #expect(csv.hasPrefix("threads,") && csv.contains(",ranks,mpi_share\n"), "\(csv)")
  }
}
