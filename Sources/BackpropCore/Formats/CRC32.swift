import CDeflate

/// CRC-32 (the gzip/zlib polynomial) through libdeflate, which folds with
/// carry-less multiplies: a checksum of a data set or checkpoint runs at
/// memory speed.
public struct CRC32: Sendable, Hashable {
  /// The checksum of everything added so far.
  public private(set) var value: UInt32 = 0

  /// A checksum of nothing yet.
  public init() {}

  /// Adds `bytes` to the checksum.
  public mutating func add(_ bytes: UnsafeRawBufferPointer) {
    guard let base = bytes.baseAddress, bytes.count > 0 else { return }
    // Pieces of at most 1 GiB, so no length ever nears a C size limit.
    var offset = 0
    while offset < bytes.count {
      let count = min(bytes.count - offset, 1 << 30)
      value = libdeflate_crc32(value, base + offset, count)
      offset += count
    }
  }

  /// Adds the bytes of `values` (as laid out in memory) to the checksum.
  public mutating func add<T: BitwiseCopyable>(contentsOf values: [T]) {
    values.withUnsafeBytes { add($0) }
  }

  /// Adds the UTF-8 bytes of `text` to the checksum.
  public mutating func add(_ text: String) {
    var text = text
    text.withUTF8 { add(UnsafeRawBufferPointer($0)) }
  }

  /// The checksum as 8 lowercase hex digits.
  public var hex: String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 8 - digits.count) + digits
  }
}
