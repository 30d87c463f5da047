import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Mutation fuzzing of the file readers: valid safetensors, checkpoint and
/// `.npy` files, damaged at random (bit flips, random and "interesting"
/// bytes, JSON tokens spliced into headers, truncation, insertion, lying
/// lengths), must each give values or a clear error, never a crash (a trap
/// would end the test process). Runs for BACKPROP_FUZZ_SECONDS (default 2;
/// CI runs it for 60).
@Suite struct FuzzTests {
  static let seconds = ProcessInfo.processInfo.environment["BACKPROP_FUZZ_SECONDS"].flatMap(Double.init) ?? 2

  static let corpus: [[UInt8]] = [
    DamagedFileTests.valid,
    Model(spec: try! ModelSpec(parsing: "3-4-tanh-2")).safetensorsBytes(),
    NPYFile.encode(values: [1, 2, 3, 4, 5, 6], shape: [2, 3]),
    NPYFile.encode(values: [0, 1, 2], shape: [3]),
  ]

  static let tokens: [[UInt8]] = [
    "{", "}", "[", "]", "\"", ",", ":", "-1", "0", "1e999", "-0", "18446744073709551616", "9223372036854775807",
    "null", "true", "\"F64\"", "\"BF16\"", "\"F16\"", "\"shape\"", "\"data_offsets\"", "\"__metadata__\"", "\\u0000",
    "'<f4'", "'<i8'", "'>f4'", "True", "(", ")", "(0,)", "(4611686018427387904, 4)",
  ].map { Array($0.utf8) }

  /// One random mutation of `bytes`.
  static func mutate(_ bytes: inout [UInt8], _ random: inout SeededGenerator) {
    switch random.nextIndex(below: 7) {
    case 0 where !bytes.isEmpty:
      bytes[random.nextIndex(below: bytes.count)] ^= UInt8(1) << UInt8(random.nextIndex(below: 8))
    case 1 where !bytes.isEmpty:
      bytes[random.nextIndex(below: bytes.count)] = [0, 0xFF, 0x7F, 0x80, 0x20, 0x22, 0x7B][random.nextIndex(below: 7)]
    case 2:
      // Tokens where the headers are: the first few hundred bytes.
      let at = random.nextIndex(below: min(bytes.count, 400) + 1)
      let token = tokens[random.nextIndex(below: tokens.count)]
      if random.nextIndex(below: 2) == 0 {
        bytes.insert(contentsOf: token, at: at)
      } else {
        bytes.replaceSubrange(at..<min(bytes.count, at + token.count), with: token)
      }
    case 3 where !bytes.isEmpty:
      bytes.removeLast(random.nextIndex(below: bytes.count))
    case 4:
      let at = random.nextIndex(below: bytes.count + 1)
      bytes.insert(
        contentsOf: (0..<random.nextIndex(below: 16)).map { _ in UInt8.random(in: 0...255, using: &random) }, at: at)
    case 5 where bytes.count >= 8:
      // A lying safetensors header length (or .npy header bytes).
      let value: UInt64 = [0, 1, UInt64(bytes.count), UInt64(bytes.count - 8), UInt64.max, 1 << 63][
        random.nextIndex(below: 6)]
      withUnsafeBytes(of: value.littleEndian) { bytes.replaceSubrange(0..<8, with: $0) }
    default:
      if !bytes.isEmpty { bytes[random.nextIndex(below: bytes.count)] = UInt8.random(in: 0...255, using: &random) }
    }
  }

  @Test func readersNeverCrashOnDamagedFiles() {
    var random = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
    let deadline = Date().addingTimeInterval(Self.seconds)
    var runs = 0
    var refused = 0
    while Date() < deadline {
      for _ in 0..<200 {
        var bytes = Self.corpus[random.nextIndex(below: Self.corpus.count)]
        for _ in 0...random.nextIndex(below: 4) { Self.mutate(&bytes, &random) }
        var failures = 0
        do { _ = try Safetensors.parse(bytes, path: "fuzz") } catch { failures += 1 }
        do { _ = try Checkpoint.parse(bytes, path: "fuzz") } catch { failures += 1 }
        do { _ = try NPYFile.parse(bytes, path: "fuzz") } catch { failures += 1 }
        runs += 1
        if failures > 0 { refused += 1 }
      }
    }
    #expect(runs > 0 && refused > 0)
  }

  static let specTokens = [
    "784", "4", "0", "-1", "1", "9223372036854775807", "99999999999999999999", "4294967296", "3037000500", "relu",
    "tanh", "gelu", "sigmoid", "leakyrelu0.2", "leakyrelu-1", "leakyrelunan", "dropout", "dropout0.5", "dropout1",
    "dropoutnan", "dropout-0", "identity", "", " ", "x", "1e9", "+5", "٣", "0x10", "nan",
  ]

  /// Random specs, textual and JSON, from widths that overflow, odd
  /// numbers and names: parsed or refused, and a parsed one has sizes that
  /// are safe to compute.
  @Test func modelSpecParsersNeverCrash() throws {
    var random = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
    let deadline = Date().addingTimeInterval(min(Self.seconds, 20))
    var parsed = 0
    var runs = 0
    while Date() < deadline {
      for _ in 0..<500 {
        let count = 1 + random.nextIndex(below: 6)
        let tokens = (0..<count).map { _ in Self.specTokens[random.nextIndex(below: Self.specTokens.count)] }
        let separator = ["-", "-", "-", "--", " - ", "_"][random.nextIndex(below: 6)]
        var specs: [ModelSpec?] = [try? ModelSpec(parsing: tokens.joined(separator: separator))]
        let layers = tokens.dropFirst().map { token -> String in
          switch random.nextIndex(below: 4) {
          case 0: return "{\"dense\": \(token.isEmpty ? "null" : token)}"
          case 1: return "{\"activation\": \"\(token)\"}"
          case 2: return "{\"dropout\": \(token.isEmpty ? "1" : token)}"
          default: return "{\"dense\": 3, \"\(token)\": 1}"
          }
        }
        let json = "{\"input\": \(tokens[0].isEmpty ? "0" : tokens[0]), \"layers\": [\(layers.joined(separator: ","))]}"
        specs.append((try? JSONValue.parse(Array(json.utf8))).flatMap { try? ModelSpec(json: $0) })
        for spec in specs.compactMap({ $0 }) {
          parsed += 1
          #expect(ParameterLayout(spec: spec).parameterCount <= ModelSpec.maximumParameters)
          #expect(try ModelSpec(parsing: spec.description) == spec)
          _ = Trainer.estimatedBytes(spec: spec, options: TrainingOptions(), samples: Int.max)
        }
        runs += 1
      }
    }
    #expect(runs > 0 && parsed > 0)
  }

  /// Checkpoints whose position is forged with a matching checksum: refused
  /// by ``Checkpoint/positionProblem(options:samples:)`` or resumed, never a trap.
  @Test func forgedCheckpointsNeverCrash() throws {
    var random = SeededGenerator(seed: UInt64(Date().timeIntervalSince1970))
    var data = TestData(seed: 2)
    let training = data.classification(rows: 20, features: 4, classes: 3)
    let original = try Checkpoint.parse(DamagedFileTests.valid, path: "fuzz")
    let contents = try Safetensors.parse(DamagedFileTests.valid, path: "fuzz")
    let fields = [
      "epoch", "batch", "steps", "skipped_batches", "loss_sum", "correct", "seen", "best_epoch", "best_loss",
    ]
    let values = ["0", "1", "2", "3", "4", "5", "-1", "20", "21", "9223372036854775807", "1e300", "null", "0.5"]
    let deadline = Date().addingTimeInterval(min(Self.seconds, 20))
    var resumed = 0
    var refused = 0
    while Date() < deadline {
      var members: [(String, JSONValue)] = []
      for field in fields {
        let text = values[random.nextIndex(below: values.count)]
        members.append((field, (try? JSONValue.parse(Array(text.utf8))) ?? .null))
      }
      var changed = contents
      changed.metadata["backprop.position"] = JSONValue.object(members).serialized()
      let bytes = HostileInputTests.forged(changed)
      guard let checkpoint = try? Checkpoint.parse(bytes, path: "fuzz"),
        checkpoint.positionProblem(options: original.options, samples: training.count) == nil
      else {
        refused += 1
        continue
      }
      var options = checkpoint.options
      options.epochs = checkpoint.position.epoch + 1
      let trainer = Trainer(model: Model(spec: checkpoint.spec), training: training, options: options)
      trainer.restore(from: checkpoint)
      _ = try? trainer.train()
      resumed += 1
    }
    #expect(refused > 0)
    _ = resumed
  }
}
