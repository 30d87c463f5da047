/// Whether all `count` values at `values` are finite.
///
/// Adds `x · 0` over the values in 8 lanes: the sum stays 0 unless some x is
/// NaN or infinite (then `x · 0` is NaN). No branch per value, so it runs at
/// the speed of the loads on a block the update is about to touch anyway.
@inline(__always)
func allFinite(_ values: UnsafePointer<Float>, count: Int) -> Bool {
  var sum = SIMD8<Float>()
  var i = 0
  while i + 8 <= count {
    sum += UnsafeRawPointer(values + i).loadUnaligned(as: SIMD8<Float>.self) * 0
    i += 8
  }
  var tail: Float = 0
  while i < count {
    tail += values[i] * 0
    i += 1
  }
  return (sum.sum() + tail) == 0
}
