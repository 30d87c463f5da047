import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Damaged checkpoints: each gives one clear error naming the file, and
/// nothing crashes, whatever the bytes.
@Suite struct DamagedFileTests {
  /// A small valid checkpoint (SGD with momentum: parameters and one state vector).
  static let valid: [UInt8] = {
    var data = TestData(seed: 2)
    let training = data.classification(rows: 20, features: 4, classes: 3)
    var options = TrainingOptions()
    options.batchSize = 5
    options.epochs = 1
    options.optimizer.momentum = 0.9
    let trainer = Trainer(
      model: Model(spec: try! ModelSpec(parsing: "4-6-relu-3")), training: training, options: options)
    let folder = ScratchFolder()
    let path = folder.file("c.safetensors")
    try! trainer.train(
      control: RunControl(checkpoint: { position, history in
        try! Checkpoint.write(
          trainer: trainer, position: position, history: history, data: DataIdentity(training), to: path)
      }))
    return Array(try! Data(contentsOf: URL(fileURLWithPath: path)))
  }()

  static var headerEnd: Int { 8 + Int(valid[0]) + Int(valid[1]) << 8 }

  /// The error `bytes` give as a checkpoint, or `nil` if they parse.
  static func error(_ bytes: [UInt8]) -> String? {
    do {
      _ = try Checkpoint.parse(bytes, path: "c.safetensors")
      return nil
    } catch {
      return error.description
    }
  }

  /// The valid file with its header's members changed by `change`.
  static func rebuilt(_ change: (inout [(String, JSONValue)]) -> Void) -> [UInt8] {
    guard case .object(var members) = try! JSONValue.parse(valid[8..<headerEnd]) else { fatalError() }
    change(&members)
    let json = Array(JSONValue.object(members).serialized().utf8)
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
    return bytes + json + valid[headerEnd...]
  }

  static func setMember(_ name: String, key: String, to value: JSONValue) -> (inout [(String, JSONValue)]) -> Void {
    { members in
      let index = members.firstIndex { $0.0 == name }!
      guard case .object(var fields) = members[index].1 else { return }
      fields[fields.firstIndex { $0.0 == key }!].1 = value
      members[index].1 = .object(fields)
    }
  }

  @Test func theValidFileReads() throws {
    #expect(Self.error(Self.valid) == nil)
  }

  @Test func truncatedAtEveryByteOfTheHeaderAndThroughTheData() {
    var lengths = Array(0..<(Self.headerEnd + 16))
    lengths += stride(from: Self.headerEnd + 16, to: Self.valid.count, by: 7)
    for length in lengths {
      let message = Self.error(Array(Self.valid.prefix(length)))
      #expect(message?.hasPrefix("c.safetensors: ") == true, "truncated to \(length) bytes: \(message ?? "read")")
    }
  }

  @Test(arguments: [UInt64(0), 1, 2, 100, UInt64(Int64.max), UInt64.max, 1 << 40])
  func lyingHeaderLengths(declared: UInt64) {
    var bytes = Self.valid
    withUnsafeBytes(of: declared.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    #expect(Self.error(bytes) != nil)
  }

  @Test func headerLengthOffByOne() {
    for delta in [-1, 1] {
      var bytes = Self.valid
      let declared = UInt64(Self.headerEnd - 8 + delta)
      withUnsafeBytes(of: declared.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
      #expect(Self.error(bytes) != nil)
    }
  }

  @Test(arguments: [
    ("overlapping", "overlap"), ("outside", "outside"), ("f64", "F64"), ("i32", "dtype I32"),
    ("shape", "needs"), ("missing", "missing"), ("extra", "belongs to neither"), ("data", "checksum mismatch"),
    ("metadata", "checksum mismatch"), ("no checksum", "no checksum"),
    ("not a checkpoint", "not a Backprop checkpoint"),
  ])
  func damagedPartsAreNamed(damage: String, expected: String) {
    let bytes: [UInt8]
    switch damage {
    case "overlapping":
      bytes = Self.rebuilt(Self.setMember("0.bias", key: "data_offsets", to: .array([.integer(0), .integer(24)])))
    case "outside":
      bytes = Self.rebuilt(
        Self.setMember("0.bias", key: "data_offsets", to: .array([.integer(1 << 20), .integer((1 << 20) + 24)])))
    case "f64":
      // 6 floats' bytes read as 3 doubles: a consistent header with the wrong dtype.
      bytes = Self.rebuilt { members in
        Self.setMember("0.bias", key: "dtype", to: .string("F64"))(&members)
        Self.setMember("0.bias", key: "shape", to: .array([.integer(3)]))(&members)
      }
    case "i32": bytes = Self.rebuilt(Self.setMember("0.bias", key: "dtype", to: .string("I32")))
    case "shape": bytes = Self.rebuilt(Self.setMember("0.bias", key: "shape", to: .array([.integer(7)])))
    case "missing":
      // Renamed: the bytes (and so the checksum) are the same, the name is not.
      bytes = Self.rebuilt { members in
        let index = members.firstIndex { $0.0 == "2.bias" }!
        members[index].0 = "9.bias"
      }
    case "extra":
      // An empty tensor adds no bytes to the checksum.
      bytes = Self.rebuilt { members in
        let end = JSONValue.integer(Self.valid.count - Self.headerEnd)
        members.append(
          (
            "extra",
            .object([
              ("dtype", .string("F32")), ("shape", .array([.integer(0)])), ("data_offsets", .array([end, end])),
            ])
          )
        )
      }
    case "data":
      var copy = Self.valid
      copy[copy.count - 5] ^= 0x40
      bytes = copy
    case "metadata":
      bytes = Self.rebuilt { members in
        guard case .object(var metadata) = members[0].1 else { return }
        let index = metadata.firstIndex { $0.0 == "backprop.seed" || $0.0 == "backprop.threads" }!
        metadata[index].1 = .string("7")
        members[0].1 = .object(metadata)
      }
    case "no checksum":
      bytes = Self.rebuilt { members in
        guard case .object(var metadata) = members[0].1 else { return }
        metadata.removeAll { $0.0 == "backprop.checksum" }
        members[0].1 = .object(metadata)
      }
    default:
      bytes = Self.rebuilt { members in
        guard case .object(var metadata) = members[0].1 else { return }
        metadata.removeAll { $0.0 == "backprop.kind" }
        members[0].1 = .object(metadata)
      }
    }
    let message = Self.error(bytes)
    #expect(
      message?.hasPrefix("c.safetensors: ") == true && message?.contains(expected) == true, "\(message ?? "read")")
  }
}
