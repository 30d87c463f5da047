/// Reads and writes NumPy `.npy` files.
///
/// Reading accepts C-order arrays of float32/float64 and of every integer
/// type (either byte order); anything else (Fortran order, objects, strings,
/// structured or complex types) is refused with a clear message. Writing
/// produces little-endian float32 arrays.
public enum NPYFile {
  /// An array read from a `.npy` file, converted to `Float`.
  public struct Contents: Sendable {
    /// The shape, outermost first.
    public var shape: [Int]
    /// The values, row-major.
    public var values: [Float]
    /// Whether the stored type was an integer (or boolean) type.
    public var isInteger: Bool
    /// Whether the stored type was unsigned bytes (`|u1`), such as pixels.
    public var isUnsignedBytes: Bool = false
  }

  private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]  // "\x93NUMPY"

  /// Reads the file at `path`.
  ///
  /// - Throws: ``DatasetError`` naming the file and what is wrong.
  public static func read(_ path: String) throws(DatasetError) -> Contents {
    try parse(
      try FileBytes.read(path, announcedSize: { (head) throws(DatasetError) in try announcedSize(head, path: path) }),
      path: path)
  }

  /// Whether `bytes` start with the `.npy` magic string.
  static func hasMagic(_ bytes: [UInt8]) -> Bool { bytes.count >= 6 && Array(bytes[0..<6]) == magic }

  /// The file size the header at the start of `head` announces.
  ///
  /// - Throws: ``DatasetError`` when `head` is not the start of a `.npy` file.
  static func announcedSize(_ head: [UInt8], path: String) throws(DatasetError) -> Int {
    let header = try Header(head, path: path)
    return header.dataStart + header.dataBytes
  }

  /// What a `.npy` header says: the shape, the element type and where the data starts.
  private struct Header {
    var descr: String
    var shape: [Int]
    var type: ElementType
    var total: Int
    var dataStart: Int
    var dataBytes: Int

    init(_ bytes: [UInt8], path: String) throws(DatasetError) {
      guard bytes.count >= 10, NPYFile.hasMagic(bytes) else {
        throw .malformed(
          path: path, reason: "not a NumPy .npy file (it does not start with the magic string \\x93NUMPY)")
      }
      let major = bytes[6]
      let headerLength: Int
      let headerStart: Int
      switch major {
      case 1:
        headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        headerStart = 10
      case 2, 3:
        guard bytes.count >= 12 else { throw .malformed(path: path, reason: "truncated .npy header") }
        headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        headerStart = 12
      default:
        throw .malformed(path: path, reason: "unsupported .npy format version \(major)")
      }
      guard headerLength <= bytes.count - headerStart else {
        throw .malformed(path: path, reason: "truncated .npy header (it announces \(headerLength) bytes)")
      }
      let header = String(decoding: bytes[headerStart..<(headerStart + headerLength)], as: UTF8.self)
      let dataStart = headerStart + headerLength

      guard let descr = quotedValue(of: "descr", in: header) else {
        if header.contains("'descr': [") || header.contains("\"descr\": [") {
          throw .malformed(path: path, reason: "structured .npy arrays are not supported; save a plain numeric array")
        }
        throw .malformed(path: path, reason: "the .npy header has no 'descr' string")
      }
      guard let fortran = rawValue(of: "fortran_order", in: header) else {
        throw .malformed(path: path, reason: "the .npy header has no 'fortran_order'")
      }
      if fortran.hasPrefix("True") {
        throw .malformed(
          path: path, reason: "Fortran-ordered .npy arrays are not supported; save with np.ascontiguousarray")
      }
      guard let shape = shapeValue(in: header) else {
        throw .malformed(path: path, reason: "the .npy header's 'shape' is not a tuple of sizes")
      }

      let type = try ElementType(descr: descr, path: path)
      var total = 1
      for size in shape {
        let (product, overflow) = total.multipliedReportingOverflow(by: size)
        guard !overflow, size >= 0 else { throw .malformed(path: path, reason: "impossible shape \(shape)") }
        total = product
      }
      let (needed, overflow) = total.multipliedReportingOverflow(by: type.size)
      guard !overflow, needed <= Int.max - dataStart else {
        throw .malformed(path: path, reason: "impossible shape \(shape)")
      }
      self.descr = descr
      self.shape = shape
      self.type = type
      self.total = total
      self.dataStart = dataStart
      self.dataBytes = needed
    }
  }

  /// Parses `.npy` `bytes` that came from `path` (used in messages).
  public static func parse(_ bytes: [UInt8], path: String) throws(DatasetError) -> Contents {
    let header = try Header(bytes, path: path)
    let (descr, shape, type, total, dataStart, needed) = (
      header.descr, header.shape, header.type, header.total, header.dataStart, header.dataBytes
    )
    guard needed <= bytes.count - dataStart else {
      throw .malformed(
        path: path,
        reason:
          "truncated: the header announces shape \(shape) of \(descr) (\(total) values) but the file holds \(bytes.count - dataStart) bytes of data"
      )
    }
    guard needed == bytes.count - dataStart else {
      throw .malformed(
        path: path,
        reason:
          "the header announces shape \(shape) of \(descr) but \(bytes.count - dataStart - needed) bytes follow the data"
      )
    }
    var values = [Float](repeating: 0, count: total)
    bytes.withUnsafeBufferPointer { source in
      values.withUnsafeMutableBufferPointer { target in
        type.convert(source.baseAddress! + dataStart, into: target.baseAddress!, count: total)
      }
    }
    return Contents(
      shape: shape, values: values, isInteger: type.kind != "f", isUnsignedBytes: type.kind == "u" && type.size == 1)
  }

  /// The bytes of a little-endian float32 `.npy` file of `shape` holding `values`.
  public static func encode(values: [Float], shape: [Int]) -> [UInt8] {
    precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
    let shapeText = shape.count == 1 ? "(\(shape[0]),)" : "(" + shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shapeText), }"
    // The header, with its 10-byte prefix, is padded to a multiple of 64 and ends in a newline.
    let padded = (10 + header.utf8.count + 1 + 63) / 64 * 64
    header += String(repeating: " ", count: padded - 10 - header.utf8.count - 1) + "\n"
    let length = header.utf8.count
    var bytes = magic + [1, 0, UInt8(length & 0xFF), UInt8(length >> 8)]
    bytes += Array(header.utf8)
    bytes.reserveCapacity(bytes.count + 4 * values.count)
    for value in values {
      let bits = value.bitPattern.littleEndian
      withUnsafeBytes(of: bits) { bytes.append(contentsOf: $0) }
    }
    return bytes
  }

  /// An element type named by a NumPy `descr` such as `<f4` or `|u1`.
  private struct ElementType {
    let kind: Character
    let size: Int
    let bigEndian: Bool

    init(descr: String, path: String) throws(DatasetError) {
      let characters = Array(descr)
      guard characters.count >= 2 else { throw .malformed(path: path, reason: "unknown .npy dtype '\(descr)'") }
      var index = 0
      if "<>|=".contains(characters[0]) { index = 1 }
      bigEndian = characters[0] == ">"
      kind = characters[index]
      let sizeText = String(characters[(index + 1)...])
      switch kind {
      case "O":
        throw .malformed(path: path, reason: "object arrays (dtype '\(descr)') are not supported; save a numeric array")
      case "f", "i", "u", "b":
        break
      default:
        throw .malformed(
          path: path, reason: "unsupported .npy dtype '\(descr)' (use float32, float64 or an integer type)")
      }
      guard let size = Int(sizeText),
        kind == "f" ? (size == 4 || size == 8) : [1, 2, 4, 8].contains(size)
      else {
        throw .malformed(
          path: path, reason: "unsupported .npy dtype '\(descr)' (use float32, float64 or an integer type)")
      }
      self.size = size
    }

    func convert(_ source: UnsafePointer<UInt8>, into target: UnsafeMutablePointer<Float>, count: Int) {
      for i in 0..<count {
        var bits: UInt64 = 0
        let start = source + i * size
        for b in 0..<size {
          let byte = UInt64(start[bigEndian ? size - 1 - b : b])
          bits |= byte << (8 * b)
        }
        switch (kind, size) {
        case ("f", 4): target[i] = Float(bitPattern: UInt32(truncatingIfNeeded: bits))
        case ("f", _): target[i] = Float(Double(bitPattern: bits))
        case ("i", _):
          // Sign-extend from `size` bytes.
          let shift = UInt64(64 - 8 * size)
          target[i] = Float(Int64(bitPattern: bits << shift) >> shift)
        default: target[i] = Float(bits)
        }
      }
    }
  }

  /// The text between quotes after `'key':` in a header dictionary.
  private static func quotedValue(of key: String, in header: String) -> String? {
    guard let raw = rawValue(of: key, in: header), let quote = raw.first, quote == "'" || quote == "\""
    else { return nil }
    let rest = raw.dropFirst()
    guard let end = rest.firstIndex(of: quote) else { return nil }
    return String(rest[..<end])
  }

  /// The text after `'key':` in a header dictionary, leading spaces removed.
  private static func rawValue(of key: String, in header: String) -> Substring? {
    for quoted in ["'\(key)'", "\"\(key)\""] {
      if let range = header.firstRange(of: quoted) {
        var rest = header[range.upperBound...].drop { $0 == " " }
        guard rest.first == ":" else { continue }
        rest = rest.dropFirst().drop { $0 == " " }
        return rest
      }
    }
    return nil
  }

  /// The sizes of the `'shape'` tuple.
  private static func shapeValue(in header: String) -> [Int]? {
    guard let raw = rawValue(of: "shape", in: header), raw.first == "(",
      let end = raw.firstIndex(of: ")")
    else { return nil }
    let inside = raw[raw.index(after: raw.startIndex)..<end]
    var sizes: [Int] = []
    for part in inside.split(separator: ",") {
      let text = part.trimmingWhitespace()
      if text.isEmpty { continue }
      guard let size = Int(text.hasSuffix("L") ? String(text.dropLast()) : text), size >= 0 else { return nil }
      sizes.append(size)
    }
    return sizes
  }
}
