/// Reads and writes `.safetensors` files: an 8-byte little-endian header
/// length, a JSON header naming each tensor's dtype, shape and byte range,
/// then the raw little-endian data.
///
/// The reader trusts nothing it has not checked: the header length against
/// the file's size, every range against the data, every shape against its
/// range, so any bytes at all give either tensors or a clear error.
public enum Safetensors {
  /// One tensor as stored: its name, shape and values (converted to `Float`).
  public struct Tensor: Sendable, Hashable {
    /// The tensor's name, such as `0.weight`.
    public var name: String
    /// The shape, outermost first.
    public var shape: [Int]
    /// The values, row-major.
    public var values: [Float]
    /// The type the values had in the file (`F32`, `F64`, `F16`, `BF16`,
    /// or `I64` for counts); files are written as `F32`, counts as `I64`.
    public var dtype: String

    /// Creates a tensor, checking that the shape holds the values.
    public init(name: String, shape: [Int], values: [Float], dtype: String = "F32") {
      precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) does not hold \(values.count) values")
      self.name = name
      self.shape = shape
      self.values = values
      self.dtype = dtype
    }
  }

  /// A file's tensors, in the order of their data, and its metadata.
  public struct Contents: Sendable {
    /// The tensors, in the order of their data in the file.
    public var tensors: [Tensor]
    /// The `__metadata__` strings.
    public var metadata: [String: String]

    /// The tensor named `name`, if present.
    public func tensor(named name: String) -> Tensor? { tensors.first { $0.name == name } }
  }

  /// A damaged or unreadable safetensors file.
  public struct FormatError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// What is wrong.
    public let reason: String
    public var description: String { "\(path): \(reason)" }
  }

  /// A tensor to write, borrowed from its owner's memory: no copy is made.
  public struct View {
    /// The tensor's name.
    public var name: String
    /// The shape, outermost first.
    public var shape: [Int]
    /// The values, row-major (as many as the shape holds).
    public var values: UnsafeBufferPointer<Float>
    /// Whether the values are whole numbers written as `I64` (a count, such
    /// as BatchNorm's `num_batches_tracked`) rather than `F32`.
    public var isCount: Bool

    /// Creates a view, checking that the shape holds the values.
    public init(name: String, shape: [Int], values: UnsafeBufferPointer<Float>, isCount: Bool = false) {
      precondition(shape.reduce(1, *) == values.count, "\(name): shape \(shape) does not hold \(values.count) values")
      self.name = name
      self.shape = shape
      self.values = values
      self.isCount = isCount
    }
  }

  /// The header of a file holding `tensors` (as F32, or I64 for counts, in
  /// this order) and `metadata`: the 8-byte length and the JSON, padded so
  /// the data starts 8-byte aligned, as the reference writer does.
  public static func header(for tensors: [View], metadata: [String: String]) -> [UInt8] {
    header(for: tensors.map { ($0.name, $0.shape, $0.values.count, $0.isCount) }, metadata: metadata)
  }

  private static func header(
    for tensors: [(name: String, shape: [Int], count: Int, isCount: Bool)], metadata: [String: String]
  ) -> [UInt8] {
    var members: [(String, JSONValue)] = []
    if !metadata.isEmpty {
      members.append(("__metadata__", .object(metadata.sorted { $0.key < $1.key }.map { ($0.key, .string($0.value)) })))
    }
    var offset = 0
    for tensor in tensors {
      let end = offset + (tensor.isCount ? 8 : 4) * tensor.count
      members.append(
        (
          tensor.name,
          .object([
            ("dtype", .string(tensor.isCount ? "I64" : "F32")), ("shape", .array(tensor.shape.map { .integer($0) })),
            ("data_offsets", .array([.integer(offset), .integer(end)])),
          ])
        ))
      offset = end
    }
    var header = Array(JSONValue.object(members).serialized().utf8)
    while (8 + header.count) % 8 != 0 { header.append(UInt8(ascii: " ")) }
    var bytes: [UInt8] = []
    bytes.reserveCapacity(8 + header.count)
    withUnsafeBytes(of: UInt64(header.count).littleEndian) { bytes.append(contentsOf: $0) }
    return bytes + header
  }

  /// Writes `tensors` and `metadata` to `path` atomically (see
  /// ``AtomicFile``), straight from the tensors' memory.
  public static func write(_ tensors: [View], metadata: [String: String], to path: String)
    throws(AtomicFile.WriteError)
  {
    let header = header(for: tensors, metadata: metadata)
    // Counts are few and small: their bytes are made here, the rest written from memory.
    var counts: [UInt8] = []
    for tensor in tensors where tensor.isCount { counts += integerBytes(tensor.values) }
    // Floats are stored little-endian, as in memory on every host Backprop runs on.
    let result = header.withUnsafeBytes { header in
      counts.withUnsafeBytes { counts in
        Result { () throws(AtomicFile.WriteError) in
          var parts = [header]
          var next = 0
          for tensor in tensors {
            if tensor.isCount {
              parts.append(UnsafeRawBufferPointer(rebasing: counts[next..<(next + 8 * tensor.values.count)]))
              next += 8 * tensor.values.count
            } else {
              parts.append(UnsafeRawBufferPointer(tensor.values))
            }
          }
          try AtomicFile.write(parts: parts, to: path)
        }
      }
    }
    try result.get()
  }

  /// Whole numbers as little-endian `I64` bytes.
  private static func integerBytes(_ values: some Collection<Float>) -> [UInt8] {
    var bytes: [UInt8] = []
    for value in values {
      withUnsafeBytes(of: (Int64(exactly: value.rounded()) ?? 0).littleEndian) { bytes.append(contentsOf: $0) }
    }
    return bytes
  }

  /// The bytes of a safetensors file holding `tensors` (as F32, or I64
  /// where their dtype says so) and `metadata`.
  public static func encode(tensors: [Tensor], metadata: [String: String]) -> [UInt8] {
    var bytes = header(
      for: tensors.map { ($0.name, $0.shape, $0.values.count, $0.dtype == "I64") }, metadata: metadata)
    for tensor in tensors {
      if tensor.dtype == "I64" {
        bytes += integerBytes(tensor.values)
      } else {
        tensor.values.withUnsafeBytes { bytes.append(contentsOf: $0) }
      }
    }
    return bytes
  }

  /// Reads the file at `path`.
  ///
  /// - Throws: ``FormatError`` naming the file and what is wrong.
  public static func read(_ path: String) throws(FormatError) -> Contents {
    let bytes: [UInt8]
    do {
      bytes = try FileBytes.read(path)
    } catch {
      throw FormatError(path: path, reason: error.description.dropPrefix(path + ": "))
    }
    return try parse(bytes, path: path)
  }

  /// Parses safetensors `bytes` that came from `path` (used in messages).
  public static func parse(_ bytes: [UInt8], path: String) throws(FormatError) -> Contents {
    func fail(_ reason: String) -> FormatError { FormatError(path: path, reason: reason) }
    guard bytes.count >= 8 else { throw fail("not a safetensors file: \(bytes.count) bytes, too short for a header") }
    let declared = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[$1]) << (8 * UInt64($1)) }
    guard declared <= UInt64(bytes.count - 8) else {
      throw fail(
        "damaged safetensors header: it claims \(declared) bytes but the file has \(bytes.count - 8) after the length")
    }
    let headerEnd = 8 + Int(declared)
    let header: JSONValue
    do {
      header = try JSONValue.parse(bytes[8..<headerEnd])
    } catch {
      throw fail("damaged safetensors header: not valid JSON (\(error.description))")
    }
    guard case .object(let members) = header else { throw fail("damaged safetensors header: not a JSON object") }
    let dataSize = bytes.count - headerEnd
    var metadata: [String: String] = [:]
    var entries: [(name: String, dtype: String, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in members {
      if name == "__metadata__" {
        guard case .object(let pairs) = value else {
          throw fail("damaged safetensors header: __metadata__ is not an object")
        }
        for (key, item) in pairs {
          guard let text = item.stringValue else {
            throw fail("damaged safetensors header: metadata '\(key)' is not a string")
          }
          metadata[key] = text
        }
        continue
      }
      guard let dtype = value["dtype"]?.stringValue,
        case .array(let shapeValues) = value["shape"],
        case .array(let offsetValues) = value["data_offsets"], offsetValues.count == 2
      else { throw fail("damaged safetensors header: tensor '\(name)' lacks dtype, shape or data_offsets") }
      let shape = shapeValues.compactMap { $0.integerValue }
      guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else {
        throw fail("damaged safetensors header: tensor '\(name)' has an invalid shape")
      }
      guard let begin = offsetValues[0].integerValue, let end = offsetValues[1].integerValue,
        begin >= 0, begin <= end, end <= dataSize
      else {
        throw fail(
          "damaged safetensors header: tensor '\(name)' has data offsets outside the file's \(dataSize) data bytes")
      }
      guard let itemSize = ["F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8][dtype] else {
        throw fail("tensor '\(name)' has dtype \(dtype); only F32, F64, F16, BF16 and I64 are read")
      }
      var count = 1
      for size in shape {
        let (product, overflow) = count.multipliedReportingOverflow(by: size)
        guard !overflow else {
          throw fail("damaged safetensors header: tensor '\(name)' has an impossible shape \(shape)")
        }
        count = product
      }
      guard count.multipliedReportingOverflow(by: itemSize) == (end - begin, false) else {
        throw fail(
          "tensor '\(name)': shape \(shape) of \(dtype) needs \(count * itemSize) bytes but its data offsets span \(end - begin)"
        )
      }
      entries.append((name, dtype, shape, begin, end))
    }
    // Ranges must not overlap (the format also forbids holes; overlap is what could mislead).
    let sorted = entries.sorted { $0.begin < $1.begin }
    for (a, b) in zip(sorted, sorted.dropFirst()) where b.begin < a.end {
      throw fail("damaged safetensors header: tensors '\(a.name)' and '\(b.name)' overlap")
    }
    let used = sorted.last?.end ?? 0
    guard used == dataSize else {
      throw fail("damaged: \(dataSize - used) bytes follow the last tensor's data")
    }
    var tensors: [Tensor] = []
    for entry in sorted {
      let data = headerEnd + entry.begin
      let count = entry.shape.reduce(1, *)
      var values = [Float](repeating: 0, count: count)
      if entry.dtype == "F32" {
        // Little-endian in the file and in memory: one copy.
        values.withUnsafeMutableBytes { target in
          bytes.withUnsafeBytes { source in
            target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[data..<(data + 4 * count)]))
          }
        }
        tensors.append(Tensor(name: entry.name, shape: entry.shape, values: values))
        continue
      }
      for i in 0..<count {
        switch entry.dtype {
        case "F64":
          values[i] = Float(
            Double(
              bitPattern: UInt64(littleEndian(bytes, data + 8 * i, 4))
                | UInt64(littleEndian(bytes, data + 8 * i + 4, 4)) << 32))
        case "I64":
          let bits =
            UInt64(littleEndian(bytes, data + 8 * i, 4)) | UInt64(littleEndian(bytes, data + 8 * i + 4, 4)) << 32
          values[i] = Float(Int64(bitPattern: bits))
        case "BF16":
          values[i] = Float(bitPattern: littleEndian(bytes, data + 2 * i, 2) << 16)
        default:
          values[i] = Float(Float16(bitPattern: UInt16(littleEndian(bytes, data + 2 * i, 2))))
        }
      }
      tensors.append(Tensor(name: entry.name, shape: entry.shape, values: values, dtype: entry.dtype))
    }
    return Contents(tensors: tensors, metadata: metadata)
  }

  private static func littleEndian(_ bytes: [UInt8], _ offset: Int, _ size: Int) -> UInt32 {
    var value: UInt32 = 0
    for i in 0..<size { value |= UInt32(bytes[offset + i]) << (8 * UInt32(i)) }
    return value
  }
}

extension String {
  package func dropPrefix(_ prefix: String) -> String {
    hasPrefix(prefix) ? String(dropFirst(prefix.count)) : self
  }
}
