/// CRC-32C (Castagnoli), the checksum TFRecord files frame their records
/// with, and its "masked" form (rotated and offset, so that a checksum of
/// data that holds checksums does not look like one). Table-driven: the
/// records of a training log are a few hundred bytes an epoch.
public enum CRC32C {
  /// The reflected polynomial 0x1EDC6F41.
  private static let table: [UInt32] = (0..<256).map { byte in
    var crc = UInt32(byte)
    for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0x82F6_3B78 : crc >> 1 }
    return crc
  }

  /// The checksum of `bytes`.
  public static func checksum(_ bytes: some Collection<UInt8>) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
    return ~crc
  }

  /// The masked checksum of `bytes`, as TFRecord stores it.
  public static func masked(_ bytes: some Collection<UInt8>) -> UInt32 {
    let crc = checksum(bytes)
    return ((crc >> 15) | (crc << 17)) &+ 0xA282_EAD8
  }
}
