import ArgumentParser
import Backprop

/// `--convolution`: which kernels run convolutions, for every command that
/// trains or scores.
struct ConvolutionOption: ParsableArguments {
  @Option(
    name: .customLong("convolution"),
    help: ArgumentHelp(
      "The kernels of convolution layers: onednn (oneDNN's, compiled at run time for this CPU), im2col (patches times OpenBLAS) or auto.",
      discussion:
        "auto takes oneDNN for each pass where it has a direct kernel for the layer, im2col elsewhere; --profile says which ran. (default: auto)"
    ))
  var kernels: ConvolutionKernels = .auto

  func validate() throws {
    if kernels == .onednn, !ConvolutionKernels.oneDNNAvailable {
      throw ValidationError("--convolution onednn: oneDNN's CPU engine does not start here (is libdnnl installed?)")
    }
    // Set while parsing, as --max-memory is: it holds before the first layer runs.
    ConvolutionKernels.selected = kernels
  }
}

extension ConvolutionKernels: ExpressibleByArgument {}
