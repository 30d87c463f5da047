/// Fold results as text, exactly, to send between processes: `cv` under
/// `mpirun` runs each rank's share of the folds and gathers their results
/// on rank 0. Every `Double` travels as its bit pattern, so a gathered
/// result equals the one its rank measured.
extension FoldResult {
  /// This result as one line of JSON (see ``init(exchanged:)``).
  public var exchanged: String {
    func bits(_ value: Double) -> JSONValue { .integer(Int(Int64(bitPattern: value.bitPattern))) }
    let classes = self.classes.map { list in
      JSONValue.array(
        list.map {
          .array([
            .integer($0.label), bits($0.precision), bits($0.recall), bits($0.f1), .integer($0.support),
          ])
        })
    }
    return JSONValue.object([
      ("fold", .integer(fold)), ("train", .integer(trainSamples)), ("validation", .integer(validationSamples)),
      ("loss", bits(validationLoss)), ("accuracy", validationAccuracy.map(bits) ?? .null),
      ("classes", classes ?? .null), ("best_epoch", .integer(bestEpoch)), ("epochs", .integer(epochs)),
      ("seconds", bits(seconds)), ("started", bits(startedAt)), ("cpus", .array(cpus.map { .integer($0) })),
      ("workers", .integer(workers)), ("lane", .integer(lane)), ("execution", .string(execution)),
      ("checksum", .string(weightsChecksum)), ("failure", failure.map { .string($0) } ?? .null),
      ("interrupted", .bool(interrupted)),
    ]).serialized()
  }

  /// The result ``exchanged`` wrote, or nil if `text` is not one.
  public init?(exchanged text: String) {
    guard let json = try? JSONValue.parse(Array(text.utf8)) else { return nil }
    func bits(_ value: JSONValue?) -> Double? {
      value?.integerValue.map { Double(bitPattern: UInt64(bitPattern: Int64($0))) }
    }
    func integer(_ key: String) -> Int? { json[key]?.integerValue }
    guard let fold = integer("fold"), let train = integer("train"), let validation = integer("validation"),
      let loss = bits(json["loss"]), let bestEpoch = integer("best_epoch"), let epochs = integer("epochs"),
      let seconds = bits(json["seconds"]), let started = bits(json["started"]),
      let cpus = json["cpus"]?.arrayValue?.compactMap({ $0.integerValue }), let workers = integer("workers"),
      let lane = integer("lane"), let execution = json["execution"]?.stringValue,
      let checksum = json["checksum"]?.stringValue, case .bool(let interrupted)? = json["interrupted"]
    else { return nil }
    self.init(fold: fold, trainSamples: train, validationSamples: validation)
    validationLoss = loss
    validationAccuracy = bits(json["accuracy"])
    classes = json["classes"]?.arrayValue?.compactMap { entry -> ClassMetrics? in
      guard let values = entry.arrayValue, values.count == 5, let label = values[0].integerValue,
        let precision = bits(values[1]), let recall = bits(values[2]), let f1 = bits(values[3]),
        let support = values[4].integerValue
      else { return nil }
      return ClassMetrics(label: label, precision: precision, recall: recall, f1: f1, support: support)
    }
    (self.bestEpoch, self.epochs, self.seconds, startedAt) = (bestEpoch, epochs, seconds, started)
    (self.cpus, self.workers, self.lane, self.execution) = (cpus, workers, lane, execution)
    weightsChecksum = checksum
    failure = json["failure"]?.stringValue
    self.interrupted = interrupted
  }
}

/// Search results between processes: `search` under `mpirun` runs each
/// rank's share of the trials' folds, and every rank gathers every fold
/// (so that all agree on the best setting and refit it together).
extension Search {
  /// The folds `results` ran here, one line each: the trial's number, a
  /// space, and the fold's ``FoldResult/exchanged`` line.
  public static func exchanged(_ results: [TrialResult]) -> String {
    results.flatMap { result in result.folds.map { "\(result.trial) \($0.exchanged)" } }.joined(separator: "\n")
  }

  /// `results` with their folds replaced by those of `texts` (every rank's
  /// ``exchanged(_:)``), in fold order; `nil` if a line does not read back.
  public static func merging(_ results: [TrialResult], exchanged texts: [String]) -> [TrialResult]? {
    var folds: [Int: [FoldResult]] = [:]
    for line in texts.flatMap({ $0.split(separator: "\n") }) {
      guard let space = line.firstIndex(of: " "), let trial = Int(line[..<space]),
        let fold = FoldResult(exchanged: String(line[line.index(after: space)...]))
      else { return nil }
      folds[trial, default: []].append(fold)
    }
    return results.map { result in
      var merged = result
      merged.folds = (folds[result.trial] ?? []).sorted { $0.fold < $1.fold }
      return merged
    }
  }
}
