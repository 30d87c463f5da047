/// The reduction at the heart of a data-parallel step: the mean of the
/// workers' gradient buffers over one chunk of a slice, summed in a fixed
/// order so the result does not depend on timing.
public enum AllReduce {
  /// Floats per chunk: small enough that the mean stays in L1 between the
  /// sum and the optimizer's update of the same chunk.
  public static let chunk = 1024

  /// `destination[i] = (buffers[0][offset + i] + buffers[1][offset + i] + …) / divisor`
  /// for `i < count`, adding the buffers in order.
  ///
  /// - Complexity: reads `buffers · count` floats once, writes `count`.
  @inlinable
  public static func mean(
    of sources: UnsafePointer<UnsafeMutablePointer<Float>>, buffers: Int, offset: Int, count: Int, divisor: Float,
    into destination: UnsafeMutablePointer<Float>
  ) {
    precondition(buffers > 0, "need at least one buffer")
    destination.update(from: sources[0] + offset, count: count)
    for w in 1..<buffers {
      let source = sources[w] + offset
      for i in 0..<count { destination[i] += source[i] }
    }
    for i in 0..<count { destination[i] /= divisor }
  }
}
