/// Whether all `count` values at `values` are finite.
///
/// Adds `x - x` over the values: the sums stay 0 unless some x is NaN or
/// infinite (then `x - x` is NaN). No branch per value, and four independent
/// 8-lane sums so the adds' latency does not bound the loop: it runs at the
/// speed of the loads, on a block the update is about to touch anyway.
@inline(__always)
package func allFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
  var (a, b, c, d) = (SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>(), SIMD8<Float>())
  let raw = UnsafeRawPointer(values)
  var i = 0
  while i + 32 <= count {
    let (x, y) = (
      raw.loadUnaligned(fromByteOffset: 4 * i, as: SIMD8<Float>.self),
      raw.loadUnaligned(fromByteOffset: 4 * i + 32, as: SIMD8<Float>.self)
    )
    let (z, w) = (
      raw.loadUnaligned(fromByteOffset: 4 * i + 64, as: SIMD8<Float>.self),
      raw.loadUnaligned(fromByteOffset: 4 * i + 96, as: SIMD8<Float>.self)
    )
    a += x - x
    b += y - y
    c += z - z
    d += w - w
    i += 32
  }
  var tail: Float = 0
  while i < count {
    tail += values[i] - values[i]
    i += 1
  }
  return ((a + b) + (c + d)).sum() + tail == 0
}
