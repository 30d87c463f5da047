/// Copies `count` floats from `source` to `destination` (which must not
/// overlap) with 32-byte vector moves.
///
/// Why not `memcpy`: for copies of a few kilobytes glibc uses `rep movsb`,
/// which on the project's Zen 3 VMs moved a batch's gathered rows (3 KB each)
/// at about 2.5 GB/s, a tenth of what this loop does; the gather was 8% of a
/// training step.
///
/// - Complexity: O(`count`).
func copyFloats(from source: UnsafePointer<Float>, to destination: UnsafeMutablePointer<Float>, count: Int) {
  var i = 0
  while i + 8 <= count {
    let vector = UnsafeRawPointer(source + i).loadUnaligned(as: SIMD8<Float>.self)
    UnsafeMutableRawPointer(destination + i).storeBytes(of: vector, as: SIMD8<Float>.self)
    i += 8
  }
  while i < count {
    destination[i] = source[i]
    i += 1
  }
}

/// Copies rows `indices` of `source` (rows of `width` floats) into
/// consecutive rows of `destination`, four rows at a time with their moves
/// interleaved: the rows lie at random places in a data set far larger than
/// the caches, and four streams of misses in flight at once keep more of the
/// memory system busy than one row after another.
///
/// - Complexity: O(`indices.count` × `width`).
package func gatherRows(
  _ indices: UnsafeBufferPointer<Int>, of source: UnsafePointer<Float>, width: Int,
  into destination: UnsafeMutablePointer<Float>
) {
  var row = 0
  while row + 4 <= indices.count {
    let s0 = UnsafeRawPointer(source + indices[row] * width)
    let s1 = UnsafeRawPointer(source + indices[row + 1] * width)
    let s2 = UnsafeRawPointer(source + indices[row + 2] * width)
    let s3 = UnsafeRawPointer(source + indices[row + 3] * width)
    let d = UnsafeMutableRawPointer(destination + row * width)
    let rowBytes = width * MemoryLayout<Float>.stride
    var byte = 0
    while byte + 32 <= rowBytes {
      let v0 = s0.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      let v1 = s1.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      let v2 = s2.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      let v3 = s3.loadUnaligned(fromByteOffset: byte, as: SIMD8<Float>.self)
      d.storeBytes(of: v0, toByteOffset: byte, as: SIMD8<Float>.self)
      d.storeBytes(of: v1, toByteOffset: byte + rowBytes, as: SIMD8<Float>.self)
      d.storeBytes(of: v2, toByteOffset: byte + 2 * rowBytes, as: SIMD8<Float>.self)
      d.storeBytes(of: v3, toByteOffset: byte + 3 * rowBytes, as: SIMD8<Float>.self)
      byte += 32
    }
    if byte < rowBytes {
      // Widths that are not a multiple of 8: the last few floats of each row.
      let column = byte / MemoryLayout<Float>.stride
      for k in 0..<4 {
        copyFloats(
          from: source + indices[row + k] * width + column, to: destination + (row + k) * width + column,
          count: width - column)
      }
    }
    row += 4
  }
  while row < indices.count {
    copyFloats(from: source + indices[row] * width, to: destination + row * width, count: width)
    row += 1
  }
}
