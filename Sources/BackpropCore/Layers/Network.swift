/// A sequential network: its spec, the layout of its flat parameter vector,
/// and the forward and backward passes over a ``Workspace``.
///
/// The passes are plain loops and BLAS calls over raw buffers; the network
/// itself holds no parameters, so one `Network` serves any number of workers
/// and workspaces. Backward comes in two halves so that data-parallel workers
/// can split it: gradients through the layers by rows (each worker its shard),
/// parameter gradients by output units (each worker its slice of the
/// parameters, over the whole batch). Each layer's pass is the layer's own
/// (see ``Layer``); the network only walks the list.
/// The passes are exported specialised for `Float`, so that callers in other
/// modules run the same code as the trainer, not the generic entry points
/// (which were twice as slow in a benchmark).
public struct Network: Sendable, Hashable {
  /// The architecture.
  public let spec: ModelSpec
  /// Where each tensor lives in the flat parameter vector.
  public let layout: ParameterLayout

  /// The index of the first layer with parameters (see ``ModelSpec/firstLayerWithParameters``).
  public let firstLayerWithParameters: Int
  /// What the passes need of each layer besides the layer itself, worked
  /// out once: a tiny model's step is a microsecond.
  private let steps: [Step]

  /// A layer's shapes, scratch width and parameter offset (plain values, so
  /// reading one copies no existential).
  private struct Step: Sendable {
    let inputShape: Shape
    let outputShape: Shape
    let scratchWidth: Int
    let parameterOffset: Int
  }

  /// The layers that use batch statistics in training (batch
  /// normalisation), where workers meet.
  public let batchLayers: [Int]

  /// Creates the network for `spec`.
  public init(spec: ModelSpec) {
    self.spec = spec
    let layout = ParameterLayout(spec: spec)
    self.layout = layout
    firstLayerWithParameters = spec.firstLayerWithParameters
    steps = spec.layers.indices.map { index in
      Step(
        inputShape: spec.shapes[index], outputShape: spec.shapes[index + 1],
        scratchWidth: spec.layers[index].scratchCount(input: spec.shapes[index]),
        parameterOffset: layout.offset(ofLayer: index))
    }
    batchLayers = spec.layers.indices.filter { spec.layers[$0].usesBatchStatistics }
  }

  // The spec says everything a network is.
  public static func == (lhs: Network, rhs: Network) -> Bool { lhs.spec == rhs.spec }
  public func hash(into hasher: inout Hasher) { hasher.combine(spec) }

  /// What a forward pass is for.
  public enum Mode: Sendable, Hashable {
    /// Inference: dropout is the identity.
    case inference
    /// Training step `step` of a run seeded with `seed`. Dropout masks depend
    /// on these two, the layer, the row's index in the batch (its row in the
    /// workspace plus `firstRow`, the index of the workspace's first row in
    /// a batch split across processes) and the unit only, so they do not
    /// depend on how the batch is sharded.
    case training(seed: UInt64, step: Int, firstRow: Int = 0)
  }

  /// Runs the network on the first `rows` rows of `workspace.input`.
  ///
  /// - Returns: the output, `rows × spec.outputWidth`, inside the workspace.
  /// - Complexity: ``ModelSpec/inferenceFLOPsPerSample`` × `rows`.
  @_specialize(exported:true,where T == Float)
  @discardableResult
  public func forward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Int, mode: Mode, lane: Int = 0
  ) -> UnsafeMutablePointer<T> {
    forward(parameters: parameters, workspace: workspace, rows: 0..<rows, mode: mode, lane: lane)
  }

  /// Runs the network on `rows` of `workspace.input`, writing only those rows
  /// of the workspace (and the working space of `lane`, the caller's own).
  /// Layers that use batch statistics take them over `rows`: this is the
  /// whole batch, or see ``forward(parameters:workspace:rows:mode:lane:stage:batch:)``.
  /// In training, such layers also update their running statistics in
  /// `parameters` (the pass over the batch's first row does), which must
  /// then be writable memory of the caller's own.
  ///
  /// - Returns: the output of the first of `rows` (`rows.count × spec.outputWidth`).
  /// - Complexity: ``ModelSpec/inferenceFLOPsPerSample`` × `rows.count`.
  @_specialize(exported:true,where T == Float)
  @discardableResult
  public func forward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>, mode: Mode, lane: Int = 0
  ) -> UnsafeMutablePointer<T> {
    for stage in 0..<stageCount {
      forward(
        parameters: parameters, workspace: workspace, rows: rows, mode: mode, lane: lane, stage: stage, batch: rows)
    }
    return workspace.logits + rows.lowerBound * spec.outputWidth
  }

  /// One stage of the forward pass over `rows`, part of the batch `batch`
  /// that other workers run at the same time: the layers from the one that
  /// uses batch statistics before the stage (if any) to the next such layer,
  /// whose per-row statistics end the stage. Every worker must finish a
  /// stage before any starts the next (see ``Layer/usesBatchStatistics``).
  /// In inference no statistics are taken (running ones are used).
  @_specialize(exported:true,where T == Float)
  public func forward<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>, mode: Mode, lane: Int, stage: Int,
    batch: Range<Int>
  ) {
    precondition(
      !rows.isEmpty && rows.lowerBound >= batch.lowerBound && rows.upperBound <= batch.upperBound
        && batch.upperBound <= workspace.capacity,
      "rows \(rows) must be a non-empty part of the batch \(batch), inside 0..<\(workspace.capacity)")
    let last = batchLayers.count
    let start = stage == 0 ? 0 : batchLayers[stage - 1]
    let end = stage == last ? spec.layers.count : batchLayers[stage]
    // Each layer is used where it lies in the array, not copied out of it.
    spec.layers.withUnsafeBufferPointer { layers in
      for index in start..<end {
        T.forward(
          layers[index],
          buffers(index, parameters: parameters, workspace: workspace, rows: rows, batch: batch, lane: lane),
          rows: rows, mode: mode)
      }
      if stage < last, case .training = mode {
        T.batchStatistics(
          layers[end], buffers(end, parameters: parameters, workspace: workspace, rows: rows, batch: batch, lane: lane),
          rows: rows)
      }
    }
  }

  /// The stages a training pass is cut into, forward and backward alike:
  /// one more than the layers that use batch statistics.
  public var stageCount: Int { batchLayers.count + 1 }

  /// Back-propagates the gradient with respect to the output, which the caller
  /// has put in ``Workspace/outputGradient`` (`rows × spec.outputWidth`),
  /// through the last forward pass, writing the gradient of every parameter
  /// (summed over the rows) to `gradient`.
  ///
  /// The same as ``backpropagateDeltas(parameters:workspace:rows:inputGradient:)``
  /// over the rows, then ``parameterGradients(workspace:rows:layer:units:scale:into:)``
  /// for every unit of every layer. The gradient buffer is overwritten,
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
    for index in spec.layers.indices {
      parameterGradients(
        workspace: workspace, rows: rows, layer: index, units: 0..<unitCount(ofLayer: index), scale: 1,
        into: gradient)
    }
  }

  /// The first half of backward for `rows` of the batch: carries the output
  /// gradient down through the layers, leaving the gradient with respect to
  /// every layer's output in the workspace, and writes only those rows. Rows
  /// are independent, so workers run this on their own shards.
  ///
  /// The gradient with respect to the network's input is only computed when
  /// `inputGradient` (`rows.count × inputWidth`) is given: gradient checks want
  /// it, training does not, so the pass otherwise stops at the first layer
  /// with parameters.
  ///
  /// - Precondition: `forward` ran on the same rows; the caller has put the
  ///   loss's gradient in those rows of ``Workspace/outputGradient``.
  /// - Complexity: the input-gradient FLOPs of the layers above the first
  ///   with parameters, × `rows.count`.
  @_specialize(exported:true,where T == Float)
  public func backpropagateDeltas<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>,
    inputGradient: UnsafeMutablePointer<T>? = nil, lane: Int = 0
  ) {
    for stage in 0..<stageCount {
      backpropagateDeltas(
        parameters: parameters, workspace: workspace, rows: rows, inputGradient: inputGradient, lane: lane,
        stage: stage, batch: rows)
    }
  }

  /// One stage of the first half of backward, as
  /// ``forward(parameters:workspace:rows:mode:lane:stage:batch:)`` cuts
  /// forward, from the top: stage 0 runs down to the highest layer that
  /// uses batch statistics and takes its per-row gradient statistics; the
  /// next starts with that layer's input gradient.
  @_specialize(exported:true,where T == Float)
  public func backpropagateDeltas<T: TrainingScalar>(
    parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>,
    inputGradient: UnsafeMutablePointer<T>?, lane: Int, stage: Int, batch: Range<Int>
  ) {
    let last = batchLayers.count
    let top = stage == 0 ? spec.layers.count - 1 : batchLayers[last - stage]
    let next = stage == last ? nil : batchLayers[last - stage - 1]
    spec.layers.withUnsafeBufferPointer { layers in
      for index in stride(from: top, through: next.map { $0 + 1 } ?? 0, by: -1) {
        if index <= firstLayerWithParameters && inputGradient == nil { break }
        T.inputGradient(
          layers[index],
          buffers(
            index, parameters: parameters, workspace: workspace, rows: rows, batch: batch, lane: lane,
            inputGradient: index == 0 ? inputGradient : nil),
          rows: rows)
      }
      if let next {
        T.gradientStatistics(
          layers[next],
          buffers(next, parameters: parameters, workspace: workspace, rows: rows, batch: batch, lane: lane),
          rows: rows)
      }
    }
  }

  /// The second half of backward: the gradient of the parameters of `units`
  /// (output units) of the layer at index `layer`, summed over the first
  /// `rows` rows of the batch and multiplied by `scale`, written to their
  /// places in the flat `gradient` vector. Nothing for a layer without
  /// parameters.
  ///
  /// This is where a data-parallel step reduces over its workers' shards:
  /// the product runs over the whole batch, reading the gradients and
  /// activations every worker left in the shared workspace, so each
  /// gradient element has exactly one writer and no per-worker copies of the
  /// gradient need summing (as llm.c splits weight gradients over output
  /// channels).
  ///
  /// - Precondition: ``backpropagateDeltas(parameters:workspace:rows:inputGradient:)``
  ///   ran over all of `0..<rows`.
  /// - Complexity: the layer's parameter-gradient FLOPs × `rows` × the share of `units`.
  @_specialize(exported:true,where T == Float)
  public func parameterGradients<T: TrainingScalar>(
    workspace: Workspace<T>, rows: Int, layer index: Int, units: Range<Int>, scale: T,
    into gradient: UnsafeMutablePointer<T>, lane: Int = 0
  ) {
    // The parameters are not read: the gradient stands in for them.
    spec.layers.withUnsafeBufferPointer { layers in
      T.parameterGradient(
        layers[index],
        buffers(
          index, parameters: UnsafePointer(gradient), workspace: workspace, rows: 0..<rows, batch: 0..<rows, lane: lane),
        rows: rows, units: units, scale: scale, into: gradient + steps[index].parameterOffset)
    }
  }

  /// The parameter gradients of every layer over the batch rows `rows`
  /// (summed, not averaged), into `gradient`, a vector with the parameters'
  /// flat layout: what one worker contributes under an all-reduce.
  public func parameterGradients<T: TrainingScalar>(
    workspace: Workspace<T>, rows: Range<Int>, into gradient: UnsafeMutablePointer<T>, lane: Int = 0
  ) {
    spec.layers.withUnsafeBufferPointer { layers in
      for index in layers.indices {
        let units = unitCount(ofLayer: index)
        guard units > 0 else { continue }
        T.parameterGradient(
          layers[index],
          buffers(
            index, parameters: UnsafePointer(gradient), workspace: workspace, rows: rows, batch: rows, lane: lane),
          rows: rows.count, units: 0..<units, scale: 1, into: gradient + steps[index].parameterOffset)
      }
    }
  }

  /// The output units of layer `index` that its parameter tensors are cut
  /// by (the first dimension of each); 0 for a layer without parameters.
  public func unitCount(ofLayer index: Int) -> Int {
    layout.layerEntries[index].first.map { layout.entries[$0].shape[0] } ?? 0
  }

  /// The buffers of layer `index` from the first of `rows` on, in the batch `batch`.
  @inline(__always)
  private func buffers<T: TrainingScalar>(
    _ index: Int, parameters: UnsafePointer<T>, workspace: Workspace<T>, rows: Range<Int>, batch: Range<Int>,
    lane: Int, inputGradient: UnsafeMutablePointer<T>? = nil
  ) -> LayerBuffers<T> {
    let step = steps[index]
    let firstRow = rows.lowerBound
    let inputCount = step.inputShape.count
    let outputCount = step.outputShape.count
    let input = index == 0 ? workspace.input.base : workspace.outputs[index - 1].base
    let outputGradient = workspace.gradients[index].base + firstRow * outputCount
    let scratch = workspace.scratch[index].base
    // Across processes, statistics combine over the whole batch's rows.
    let whole = workspace.wholeBatchScratch.isEmpty ? nil : workspace.wholeBatchScratch[index]
    return LayerBuffers(
      index: index, inputShape: step.inputShape, outputShape: step.outputShape,
      input: UnsafePointer(input + firstRow * inputCount),
      output: workspace.outputs[index].base + firstRow * outputCount,
      outputGradient: outputGradient,
      inputGradient: index == 0
        ? inputGradient ?? outputGradient : workspace.gradients[index - 1].base + firstRow * inputCount,
      scratch: scratch + firstRow * step.scratchWidth,
      parameters: parameters + step.parameterOffset, temporary: workspace.temporaries[lane].base,
      batchScratch: whole?.base ?? scratch + batch.lowerBound * step.scratchWidth,
      batchCount: whole == nil ? batch.count : workspace.wholeBatchRows,
      startsBatch: firstRow == batch.lowerBound)
  }
}
