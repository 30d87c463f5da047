/// Reads IDX files (the MNIST family's format), plain or gzip-compressed.
///
/// An IDX file is a 4-byte magic number (two zero bytes, a type code, the
/// number of dimensions), one big-endian 32-bit size per dimension, then the
/// values, big-endian, row-major.
public enum IDXReader {
  /// The values of an IDX file as `Float`s, with its shape.
  public struct Contents: Sendable {
    /// The sizes of the dimensions, outermost first.
    public var shape: [Int]
    /// The values, row-major.
    public var values: [Float]
    /// Whether the stored type was an integer type.
    public var isInteger: Bool
  }

  /// Reads the file at `path`, dividing every value by `divisor` (255 turns
  /// pixel bytes into [0, 1], as torchvision's `ToTensor` does).
  ///
  /// - Throws: ``DatasetError`` naming the file for a wrong magic number, an
  ///   unknown type code, or a size that disagrees with the data.
  public static func read(_ path: String, dividingBy divisor: Float = 1) throws(DatasetError) -> Contents {
    let bytes = try FileBytes.read(
      path, announcedSize: { (head) throws(DatasetError) in try announcedSize(head, path: path) })
    return try parse(bytes, path: path, dividingBy: divisor)
  }

  /// The file size the header at the start of `head` announces.
  ///
  /// - Throws: ``DatasetError`` when `head` is not the start of an IDX file.
  static func announcedSize(_ head: [UInt8], path: String) throws(DatasetError) -> Int {
    let header = try Header(head, path: path)
    return header.size + header.total * header.itemSize
  }

  /// An IDX header: the type code, the shape, and its own size.
  private struct Header {
    var type: UInt8
    var itemSize: Int
    var shape: [Int] = []
    var total = 1
    var size: Int

    init(_ bytes: [UInt8], path: String) throws(DatasetError) {
      guard bytes.count >= 4 else {
        throw .malformed(path: path, reason: "too short for an IDX file (\(bytes.count) bytes)")
      }
      guard bytes[0] == 0, bytes[1] == 0 else {
        throw .malformed(
          path: path,
          reason: "wrong IDX magic number 0x\(hex(bytes[0..<4])) (an IDX file starts with two zero bytes)")
      }
      type = bytes[2]
      switch type {
      case 0x08, 0x09: itemSize = 1
      case 0x0B: itemSize = 2
      case 0x0C, 0x0D: itemSize = 4
      case 0x0E: itemSize = 8
      default:
        throw .malformed(path: path, reason: "unknown IDX type code 0x\(hex(bytes[2..<3])) in the magic number")
      }
      let dimensions = Int(bytes[3])
      guard dimensions >= 1 else { throw .malformed(path: path, reason: "IDX file with zero dimensions") }
      size = 4 + 4 * dimensions
      guard bytes.count >= size else {
        throw .malformed(path: path, reason: "truncated IDX header (\(dimensions) dimensions need \(size) bytes)")
      }
      for d in 0..<dimensions {
        let length = Int(readBigEndian(bytes, at: 4 + 4 * d, size: 4))
        shape.append(length)
        let (product, overflow) = total.multipliedReportingOverflow(by: length)
        guard !overflow, product <= Int.max / 16 else {
          throw .malformed(path: path, reason: "header announces an impossible shape (sizes \(shape)…)")
        }
        total = product
      }
    }
  }

  /// Parses IDX `bytes` that came from `path` (used in messages), dividing
  /// every value by `divisor` in the same pass that converts it.
  public static func parse(
    _ bytes: [UInt8], path: String, dividingBy divisor: Float = 1, loop: ParallelLoop = .serial
  ) throws(DatasetError)
    -> Contents
  {
    let header = try Header(bytes, path: path)
    let (headerSize, itemSize, shape, total, type) = (
      header.size, header.itemSize, header.shape, header.total, header.type
    )
    let expected = headerSize + total * itemSize
    guard bytes.count >= expected else {
      throw .malformed(
        path: path,
        reason: "truncated: header announces shape \(shape) (\(expected) bytes) but the file has \(bytes.count)")
    }
    guard bytes.count == expected else {
      throw .malformed(
        path: path,
        reason: "\(bytes.count - expected) unexpected bytes after the \(shape) values the header announces")
    }
    // Written once, in one pass: no zeroing first (the array can be hundreds of MB).
    let values = [Float](unsafeUninitializedCapacity: total) { target, initialized in
      bytes.withUnsafeBufferPointer { source in
        let data = source.baseAddress! + headerSize
        switch type {
        case 0x08:
          // The common case (images) is cut into chunks for `loop`: a data
          // set of hundreds of MB spends as much time faulting in fresh
          // pages as converting, and both go faster side by side.
          let chunk = 1 << 20
          // Each piece writes only its own chunk of the array.
          nonisolated(unsafe) let (source, destination) = (data, target.baseAddress!)
          loop.run((total + chunk - 1) / chunk) { c in
            for i in (c * chunk)..<min(total, (c + 1) * chunk) { destination[i] = Float(source[i]) / divisor }
          }
        case 0x09:
          for i in 0..<total { target[i] = Float(Int8(bitPattern: data[i])) }
        case 0x0B:
          for i in 0..<total {
            target[i] = Float(Int16(bitPattern: UInt16(data[2 * i]) << 8 | UInt16(data[2 * i + 1])))
          }
        case 0x0C:
          for i in 0..<total { target[i] = Float(Int32(bitPattern: UInt32(readBigEndian(data + 4 * i, size: 4)))) }
        case 0x0D:
          for i in 0..<total { target[i] = Float(bitPattern: UInt32(readBigEndian(data + 4 * i, size: 4))) }
        default:
          for i in 0..<total { target[i] = Float(Double(bitPattern: readBigEndian(data + 8 * i, size: 8))) }
        }
        if type != 0x08 && divisor != 1 {
          for i in 0..<total { target[i] /= divisor }
        }
      }
      initialized = total
    }
    return Contents(shape: shape, values: values, isInteger: type <= 0x0C)
  }

  private static func readBigEndian(_ bytes: [UInt8], at offset: Int, size: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<size { value = value << 8 | UInt64(bytes[offset + i]) }
    return value
  }

  private static func readBigEndian(_ pointer: UnsafePointer<UInt8>, size: Int) -> UInt64 {
    var value: UInt64 = 0
    for i in 0..<size { value = value << 8 | UInt64(pointer[i]) }
    return value
  }

  private static func hex(_ bytes: ArraySlice<UInt8>) -> String {
    bytes.map { byte in
      let digits = Array("0123456789abcdef")
      return String([digits[Int(byte >> 4)], digits[Int(byte & 15)]])
    }.joined()
  }
}
