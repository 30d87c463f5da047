/// What a run allocates, estimated from its spec and options before anything
/// is allocated, with overflow-checked arithmetic (`nil` when a count does
/// not fit an `Int`): what ``MemoryBudget/check(_:for:)`` compares with the
/// memory the run may take.
extension Trainer {
  /// The bytes a ``Trainer`` for `spec` and `options` allocates, with its
  /// model: the parameters, the gradient, the optimizer's state, the best
  /// epoch's weights (early stopping), the batch's workspace, each worker's
  /// scoring workspace, and the epoch's sample order.
  ///
  /// - Parameters:
  ///   - samples: the training samples, when known (else a full batch is assumed).
  ///   - targetWidth: target values per sample.
  public static func estimatedBytes(
    spec: ModelSpec, options: TrainingOptions, samples: Int? = nil, targetWidth: Int = 1
  ) -> Int? {
    var vectors = 2 + options.optimizer.stateVectorCount
    if options.earlyStoppingPatience != nil { vectors += 1 }
    let rows = min(options.batchSize, samples ?? options.batchSize)
    let scoringRows = min(Model.evaluationBatchRows, samples ?? Model.evaluationBatchRows)
    return checkedSum([
      checkedProduct([ParameterLayout(spec: spec).totalCount, vectors, 4]),
      checkedProduct([rows, Model.rowFloats(spec: spec, targetWidth: targetWidth), 4]),
      checkedProduct([options.threads, scoringRows, Model.rowFloats(spec: spec, targetWidth: targetWidth), 4]),
      checkedProduct([samples ?? 0, 8]),
    ])
  }
}

extension Model {
  /// The bytes a model for `spec` takes with `threads` workers scoring it
  /// (``evaluate(_:threads:batchSize:)``, ``outputs(for:threads:batchSize:)``).
  public static func estimatedBytes(spec: ModelSpec, threads: Int) -> Int? {
    checkedSum([
      checkedProduct([ParameterLayout(spec: spec).totalCount, 4]),
      checkedProduct([threads, evaluationBatchRows, rowFloats(spec: spec, targetWidth: 1), 4]),
    ])
  }

  /// Floats a workspace keeps per row: the input and targets, and for each
  /// layer its output, scratch space and gradient (an upper bound: layers in
  /// place share buffers).
  static func rowFloats(spec: ModelSpec, targetWidth: Int) -> Int? {
    var terms: [Int?] = [spec.inputWidth, targetWidth]
    for (index, layer) in spec.layers.enumerated() {
      terms.append(checkedProduct([spec.shapes[index + 1].count, 2]))
      terms.append(layer.scratchCount(input: spec.shapes[index]))
    }
    return checkedSum(terms)
  }
}

/// The product of `factors`, `nil` when one is `nil` or it overflows.
func checkedProduct(_ factors: [Int?]) -> Int? {
  var result = 1
  for factor in factors {
    guard let factor, case (let next, false) = result.multipliedReportingOverflow(by: factor) else { return nil }
    result = next
  }
  return result
}

/// The sum of `terms`, `nil` when one is `nil` or it overflows.
func checkedSum(_ terms: [Int?]) -> Int? {
  var result = 0
  for term in terms {
    guard let term, case (let next, false) = result.addingReportingOverflow(term) else { return nil }
    result = next
  }
  return result
}
