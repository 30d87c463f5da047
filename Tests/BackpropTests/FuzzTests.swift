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
}
