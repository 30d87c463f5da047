/// The reduction of an all-reduce's reduce-scatter: one run of the mean of
/// several workers' gradient buffers.
public enum ShardReduction {
  /// `mean[i] = (shards[0][i] + shards[1][i] + … ) · scale` for `i` in
  /// `range`, the buffers added in their order (so the result does not
  /// depend on who computes it).
  ///
  /// - Parameters:
  ///   - shards: the buffers, each at least `range.upperBound` long; every
  ///     entry must be set.
  ///   - scale: 1/B for the mean of B samples.
  ///   - mean: where the run goes (the same flat layout).
  public static func mean(
    of shards: UnsafeBufferPointer<UnsafeMutablePointer<Float>?>, range: Range<Int>, scale: Float,
    into mean: UnsafeMutablePointer<Float>
  ) {
    // Block by block, so that each block of the mean is written to memory
    // once (summed and scaled while it is in L1); the additions per element
    // are the same in any blocking.
    let block = 1024
    let first = UnsafePointer(shards[0]! + range.lowerBound)
    var start = 0
    while start < range.count {
      let count = min(block, range.count - start)
      let out = mean + range.lowerBound + start
      let a = first + start
      if shards.count == 1 {
        for i in 0..<count { out[i] = a[i] * scale }
      } else {
        let b = UnsafePointer(shards[1]! + range.lowerBound + start)
        for i in 0..<count { out[i] = a[i] + b[i] }
        for w in 2..<max(shards.count, 2) {
          let shard = UnsafePointer(shards[w]! + range.lowerBound + start)
          for i in 0..<count { out[i] += shard[i] }
        }
        for i in 0..<count { out[i] *= scale }
      }
      start += count
    }
  }
}
