/// A protocol-buffer message written field by field, for the two formats
/// Backprop writes that use them: TensorBoard's events and ONNX models.
/// Only encoding, and only the wire types those need.
package struct ProtocolBuffer: Sendable {
  /// The encoded fields so far.
  package private(set) var bytes: [UInt8] = []

  package init() {}

  private mutating func append(varint value: UInt64) {
    var value = value
    while value >= 0x80 {
      bytes.append(UInt8(value & 0x7F) | 0x80)
      value >>= 7
    }
    bytes.append(UInt8(value))
  }

  /// A field's key: its number and wire type.
  private mutating func key(_ field: Int, _ wireType: UInt64) { append(varint: UInt64(field) << 3 | wireType) }

  /// An integer field (int32, int64, enum, bool), two's complement for negatives.
  package mutating func integer(_ field: Int, _ value: Int) {
    key(field, 0)
    append(varint: UInt64(bitPattern: Int64(value)))
  }

  package mutating func double(_ field: Int, _ value: Double) {
    key(field, 1)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
  }

  package mutating func float(_ field: Int, _ value: Float) {
    key(field, 5)
    withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
  }

  package mutating func string(_ field: Int, _ value: String) { data(field, Array(value.utf8)) }

  /// A bytes field.
  package mutating func data(_ field: Int, _ value: [UInt8]) {
    key(field, 2)
    append(varint: UInt64(value.count))
    bytes.append(contentsOf: value)
  }

  package mutating func message(_ field: Int, _ value: ProtocolBuffer) { data(field, value.bytes) }
}
