/// A sequential network: its spec, the layout of its flat parameter vector,
/// and the forward and backward passes over a ``Workspace``.
///
/// The passes are plain loops and BLAS calls over raw buffers; the network
/// itself holds no parameters, so one `Network` serves any number of workers,
/// each with its own workspace and gradient buffer.
public struct Network: Sendable, Hashable {
  /// The architecture.
  public let spec: ModelSpec
  /// Where each tensor lives in the flat parameter vector.
  public let layout: ParameterLayout

  /// Creates the network for `spec`.
  public init(spec: ModelSpec) {
    self.spec = spec
    self.layout = ParameterLayout(spec: spec)
  }

  /// What a forward pass is for.
  public enum Mode: Sendable, Hashable {
    /// Inference: dropout is the identity.
    case inference
    /// Training step `step` of a run seeded with `seed`; the pass's rows are
    /// rows `firstRow ..< firstRow + rows` of the step's batch. Dropout masks
    /// depend on these three and the unit only.
    case training(seed: UInt64, step: Int, firstRow: Int)
  }

  /// Runs the network on the first `rows` rows of `workspace.input`.
  ///
  /// - Returns: the output, `rows × spec.outputWidth`, inside the workspace.
  /// - Complexity: about 2·P·`rows` floating-point operations for P weights.
  @discardableResult
  public func forward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Int, mode: Mode
  ) -> UnsafeMutablePointer<T> {
    precondition(
      rows > 0 && rows <= workspace.capacity,
      "rows \(rows) must be in 1...\(workspace.capacity)")
    var input = UnsafePointer(workspace.input.base)
    var width = spec.inputWidth
    for (index, layer) in spec.layers.enumerated() {
      let output = workspace.outputs[index].base
      switch layer {
      case .dense(let inputs, let outputs):
        let weights = layout.entries[layout.weightEntryIndex[index]!]
        let bias = parameters + layout.entries[layout.weightEntryIndex[index]! + 1].offset
        // The bias is copied into each output row, then the product is added
        // onto it (beta = 1): one pass over the output instead of two.
        for row in 0..<rows {
          (output + row * outputs).update(from: bias, count: outputs)
        }
        T.gemm(
          transposeA: false, transposeB: true, m: rows, n: outputs, k: inputs,
          alpha: 1, a: input, lda: inputs, b: parameters + weights.offset, ldb: inputs,
          beta: 1, c: output, ldc: outputs)
        width = outputs
      case .activation(let activation):
        activation.forward(input, output, count: rows * width)
      case .dropout(let rate):
        let mask = workspace.masks[index].base
        switch mode {
        case .inference:
          output.update(from: input, count: rows * width)
        case .training(let seed, let step, let firstRow):
          fillDropoutMask(
            mask, rate: rate, rows: rows, width: width,
            key: CounterHash.mix(seed, UInt64(step), UInt64(index) &+ RandomStream.dropout << 32),
            firstRow: firstRow)
          for i in 0..<(rows * width) { output[i] = input[i] * mask[i] }
        }
      }
      input = UnsafePointer(output)
    }
    return workspace.logits
  }

  /// Back-propagates the gradient with respect to the output, which the caller
  /// has put in ``Workspace/outputGradient`` (`rows × spec.outputWidth`),
  /// through the last forward pass, writing the gradient of every parameter
  /// to `gradient`.
  ///
  /// The gradient buffer is overwritten, not added to (products use
  /// `beta = 0`), so it needs no zeroing between steps. The gradient with
  /// respect to the network's input is only computed when `inputGradient` is
  /// given (gradient checks want it; training does not).
  ///
  /// - Precondition: `forward` ran on the same workspace with the same `rows`
  ///   and the same parameters. The output gradient is overwritten.
  /// - Complexity: about 4·P·`rows` floating-point operations.
  public func backward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, gradient: UnsafeMutablePointer<T>,
    workspace: Workspace<T>, rows: Int, inputGradient: UnsafeMutablePointer<T>? = nil
  ) {
    // Below the first dense layer no parameter needs a gradient, so unless
    // the caller asks for the input's gradient the pass ends there.
    let firstDense = spec.layers.firstIndex { $0.parameterCount > 0 }!
    let wantsInputGradient = inputGradient != nil

    var current = workspace.gradients.0.base
    var spare = workspace.gradients.1.base
    var width = spec.outputWidth
    for index in spec.layers.indices.reversed() {
      let layerInput: UnsafePointer<T> =
        index == 0 ? UnsafePointer(workspace.input.base) : UnsafePointer(workspace.outputs[index - 1].base)
      switch spec.layers[index] {
      case .dense(let inputs, let outputs):
        let weights = layout.entries[layout.weightEntryIndex[index]!]
        // dW = dYᵀ · X, straight into the gradient buffer (beta = 0).
        T.gemm(
          transposeA: true, transposeB: false, m: outputs, n: inputs, k: rows,
          alpha: 1, a: current, lda: outputs, b: layerInput, ldb: inputs,
          beta: 0, c: gradient + weights.offset, ldc: inputs)
        // db = column sums of dY.
        let biasGradient = gradient + layout.entries[layout.weightEntryIndex[index]! + 1].offset
        biasGradient.update(from: current, count: outputs)
        for row in 1..<max(rows, 1) {
          let line = current + row * outputs
          for j in 0..<outputs { biasGradient[j] += line[j] }
        }
        if index > firstDense || wantsInputGradient {
          // dX = dY · W.
          T.gemm(
            transposeA: false, transposeB: false, m: rows, n: inputs, k: outputs,
            alpha: 1, a: current, lda: outputs, b: parameters + weights.offset, ldb: inputs,
            beta: 0, c: spare, ldc: inputs)
          swap(&current, &spare)
        }
        width = inputs
      case .activation(let activation):
        activation.backward(
          input: layerInput, output: UnsafePointer(workspace.outputs[index].base),
          gradient: current, count: rows * width)
      case .dropout:
        let mask = workspace.masks[index].base
        for i in 0..<(rows * width) { current[i] *= mask[i] }
      }
      if index == firstDense && !wantsInputGradient { return }
    }
    if let inputGradient {
      inputGradient.update(from: current, count: rows * spec.inputWidth)
    }
  }

  /// Fills a dropout mask from the counter hash: element (row, unit) is 0 with
  /// probability `rate`, else `1 / (1 - rate)`; it depends only on `key`, the
  /// row's index in the whole batch and the unit.
  private func fillDropoutMask<T: TrainingScalar>(
    _ mask: UnsafeMutablePointer<T>, rate: Float, rows: Int, width: Int, key: UInt64, firstRow: Int
  ) {
    let keep = T(1) / T(1 - rate)
    for row in 0..<rows {
      let rowKey = CounterHash.finalize(key ^ UInt64(firstRow + row) &* 0xD6E8_FEB8_6659_FD93)
      let line = mask + row * width
      for unit in 0..<width {
        line[unit] = CounterHash.unitFloat(rowKey, UInt64(unit)) < rate ? 0 : keep
      }
    }
  }
}
