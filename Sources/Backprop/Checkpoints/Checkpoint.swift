/// A training run's whole state in one `.safetensors` file: everything a
/// resumed run needs to end with the same weights, bit for bit, as one that
/// was never stopped.
///
/// The tensors are the parameters, under the names and shapes of the saved
/// weights (`0.weight`, `0.bias`, … as in `torch.nn.Sequential`, so PyTorch
/// loads them), and the optimizer state under PyTorch's names for it
/// (`optimizer.momentum_buffer.0.weight`; `optimizer.exp_avg.…` and
/// `optimizer.exp_avg_sq.…`). The metadata holds the model, every training
/// option, the data's identity, the position (epoch, batch, steps and the
/// epoch's running sums), the history of finished epochs, how the random
/// streams are keyed, the thread and worker counts, the library version, and
/// a CRC-32 over all of it and the tensor bytes.
public struct Checkpoint: Sendable {
  /// The model's structure.
  public var spec: ModelSpec
  /// The loss it trains.
  public var loss: Loss
  /// The feature scaling fitted on the training data, if any.
  public var featureScaler: FeatureScaler?
  /// The flat parameter vector, in the model's layout.
  public var parameters: [Float]
  /// The optimizer's flat state vectors (see ``Optimizer/state``).
  public var optimizerState: [[Float]]
  /// With early stopping, the weights of the best epoch so far
  /// (``TrainingPosition/best``), stored as `best.0.weight`, ….
  public var bestParameters: [Float]?
  /// The options the run trains with.
  public var options: TrainingOptions
  /// Where the run was.
  public var position: TrainingPosition
  /// The metrics of the epochs it finished.
  public var history: [EpochMetrics]
  /// What it trained on.
  public var data: DataIdentity
  /// The number of workers its steps ran on (the thread count the results
  /// depend on, bit for bit).
  public var workers: Int
  /// The library version that wrote it.
  public var version: String
  /// All metadata strings, the writer's own keys included.
  public var metadata: [String: String]

  /// A damaged checkpoint, or one that is not a checkpoint.
  public struct ReadError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public let path: String
    /// What is wrong.
    public let reason: String
    public var description: String { "\(path): \(reason)" }
  }

  static let kindKey = Model.kindKey
  static let checksumKey = "backprop.checksum"

  /// The names PyTorch gives the optimizer's state vectors.
  static func stateNames(_ kind: OptimizerSettings.Kind) -> [String] {
    kind == .sgd ? ["momentum_buffer"] : ["exp_avg", "exp_avg_sq"]
  }

  /// Writes the state of `trainer` at `position` to `path`, atomically (see
  /// ``AtomicFile``), straight from the parameters' and state's memory. Call
  /// it from ``RunControl/checkpoint``, when no worker is running.
  ///
  /// - Parameters:
  ///   - history: the metrics of the finished epochs.
  ///   - data: the identity of the training data (compute it once per run).
  ///   - metadata: more strings to keep (such as the command line).
  public static func write(
    trainer: Trainer, position: TrainingPosition, history: [EpochMetrics], data: DataIdentity,
    metadata extra: [String: String] = [:], to path: String
  ) throws(AtomicFile.WriteError) {
    let model = trainer.model
    let entries = model.network.layout.entries
    func views(_ base: UnsafeMutablePointer<Float>, prefix: String) -> [Safetensors.View] {
      entries.map { entry in
        Safetensors.View(
          name: prefix + entry.name, shape: entry.shape,
          values: UnsafeBufferPointer(start: base + entry.offset, count: entry.count))
      }
    }
    var tensors = views(model.parameters.base, prefix: "")
    let names = stateNames(trainer.optimizer.settings.kind)
    for (vector, name) in zip(trainer.optimizer.state, names) {
      tensors += views(vector.base, prefix: "optimizer.\(name).")
    }
    if let best = trainer.bestParameters, position.best != nil { tensors += views(best.base, prefix: "best.") }
    var metadata = extra
    metadata.merge(model.weightsMetadata()) { $1 }
    metadata[kindKey] = "checkpoint"
    metadata["backprop.version"] = BackpropVersion.string
    metadata["backprop.options"] = trainer.options.json.serialized()
    metadata["backprop.position"] = position.json.serialized()
    metadata["backprop.history"] = JSONValue.array(history.map(\.json)).serialized()
    metadata["backprop.data"] = data.json.serialized()
    metadata["backprop.threads"] = String(trainer.options.threads)
    metadata["backprop.workers"] = String(trainer.workerCount)
    metadata["backprop.random"] =
      "counter-based: epoch e shuffles with (seed, stream shuffle, e); dropout of step s, row r uses (seed, s, r)"
    metadata[checksumKey] = checksum(metadata: metadata) { crc in
      for tensor in tensors { crc.add(UnsafeRawBufferPointer(tensor.values)) }
    }
    try Safetensors.write(tensors, metadata: metadata, to: path)
  }

  /// CRC-32 of the tensors' bytes (which `data` adds, in file order) and of
  /// every metadata pair but the checksum itself, in key order.
  static func checksum(metadata: [String: String], data: (inout CRC32) -> Void) -> String {
    var crc = CRC32()
    data(&crc)
    for (key, value) in metadata.sorted(by: { $0.key < $1.key }) where key != checksumKey {
      crc.add("\(key.utf8.count):\(key)\(value.utf8.count):\(value)")
    }
    return crc.hex
  }

  /// Reads and checks the checkpoint at `path`.
  ///
  /// - Throws: ``ReadError`` naming the file and the first thing wrong: a
  ///   damaged file, a weights file that is not a checkpoint, a checksum
  ///   that does not match, metadata that does not parse, or a tensor that is
  ///   missing, extra, not F32, of the wrong shape or not finite.
  public static func read(_ path: String) throws(ReadError) -> Checkpoint {
    let bytes: [UInt8]
    do { bytes = try FileBytes.read(path) } catch {
      throw ReadError(path: path, reason: error.description.dropPrefix(path + ": "))
    }
    return try parse(bytes, path: path)
  }

  /// Parses and checks checkpoint `bytes` that came from `path` (used in
  /// messages); see ``read(_:)``.
  public static func parse(_ bytes: [UInt8], path: String) throws(ReadError) -> Checkpoint {
    func fail(_ reason: String) -> ReadError { ReadError(path: path, reason: reason) }
    let contents: Safetensors.Contents
    do { contents = try Safetensors.parse(bytes, path: path) } catch { throw fail(error.reason) }
    let metadata = contents.metadata
    guard metadata[kindKey] == "checkpoint" else {
      throw fail("not a Backprop checkpoint (no '\(kindKey)' in its metadata); a weights file goes to --init")
    }
    if let bad = contents.tensors.first(where: { $0.dtype != "F32" }) {
      throw fail("tensor '\(bad.name)' is \(bad.dtype); checkpoints hold F32 only")
    }
    let actual = checksum(metadata: metadata) { crc in
      for tensor in contents.tensors { crc.add(contentsOf: tensor.values) }
    }
    guard let expected = metadata[checksumKey] else { throw fail("no checksum ('\(checksumKey)') in its metadata") }
    guard expected == actual else {
      throw fail("checksum mismatch: the metadata says \(expected), the contents give \(actual); the file is damaged")
    }
    func json(_ key: String) throws(ReadError) -> JSONValue {
      guard let text = metadata[key], let value = try? JSONValue.parse(Array(text.utf8)) else {
        throw fail("metadata '\(key)' is missing or not JSON")
      }
      return value
    }
    let spec: ModelSpec
    do { spec = try ModelSpec(parsing: metadata[Model.specKey] ?? "") } catch {
      throw fail("metadata '\(Model.specKey)' is not a model spec: \(error.description)")
    }
    guard let loss = metadata[Model.lossKey].flatMap(Loss.init(name:)) else {
      throw fail("metadata '\(Model.lossKey)' is missing or not a loss")
    }
    guard let options = TrainingOptions(json: try json("backprop.options")) else {
      throw fail("metadata 'backprop.options' is damaged")
    }
    guard let position = TrainingPosition(json: try json("backprop.position")) else {
      throw fail("metadata 'backprop.position' is damaged")
    }
    guard case .array(let entries) = try json("backprop.history") else {
      throw fail("metadata 'backprop.history' is damaged")
    }
    let history = entries.compactMap(EpochMetrics.init(json:))
    guard history.count == entries.count else { throw fail("metadata 'backprop.history' is damaged") }
    guard let data = DataIdentity(json: try json("backprop.data")) else {
      throw fail("metadata 'backprop.data' is damaged")
    }
    guard let workers = metadata["backprop.workers"].flatMap({ Int($0) }), workers > 0 else {
      throw fail("metadata 'backprop.workers' is missing or not a positive number")
    }
    var featureScaler: FeatureScaler? = nil
    if let text = metadata[Model.scalingKey] {
      guard let value = try? JSONValue.parse(Array(text.utf8)), let scaler = FeatureScaler(json: value),
        scaler.shift.count == spec.inputWidth
      else { throw fail("metadata '\(Model.scalingKey)' is damaged") }
      featureScaler = scaler
    }

    // Tensors: exactly the parameters and the optimizer's state, in the model's shapes.
    let layout = ParameterLayout(spec: spec)
    var byName: [String: Safetensors.Tensor] = [:]
    for tensor in contents.tensors { byName[tensor.name] = tensor }
    func vector(prefix: String) throws(ReadError) -> [Float] {
      var values = [Float](repeating: 0, count: layout.totalCount)
      for entry in layout.entries {
        let name = prefix + entry.name
        guard let tensor = byName.removeValue(forKey: name) else {
          throw fail("tensor '\(name)' of model \(spec) is missing")
        }
        guard tensor.shape == entry.shape else {
          throw fail("tensor '\(name)' has shape \(tensor.shape) but model \(spec) needs \(entry.shape)")
        }
        if let bad = tensor.values.firstIndex(where: { !$0.isFinite }) {
          throw fail("tensor '\(name)' holds a non-finite value at index \(bad)")
        }
        if prefix == "", let problem = Model.problem(of: tensor.values, kind: entry.kind) {
          throw fail("tensor '\(name)' \(problem): the file is damaged")
        }
        values.replaceSubrange(entry.offset..<(entry.offset + entry.count), with: tensor.values)
      }
      return values
    }
    let parameters = try vector(prefix: "")
    var state: [[Float]] = []
    for name in stateNames(options.optimizer.kind).prefix(options.optimizer.stateVectorCount) {
      state.append(try vector(prefix: "optimizer.\(name)."))
    }
    let best = options.earlyStoppingPatience != nil && position.best != nil ? try vector(prefix: "best.") : nil
    if let extra = byName.keys.sorted().first {
      throw fail("tensor '\(extra)' belongs to neither model \(spec) nor its \(options.optimizer.kind) optimizer")
    }
    return Checkpoint(
      spec: spec, loss: loss, featureScaler: featureScaler, parameters: parameters, optimizerState: state,
      bestParameters: best, options: options, position: position, history: history, data: data, workers: workers,
      version: metadata["backprop.version"] ?? "unknown", metadata: metadata)
  }

  /// What forbids resuming this checkpoint with a model of `spec` and
  /// `loss`, trained with `options` on `data`, one line per difference
  /// (empty when it may resume). The run's length (`epochs`, `maximumSteps`,
  /// and with them where a cosine schedule ends), the thread count, the
  /// work threshold and the non-finite policy may change; nothing else.
  public func conflicts(spec: ModelSpec, loss: Loss, options: TrainingOptions, data: DataIdentity) -> [String] {
    var found: [String] = []
    func check<T: Equatable>(_ name: String, _ saved: T, _ given: T) {
      if saved != given { found.append("\(name): the checkpoint has \(saved), this run \(given)") }
    }
    check("model", self.spec.description, spec.description)
    check("loss", self.loss.rawValue, loss.rawValue)
    if let difference = self.data.difference(from: data) { found.append("data: \(difference)") }
    let (a, b) = (self.options, options)
    check("batch size", a.batchSize, b.batchSize)
    check("seed", a.seed, b.seed)
    check("shuffle", a.shuffle, b.shuffle)
    check("optimizer", a.optimizer.kind.rawValue, b.optimizer.kind.rawValue)
    check("learning rate", a.optimizer.learningRate, b.optimizer.learningRate)
    check("momentum", a.optimizer.momentum, b.optimizer.momentum)
    check("nesterov", a.optimizer.nesterov, b.optimizer.nesterov)
    check("weight decay", a.optimizer.weightDecay, b.optimizer.weightDecay)
    check("beta1", a.optimizer.beta1, b.optimizer.beta1)
    check("beta2", a.optimizer.beta2, b.optimizer.beta2)
    check("eps", a.optimizer.epsilon, b.optimizer.epsilon)
    check("schedule", a.schedule.description, b.schedule.description)
    check("warm-up steps", a.schedule.warmupSteps, b.schedule.warmupSteps)
    func clip(_ value: Double?) -> String { value.map { "\($0)" } ?? "none" }
    check("gradient clipping", clip(a.clipGradientNorm), clip(b.clipGradientNorm))
    check("--reproducible", a.reproducible, b.reproducible)
    check("--augment", a.augmentation?.description ?? "none", b.augmentation?.description ?? "none")
    check(
      "early stopping", a.earlyStoppingPatience.map { "patience \($0)" } ?? "none",
      b.earlyStoppingPatience.map { "patience \($0)" } ?? "none")
    return found
  }
}

extension Checkpoint {
  /// What makes the saved position impossible for a run of `options` over
  /// `samples` training samples (a damaged or forged checkpoint whose CRC
  /// was made to match), or `nil` when it is possible. Checked before
  /// ``Trainer/restore(from:)``, which relies on it.
  public func positionProblem(options: TrainingOptions, samples: Int) -> String? {
    let p = position
    let batches = options.stepsPerEpoch(samples: samples)
    if p.epoch < 0 || p.steps < 0 { return "its position has a negative epoch (\(p.epoch)) or step count (\(p.steps))" }
    if p.batch < 0 || p.batch > batches {
      return "its position's batch \(p.batch) is outside the \(batches) batches of an epoch"
    }
    if p.seen < 0 || p.seen > min(samples, p.batch * options.batchSize) || p.correct < 0 || p.correct > p.seen {
      return
        "its position counts \(p.seen) samples seen and \(p.correct) correct after \(p.batch) batches of \(options.batchSize)"
    }
    if p.skippedBatches < 0 || p.skippedBatches > p.batch {
      return "its position skips \(p.skippedBatches) of \(p.batch) batches"
    }
    if !p.lossSum.isFinite || p.lossSum < 0 {
      return "its position's loss sum \(p.lossSum) is not a finite sum of losses"
    }
    if let best = p.best, best.epoch < 1 || best.epoch > p.epoch || !best.loss.isFinite {
      return "its best epoch \(best.epoch) (loss \(best.loss)) is not one of the \(p.epoch) finished epochs"
    }
    let (full, overflow) = p.epoch.multipliedReportingOverflow(by: batches)
    if overflow || full > Int.max - p.batch || p.steps > full + p.batch {
      return "its \(p.steps) steps are more than \(p.epoch) epochs of \(batches) batches and \(p.batch) more allow"
    }
    return nil
  }
}

extension Trainer {
  /// Takes up the run saved in `checkpoint`: its parameters, optimizer
  /// state and step count now, its position and history at the next
  /// ``train(evaluation:control:progress:epochEnd:)``.
  ///
  /// - Precondition: the checkpoint is for this model and optimizer (check
  ///   ``Checkpoint/conflicts(spec:loss:options:data:)`` first).
  public func restore(from checkpoint: Checkpoint) {
    precondition(checkpoint.spec == model.spec, "checkpoint of model \(checkpoint.spec), not \(model.spec)")
    precondition(checkpoint.parameters.count == model.parameters.count, "parameter count differs")
    precondition(checkpoint.optimizerState.count == optimizer.state.count, "optimizer state differs")
    model.parameters.base.update(from: checkpoint.parameters, count: checkpoint.parameters.count)
    for (vector, values) in zip(optimizer.state, checkpoint.optimizerState) {
      vector.base.update(from: values, count: values.count)
    }
    if let best = bestParameters, let values = checkpoint.bestParameters {
      best.base.update(from: values, count: values.count)
    }
    stepsTaken = checkpoint.position.steps
    resumePoint = ResumePoint(position: checkpoint.position, history: checkpoint.history)
  }
}
