import Backprop
import Foundation
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// Part 6, items 9, 14, 15 and 16: forged checkpoints, runs that skip most
/// batches, unknown JSON keys, and messages that name the right file and
/// never write raw control characters.
@Suite(.serialized) struct HostileInputTests {
  /// Rewrites the checkpoint at `path` with `change` applied to its metadata
  /// and the checksum made to match again, as a forger would.
  static func forge(_ path: String, _ change: (inout [String: String]) -> Void) throws {
    var contents = try Safetensors.read(path)
    change(&contents.metadata)
    try Data(forged(contents)).write(to: URL(fileURLWithPath: path))
  }

  /// The bytes of a checkpoint holding `contents`, its checksum computed as
  /// the format describes it (the tensors' bytes in file order, then every
  /// other metadata pair in key order as `LEN:KEYLEN:VALUE`).
  static func forged(_ contents: Safetensors.Contents) -> [UInt8] {
    var metadata = contents.metadata
    var crc = CRC32()
    for tensor in contents.tensors { crc.add(contentsOf: tensor.values) }
    for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != "backprop.checksum" {
      crc.add("\(key.utf8.count):\(key)\(value.utf8.count):\(value)")
    }
    metadata["backprop.checksum"] = crc.hex
    return Safetensors.encode(tensors: contents.tensors, metadata: metadata)
  }

  /// A checkpoint of a short run on a 60-row CSV set (2 batches an epoch).
  static func checkpoint(in scratch: ScratchFolder) throws -> String {
    let data = CommandLineTests.csvData(in: scratch)
    let path = scratch.file("c.safetensors")
    let run = try CommandRun(["train", "--data", data, "--model", "4-8-relu-3", "--epochs", "2", "--checkpoint", path])
    #expect(run.status == 0, "\(run.errors)")
    return path
  }

  @Test(arguments: [
    ("batch", "99", "batch 99 is outside the 2 batches"), ("seen", "1000000", "samples seen"),
    ("epoch", "9223372036854775807", "steps are more than"), ("best_epoch", "7", "best epoch 7"),
  ])
  func aForgedPositionWithAValidChecksumIsRefused(field: String, value: String, reason: String) throws {
    let scratch = ScratchFolder()
    let path = try Self.checkpoint(in: scratch)
    try Self.forge(path) { metadata in
      var position = metadata["backprop.position"]!
      let pattern = "\"\(field)\":"
      let start = position.range(of: pattern)!.upperBound
      let end = position[start...].firstIndex { $0 == "," || $0 == "}" }!
      position.replaceSubrange(start..<end, with: value)
      if field == "best_epoch" {
        position = position.replacingOccurrences(of: "\"best_loss\":null", with: "\"best_loss\":0.5")
      }
      metadata["backprop.position"] = position
    }
    let before = snapshot(scratch.path)
    let run = try CommandRun(["train", "--resume", path, "--epochs", "4"])
    #expect(run.status == 1, "\(run.errors)")
    #expect(
      run.errors.contains("--resume \(path): damaged checkpoint: ") && run.errors.contains(reason), "\(run.errors)")
    #expect(snapshot(scratch.path) == before)
  }

  @Test func aCheckpointWithTrailingBytesIsDamaged() throws {
    let scratch = ScratchFolder()
    let path = try Self.checkpoint(in: scratch)
    let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    handle.seekToEndOfFile()
    handle.write(Data([1, 2, 3, 4, 5]))
    try handle.close()
    let run = try CommandRun(["train", "--resume", path])
    #expect(run.status == 1)
    #expect(run.errors.contains("damaged: 5 bytes follow the last tensor's data"), "\(run.errors)")
  }

  @Test func skippingMostBatchesEndsTheRunAsDivergence() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let save = scratch.file("w.safetensors")
    let run = try CommandRun([
      "train", "--data", data, "--model", "4-8-relu-3", "--lr", "1e38", "--on-nan", "skip-batch", "--batch-size", "4",
      "--epochs", "3", "--save", save,
    ])
    #expect(run.status == 1, "\(run.errors)")
    #expect(run.errors.contains("training diverged: epoch 1 skipped"), "\(run.errors)")
    #expect(!FileManager.default.fileExists(atPath: save))
  }

  @Test(arguments: [
    (#"{"input": 4, "layers": [{"dense": 64, "activation": "relu"}, {"dense": 3}]}"#, "has 2 keys"),
    (#"{"input": 4, "layers": [{"dense": 3, "units": 5}]}"#, #"unknown key "units" in layer 0"#),
    (#"{"input": 4, "layers": [{"dense": 3}], "optimizer": "adam"}"#, #"unknown key "optimizer""#),
    (#"[4, 3]"#, "must be an object"),
  ])
  func unknownKeysInAJSONModelAreRefusedByName(json: String, reason: String) throws {
    #expect(throws: ModelSpecError.self) { try ModelSpec(json: JSONValue.parse(Array(json.utf8))) }
    let scratch = ScratchFolder()
    let path = scratch.file("m.json")
    try json.write(toFile: path, atomically: true, encoding: .utf8)
    let run = try CommandRun(["train", "--data", CommandLineTests.csvData(in: scratch), "--model", path])
    #expect(run.status == 1)
    #expect(run.errors.contains(reason), "\(run.errors)")
  }

  @Test func messagesNameTheRightFileAndEscapeControlCharacters() throws {
    let scratch = ScratchFolder()
    let (x, _) = npyData(in: scratch)
    func labels(_ values: [Float], _ name: String) throws -> String {
      let path = scratch.file(name)
      try Data(NPYFile.encode(values: values, shape: [values.count])).write(to: URL(fileURLWithPath: path))
      return path
    }
    var values = (0..<48).map { Float($0 % 3) }
    values[3] = 10
    let outOfRange = try CommandRun([
      "train", "--data", x, "--labels", try labels(values, "l10.npy"), "--model", "4-8-3",
    ])
    #expect(
      outOfRange.errors.contains("l10.npy: label 10 of sample 3 (0-based) is out of range"), "\(outOfRange.errors)")
    values[3] = 9.5
    let fraction = try CommandRun(["train", "--data", x, "--labels", try labels(values, "l95.npy"), "--model", "4-8-3"])
    #expect(
      fraction.errors.contains("l95.npy: label 9.5 of sample 3 (0-based) is not a whole number"), "\(fraction.errors)")
    // A file named .npy that is not one.
    let fake = scratch.file("fake.npy")
    try "not numpy".write(toFile: fake, atomically: true, encoding: .utf8)
    let notNPY = try CommandRun(["train", "--data", fake, "--labels", try labels(values, "l.npy"), "--model", "4-8-3"])
    #expect(notNPY.errors.contains("fake.npy: not a NumPy .npy file"), "\(notNPY.errors)")
    // Control characters in a path and in a CSV cell are escaped; the error stays one line.
    let hostile = try CommandRun(["train", "--data", "no\nsuch\u{1B}[31m.csv", "--model", "4-8-3"])
    #expect(hostile.errors == "backprop: error: no\\nsuch\\u{1B}[31m.csv: cannot read: No such file or directory\n")
    let csv = scratch.file("cells.csv")
    try "a,b,label\n1,2,0\n1,\u{1B}[2Jx,1\n".write(toFile: csv, atomically: true, encoding: .utf8)
    let cell = try CommandRun(["train", "--data", csv, "--model", "2-3"])
    #expect(cell.errors.contains("'\\u{1B}[2Jx' is not a number"), "\(cell.errors)")
    #expect(!cell.errors.contains("\u{1B}"))
  }
}
