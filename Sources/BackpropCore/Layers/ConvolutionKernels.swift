import Synchronization

/// Which kernels run the convolutions of `Float` networks.
///
/// - `im2col`: each sample is unrolled into a matrix of patches and multiplied
///   with OpenBLAS (or the small-matrix kernels); the only kernels for `Double`.
/// - `onednn`: oneDNN's convolution primitives (Debian's `libdnnl`, kernels
///   compiled at run time for the CPU's widest vectors), one sample at a time
///   in the worker's own working space.
/// - `auto` (the default): oneDNN for each pass where it has a direct kernel
///   for the layer's shape (not its own im2col and GEMM, nor its reference
///   code), im2col elsewhere. The rule depends on the CPU and the layer, never
///   on a timing, so a run is the same every time on the same machine.
///
/// Both compute the same sums in different orders: results agree to rounding.
public enum ConvolutionKernels: String, CaseIterable, Sendable, CustomStringConvertible {
  case auto, im2col, onednn

  public var description: String { rawValue }

  private static let setting = Mutex(ConvolutionKernels.auto)

  /// The process's choice, read by every convolution at every pass (the
  /// command line's `--convolution`). Set it before training starts.
  public static var selected: ConvolutionKernels {
    get { setting.withLock { $0 } }
    set { setting.withLock { $0 = newValue } }
  }

  /// Whether oneDNN was built in and its CPU engine starts.
  public static var oneDNNAvailable: Bool { OneDNNConvolution.engine != nil }
}
