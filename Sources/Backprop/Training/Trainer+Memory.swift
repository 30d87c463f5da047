/// What a run allocates, estimated from its spec and options before anything
/// is allocated, with overflow-checked arithmetic (`nil` when a count does
/// not fit an `Int`): what ``MemoryBudget/check(_:for:)`` compares with the
/// memory the run may take.
extension Trainer {
  /// The bytes a ``Trainer`` for `spec` and `options` allocates, with its
  /// model: the parameters, the gradient, the optimizer's state, the best
  /// epoch's weights (early stopping), the workers' gradient buffers
  /// (``GradientStrategy/allReduce``), the batch's workspace, each worker's
  /// scoring workspace, and the epoch's sample order.
  ///
  /// - Parameters:
  ///   - samples: the training samples, when known (else a full batch is assumed).
  ///   - targetWidth: target values per sample.
  public static func estimatedBytes(
    spec: ModelSpec, options: TrainingOptions, samples: Int? = nil, targetWidth: Int = 1
  ) -> Int? {
    let rows = min(options.batchSize, samples ?? options.batchSize)
    var vectors = 2 + options.optimizer.stateVectorCount
    if options.earlyStoppingPatience != nil { vectors += 1 }
    // Each worker's own gradient buffer.
    if options.reproducible {
      vectors += Trainer.reproducibleShards(batch: rows)
    } else if options.gradients != .unitSlices {
      vectors += options.threads
    }
    let scoringRows = min(Model.scoringRows(spec: spec), samples ?? Model.evaluationBatchRows)
    return checkedSum([
      checkedProduct([ParameterLayout(spec: spec).totalCount, vectors, 4]),
      checkedProduct([rows, Model.rowFloats(spec: spec, targetWidth: targetWidth), 4]),
      checkedProduct([options.threads, scoringRows, Model.rowFloats(spec: spec, targetWidth: targetWidth), 4]),
      // Each worker's working space, in the batch's workspace and its scoring one.
      checkedProduct([options.threads, 2, Model.temporaryFloats(spec: spec), 4]),
      checkedProduct([samples ?? 0, 8]),
    ])
  }
}
