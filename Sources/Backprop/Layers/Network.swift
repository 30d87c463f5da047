/// A sequential network: its spec, the layout of its flat parameter vector,
/// and the forward and backward passes over a ``Workspace``.
///
/// The passes are plain loops and BLAS calls over raw buffers; the network
/// itself holds no parameters, so one `Network` serves any number of workers
/// and workspaces. Backward comes in two halves so that data-parallel workers
/// can split it: deltas by rows (each worker its shard), weight gradients by
/// output units (each worker its slice of the parameters, over the whole batch).
/// The passes are exported specialised for `Float`, so that callers in other
/// modules run the same code as the trainer, not the generic entry points
/// (which were twice as slow in a benchmark).
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
    /// Training step `step` of a run seeded with `seed`. Dropout masks depend
    /// on these two, the layer, the row's index in the batch (its row in the
    /// workspace) and the unit only, so they do not depend on how the batch is
    /// sharded.
    case training(seed: UInt64, step: Int)
  }

  /// Runs the network on the first `rows` rows of `workspace.input`.
  ///
  /// - Returns: the output, `rows × spec.outputWidth`, inside the workspace.
  /// - Complexity: about 2·P·`rows` floating-point operations for P weights.
  @_specialize(exported:true,where T == Float)
  @discardableResult
  public func forward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Int, mode: Mode
  ) -> UnsafeMutablePointer<T> {
    forward(parameters: parameters, workspace: workspace, rows: 0..<rows, mode: mode)
  }

  /// Runs the network on `rows` of `workspace.input`, writing only those rows
  /// of the workspace.
  ///
  /// - Returns: the output of the first of `rows` (`rows.count × spec.outputWidth`).
  /// - Complexity: about 2·P·`rows.count` floating-point operations for P weights.
  @_specialize(exported:true,where T == Float)
  @discardableResult
  public func forward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>, mode: Mode
  ) -> UnsafeMutablePointer<T> {
    precondition(
      !rows.isEmpty && rows.lowerBound >= 0 && rows.upperBound <= workspace.capacity,
      "rows \(rows) must be a non-empty part of 0..<\(workspace.capacity)")
    let count = rows.count
    var width = spec.inputWidth
    var input = UnsafePointer(workspace.input.base + rows.lowerBound * width)
    for (index, layer) in spec.layers.enumerated() {
      if case .dense(_, let outputs) = layer { width = outputs }
      let output = workspace.outputs[index].base + rows.lowerBound * width
      switch layer {
      case .dense(let inputs, let outputs):
        let weights = layout.entries[layout.weightEntryIndex[index]!]
        let bias = parameters + layout.entries[layout.weightEntryIndex[index]! + 1].offset
        // The bias is copied into each output row, then the product is added
        // onto it (beta = 1): one pass over the output instead of two.
        for row in 0..<count {
          (output + row * outputs).update(from: bias, count: outputs)
        }
        T.gemm(
          transposeA: false, transposeB: true, m: count, n: outputs, k: inputs,
          alpha: 1, a: input, lda: inputs, b: parameters + weights.offset, ldb: inputs,
          beta: 1, c: output, ldc: outputs)
      case .activation(let activation):
        activation.forward(input, output, count: count * width)
      case .dropout(let rate):
        switch mode {
        case .inference:
          if UnsafePointer(output) != input { output.update(from: input, count: count * width) }
        case .training(let seed, let step):
          let mask = workspace.masks[index].base + rows.lowerBound * width
          fillDropoutMask(
            mask, rate: rate, rows: rows, width: width,
            key: CounterHash.mix(seed, UInt64(step), UInt64(index) &+ RandomStream.dropout << 32))
          for i in 0..<(count * width) { output[i] = input[i] * mask[i] }
        }
      }
      input = UnsafePointer(output)
    }
    return workspace.logits + rows.lowerBound * spec.outputWidth
  }

  /// Back-propagates the gradient with respect to the output, which the caller
  /// has put in ``Workspace/outputGradient`` (`rows × spec.outputWidth`),
  /// through the last forward pass, writing the gradient of every parameter
  /// (summed over the rows) to `gradient`.
  ///
  /// The same as ``backpropagateDeltas(parameters:workspace:rows:inputGradient:)``
  /// over the rows, then ``weightGradients(workspace:rows:layer:units:scale:into:)``
  /// for every unit of every dense layer. The gradient buffer is overwritten,
  /// not added to, so it needs no zeroing between steps.
  ///
  /// - Precondition: `forward` ran on the same workspace with the same `rows`
  ///   and the same parameters. The output gradient is overwritten.
  /// - Complexity: about 4·P·`rows` floating-point operations.
  @_specialize(exported:true,where T == Float)
  public func backward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, gradient: UnsafeMutablePointer<T>,
    workspace: Workspace<T>, rows: Int, inputGradient: UnsafeMutablePointer<T>? = nil
  ) {
    backpropagateDeltas(parameters: parameters, workspace: workspace, rows: 0..<rows, inputGradient: inputGradient)
    for (index, layer) in spec.layers.enumerated() {
      if case .dense(_, let outputs) = layer {
        weightGradients(workspace: workspace, rows: rows, layer: index, units: 0..<outputs, scale: 1, into: gradient)
      }
    }
  }

  /// The first half of backward for `rows` of the batch: carries the output
  /// gradient down through the layers, leaving each dense layer's delta (the
  /// gradient with respect to its output) in the workspace, and writes only
  /// those rows. Rows are independent, so workers run this on their own shards.
  ///
  /// The gradient with respect to the network's input is only computed when
  /// `inputGradient` (`rows.count × inputWidth`) is given: gradient checks want
  /// it, training does not, so the pass otherwise stops at the first dense layer.
  ///
  /// - Precondition: `forward` ran on the same rows; the caller has put the
  ///   loss's gradient in those rows of ``Workspace/outputGradient``.
  /// - Complexity: about 2·P·`rows.count` floating-point operations, less the
  ///   first dense layer's share.
  @_specialize(exported:true,where T == Float)
  public func backpropagateDeltas<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>,
    inputGradient: UnsafeMutablePointer<T>? = nil
  ) {
    let count = rows.count
    let firstDense = spec.layers.firstIndex { $0.parameterCount > 0 }!
    var width = spec.outputWidth
    // The gradient being carried down: it lives in the delta buffer of the
    // dense layer below (activations and dropout change it in place), or in
    // `inputGradient` below the first dense layer.
    var current = workspace.deltas[workspace.lastDense].base + rows.lowerBound * width
    for index in spec.layers.indices.reversed() {
      switch spec.layers[index] {
      case .dense(let inputs, let outputs):
        if index == firstDense && inputGradient == nil { return }
        let weights = layout.entries[layout.weightEntryIndex[index]!]
        let below =
          index == firstDense
          ? inputGradient!
          : workspace.deltas[spec.layers[..<index].lastIndex { $0.parameterCount > 0 }!].base
            + rows.lowerBound * inputs
        // dX = dY · W.
        T.gemm(
          transposeA: false, transposeB: false, m: count, n: inputs, k: outputs,
          alpha: 1, a: current, lda: outputs, b: parameters + weights.offset, ldb: inputs,
          beta: 0, c: below, ldc: inputs)
        current = below
        width = inputs
      case .activation(let activation):
        let layerInput =
          index == 0 ? workspace.input.base : workspace.outputs[index - 1].base
        activation.backward(
          input: layerInput + rows.lowerBound * width,
          output: UnsafePointer(workspace.outputs[index].base + rows.lowerBound * width),
          gradient: current, count: count * width)
      case .dropout:
        let mask = workspace.masks[index].base + rows.lowerBound * width
        for i in 0..<(count * width) { current[i] *= mask[i] }
      }
    }
  }

  /// The second half of backward: the gradient of the weights and biases of
  /// `units` (output units) of the dense layer at index `layer`, summed over
  /// the first `rows` rows of the batch and multiplied by `scale`, written to
  /// their places in the flat `gradient` vector.
  ///
  /// This is where a data-parallel step reduces over its workers' shards:
  /// the product runs over the whole batch (`k = rows`), reading the deltas
  /// and activations every worker left in the shared workspace, so each
  /// gradient element has exactly one writer and no per-worker copies of the
  /// gradient need summing (as llm.c splits weight gradients over output
  /// channels).
  ///
  /// - Precondition: ``backpropagateDeltas(parameters:workspace:rows:inputGradient:)``
  ///   ran over all of `0..<rows`.
  /// - Complexity: 2·`units.count`·(inputs + 1)·`rows` floating-point operations.
  @_specialize(exported:true,where T == Float)
  public func weightGradients<T: TrainingScalar>(
    workspace: Workspace<T>, rows: Int, layer index: Int, units: Range<Int>, scale: T,
    into gradient: UnsafeMutablePointer<T>
  ) {
    guard case .dense(let inputs, let outputs) = spec.layers[index] else {
      preconditionFailure("layer \(index) is not a dense layer")
    }
    precondition(
      units.lowerBound >= 0 && units.upperBound <= outputs, "units \(units) outside 0..<\(outputs) of layer \(index)")
    guard !units.isEmpty else { return }
    let layerInput = UnsafePointer(index == 0 ? workspace.input.base : workspace.outputs[index - 1].base)
    let delta = UnsafePointer(workspace.deltas[index].base)
    let weights = layout.entries[layout.weightEntryIndex[index]!]
    // dW[units] = scale · dY[:, units]ᵀ · X, straight into the gradient (beta = 0).
    T.gemm(
      transposeA: true, transposeB: false, m: units.count, n: inputs, k: rows,
      alpha: scale, a: delta + units.lowerBound, lda: outputs, b: layerInput, ldb: inputs,
      beta: 0, c: gradient + weights.offset + units.lowerBound * inputs, ldc: inputs)
    // db[units] = scale · column sums of dY[:, units], rows added in order.
    let biasGradient = gradient + layout.entries[layout.weightEntryIndex[index]! + 1].offset + units.lowerBound
    let first = delta + units.lowerBound
    biasGradient.update(from: first, count: units.count)
    for row in 1..<max(rows, 1) {
      let line = first + row * outputs
      for j in 0..<units.count { biasGradient[j] += line[j] }
    }
    if scale != 1 {
      for j in 0..<units.count { biasGradient[j] *= scale }
    }
  }

  /// Fills the mask of `rows` from the counter hash: element (row, unit) is 0
  /// with probability `rate`, else `1 / (1 - rate)`; it depends only on `key`,
  /// the row's index in the batch and the unit.
  private func fillDropoutMask<T: TrainingScalar>(
    _ mask: UnsafeMutablePointer<T>, rate: Float, rows: Range<Int>, width: Int, key: UInt64
  ) {
    let keep = T(1) / T(1 - rate)
    for (offset, row) in rows.enumerated() {
      let rowKey = CounterHash.finalize(key ^ UInt64(row) &* 0xD6E8_FEB8_6659_FD93)
      let line = mask + offset * width
      for unit in 0..<width {
        line[unit] = CounterHash.unitFloat(rowKey, UInt64(unit)) < rate ? 0 : keep
      }
    }
  }
}
