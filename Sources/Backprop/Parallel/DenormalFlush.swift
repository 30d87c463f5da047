import CHwloc

/// Runs work with the calling thread flushing denormal floats to zero.
///
/// Denormals (magnitudes below about 1.2e-38 in `Float`) make some CPUs take
/// tens of times longer per operation, which PyTorch users met in CPU
/// convolutions; a network loses nothing by treating them as zero. The mode
/// belongs to the thread, so each worker sets it for its own work and gives
/// the thread its former mode back.
enum DenormalFlush {
  /// Runs `body` with denormals flushed to zero on this thread, then restores the thread's mode.
  static func around<R>(_ body: () throws -> R) rethrows -> R {
    let saved = backprop_float_control()
    backprop_set_float_control(saved | backprop_flush_denormals_bits())
    defer { backprop_set_float_control(saved) }
    return try body()
  }
}
