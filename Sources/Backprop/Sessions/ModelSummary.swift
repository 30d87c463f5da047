/// What a model is, layer by layer, before it trains: each layer's output
/// shape, parameters and floating-point operations per sample, the totals,
/// and the memory a training run takes (as Keras's `model.summary()` and
/// `torchinfo` show it). `backprop summary` prints it; `train` prints it at
/// the start when standard error is a terminal.
public struct ModelSummary: Sendable {
  /// One layer's line.
  public struct Row: Sendable, Hashable {
    /// The layer's index in the `nn.Sequential` (its tensors are `index.NAME`).
    public var index: Int
    /// The layer as the spec writes it (`conv32k5p2`, `relu`, `bn`…).
    public var layer: String
    /// The shape of its output for one sample.
    public var outputShape: Shape
    /// Parameters the optimizer trains (as PyTorch's `parameters()` counts them).
    public var parameters: Int
    /// Values kept but not trained: batch norm's running statistics and count
    /// (PyTorch's buffers).
    public var buffers: Int
    /// FLOPs of one sample's forward pass.
    public var forwardFLOPs: Int
    /// FLOPs of one sample's training step: forward, the parameters'
    /// gradient, and the input's gradient above the first layer with
    /// parameters (below it nothing needs it).
    public var trainingFLOPs: Int
  }

  /// What a training run takes, from ``Trainer/estimatedBytes(spec:options:samples:targetWidth:)``'s terms.
  public struct Memory: Sendable, Hashable {
    /// The batch size it was worked out for.
    public var batchSize: Int
    /// The workers (threads) sharing the batch.
    public var workers: Int
    /// Bytes every worker's share of the batch takes: its rows of the
    /// activations, gradients and scratch space, and its working space.
    public var perWorker: Int
    /// Bytes of the flat vectors: the parameters, the gradient and the
    /// optimizer's state (shared by the workers).
    public var vectors: Int
    /// Bytes of the workers' workspaces for scoring the evaluation set
    /// (``Model/evaluationBatchRows`` rows each).
    public var scoring: Int
    /// The rows each worker scores at a time.
    public var scoringRows: Int
    /// Bytes of the whole run, as the trainer estimates it before allocating
    /// (workers' gradient buffers and scoring space included); `nil` when it
    /// does not fit an `Int`.
    public var total: Int?
  }

  /// The model spec's text form.
  public var model: String
  /// The shape of one input sample.
  public var inputShape: Shape
  /// One row per layer, in order.
  public var rows: [Row]
  /// The memory of a training run with the given options.
  public var memory: Memory

  /// The summary of `spec` trained with `options` (its batch size, threads
  /// and optimizer set the memory).
  public init(spec: ModelSpec, options: TrainingOptions) {
    let layout = ParameterLayout(spec: spec)
    let first = spec.firstLayerWithParameters
    model = spec.description
    inputShape = spec.inputShape
    rows = spec.layers.indices.map { index in
      let entries = layout.layerEntries[index].map { layout.entries[$0] }
      let cost = spec.layers[index].flops(input: spec.shapes[index])
      return Row(
        index: index, layer: spec.layers[index].description, outputShape: spec.shapes[index + 1],
        parameters: entries.filter(\.isTrainable).reduce(0) { $0 + $1.count },
        buffers: entries.filter { !$0.isTrainable }.reduce(0) { $0 + $1.count },
        forwardFLOPs: cost.forward,
        trainingFLOPs: cost.forward + cost.parameterGradient + (index > first ? cost.inputGradient : 0))
    }
    let workers = max(1, min(options.threads, options.batchSize))
    let rowsPerWorker = (options.batchSize + workers - 1) / workers
    let rowFloats = Model.rowFloats(spec: spec, targetWidth: 1)
    let scoringRows = Model.scoringRows(spec: spec)
    // Sizes that do not fit an Int (a forged spec) read as Int.max.
    memory = Memory(
      batchSize: options.batchSize, workers: workers,
      perWorker: checkedSum([
        checkedProduct([rowsPerWorker, rowFloats, 4]), checkedProduct([Model.temporaryFloats(spec: spec), 4]),
      ]) ?? .max,
      vectors: checkedProduct([layout.totalCount, 2 + options.optimizer.stateVectorCount, 4]) ?? .max,
      scoring: checkedProduct([workers, scoringRows, rowFloats, 4]) ?? .max, scoringRows: scoringRows,
      total: Trainer.estimatedBytes(spec: spec, options: options))
  }

  /// Trained parameters of the whole model.
  public var parameters: Int { rows.reduce(0) { $0 + $1.parameters } }
  /// Values kept but not trained (running statistics).
  public var buffers: Int { rows.reduce(0) { $0 + $1.buffers } }
  /// FLOPs of one sample's forward pass.
  public var forwardFLOPs: Int { rows.reduce(0) { $0 + $1.forwardFLOPs } }
  /// FLOPs of one sample's training step.
  public var trainingFLOPs: Int { rows.reduce(0) { $0 + $1.trainingFLOPs } }

  /// The summary as one JSON object.
  public var json: JSONValue {
    .object([
      ("model", .string(model)), ("input", .string(inputShape.description)),
      (
        "layers",
        .array(
          rows.map { row in
            .object([
              ("index", .integer(row.index)), ("layer", .string(row.layer)),
              ("output", .string(row.outputShape.description)), ("parameters", .integer(row.parameters)),
              ("buffers", .integer(row.buffers)), ("forward_flops", .integer(row.forwardFLOPs)),
              ("training_flops", .integer(row.trainingFLOPs)),
            ])
          })
      ),
      ("parameters", .integer(parameters)), ("buffers", .integer(buffers)),
      ("forward_flops_per_sample", .integer(forwardFLOPs)), ("training_flops_per_sample", .integer(trainingFLOPs)),
      (
        "memory",
        .object([
          ("batch_size", .integer(memory.batchSize)), ("workers", .integer(memory.workers)),
          ("bytes_per_worker", .integer(memory.perWorker)), ("bytes_of_vectors", .integer(memory.vectors)),
          ("bytes_of_scoring", .integer(memory.scoring)), ("scoring_rows_per_worker", .integer(memory.scoringRows)),
          ("bytes_total", memory.total.map { .integer($0) } ?? .null),
        ])
      ),
    ])
  }
}
