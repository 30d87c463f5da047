import ArgumentParser
import Backprop

/// `backprop scale`: the same training at several thread counts, measured.
struct ScaleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scale",
    abstract: "Measure how training scales across thread counts.",
    discussion: """
      For each thread count, trains the same model from the same initial weights for --warm-up \
      steps, then measures --measure steps: samples/s, speedup over the first thread count, \
      parallel efficiency, the serial fraction estimated from each point (Karp–Flatt), and where \
      the time of a step went. Writes the table to BASE.csv and BASE.json (--output BASE); \
      tools/plot-scaling.sh BASE.json draws it.
      """)

  @OptionGroup var arguments: TrainingArguments
  @OptionGroup var resources: ResourceOptions

  @Option(
    name: .customLong("threads"), parsing: .next,
    help: "Thread counts, as 1,2,4 (default: powers of two up to the allowed cores, and that number).")
  var threadList: String?
  @Option(help: "Worker placement: compact, spread or none.")
  var pin: PinningPolicy = .compact
  @Flag(help: "Also measure every thread count with --pin none.")
  var comparePinning = false
  @Option(parsing: .unconditional, help: "Steps run before measuring, at each thread count.")
  var warmUp: Int = 20
  @Option(parsing: .unconditional, help: "Steps measured at each thread count.")
  var measure: Int = 100
  @Option(
    parsing: .unconditional, help: "Measure every thread count this many times, interleaved, and report the median.")
  var repeats: Int = 3
  @Option(help: "Write the table to BASE.csv and BASE.json.")
  var output: String = "scaling"
  @Flag(help: "Print the table as one JSON object instead of text.")
  var json = false

  func validate() throws {
    if warmUp < 0 { throw ValidationError("--warm-up must not be negative, got \(warmUp)") }
    if measure < 1 { throw ValidationError("--measure must be at least 1, got \(measure)") }
    if repeats < 1 { throw ValidationError("--repeats must be at least 1, got \(repeats)") }
    if let threadList, ScaleCommand.parseThreads(threadList) == nil {
      throw ValidationError("--threads '\(threadList)' is not a list of positive counts such as 1,2,4")
    }
    for count in threadList.flatMap(ScaleCommand.parseThreads) ?? [] { try Threads.check(count) }
  }

  static func parseThreads(_ text: String) -> [Int]? {
    let counts = text.split(separator: ",").map { Int($0.filter { $0 != " " }) }
    guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
    return counts.map { $0! }
  }

  /// Powers of two up to the allowed cores, and that number itself.
  static func defaultThreads(cores: Int) -> [Int] {
    var counts: [Int] = []
    var count = 1
    while count < cores {
      counts.append(count)
      count *= 2
    }
    return counts + [cores]
  }

  func run() throws {
    let outputs = try claimOutputs(
      [named("--output", output + ".csv"), named("--output", output + ".json")], inputs: arguments.inputs)
    defer { outputs.release() }
    let counts =
      threadList.flatMap(ScaleCommand.parseThreads) ?? ScaleCommand.defaultThreads(cores: Topology.shared.allowedCores)
    var setup = try TrainingSetup(arguments: arguments, threads: 1)
    setup.options.maximumSteps = warmUp + measure
    setup.options.epochs = Int.max / 2
    let initial = setup.model.parameters.array
    var rows: [ScalingRow] = []
    if !json { writeStandardError("threads     pin  samples/s  (each round)\n") }
    for policy in comparePinning && pin != .none ? [pin, .none] : [pin] {
      // Rounds interleave the thread counts, so a slow spell of a shared
      // machine spreads over all of them; each count reports its median.
      var measured: [Int: [ScalingMeasurement]] = [:]
      for _ in 0..<repeats {
        for threads in counts {
          let measurement = try measure(setup: setup, initial: initial, threads: threads, pinning: policy)
          measured[threads, default: []].append(measurement)
          if !json { writeStandardError(measurement.line + "\n") }
        }
      }
      var baseline: ScalingMeasurement? = nil
      for threads in counts {
        let runs = measured[threads]!.sorted { $0.samplesPerSecond < $1.samplesPerSecond }
        let median = runs[runs.count / 2]
        rows.append(ScalingRow(median, baseline: baseline ?? median))
        if baseline == nil { baseline = median }
      }
    }
    let table = ScalingTable(rows: rows, model: setup.model.spec.description, batchSize: setup.options.batchSize)
    try reporting {
      try AtomicFile.write(table.csv, to: output + ".csv")
      try AtomicFile.write(table.json.serialized() + "\n", to: output + ".json")
    }
    writeStandardOutput(json ? table.json.serialized() + "\n" : "median of \(repeats):\n" + table.text)
  }

  /// Trains warm-up plus measured steps at one thread count and measures the latter.
  private func measure(
    setup: TrainingSetup, initial: [Float], threads: Int, pinning: PinningPolicy
  ) throws(CommandFailure) -> ScalingMeasurement {
    let model = Model(spec: setup.model.spec, loss: setup.model.loss, parameters: initial)
    var options = setup.options
    options.threads = threads
    let trainer = Trainer(model: model, training: setup.training, options: options, pinning: pinning, profiling: true)
    var mark: (time: Double, samples: Int, profile: StepProfile)? = nil
    var samplesSeen = 0
    let clock = ContinuousClock()
    let origin = clock.now
    let warmUp = self.warmUp
    do {
      try trainer.train(progress: { progress in
        samplesSeen = progress.samplesSeen
        if progress.step == warmUp && mark == nil {
          mark = ((clock.now - origin).seconds, progress.samplesSeen, trainer.profile)
        }
      })
    } catch {
      throw CommandFailure(error)
    }
    let end = (clock.now - origin).seconds
    let start = mark ?? (0, 0, StepProfile())
    let samples = samplesSeen - start.samples
    var profile = trainer.profile
    profile.subtract(start.profile)
    let rate = Double(samples) / max(end - start.time, 1e-9)
    return ScalingMeasurement(
      threads: threads, pinning: pinning, samplesPerSecond: rate, profile: profile,
      mode: trainer.executionMode.description + (trainer.fewerWorkersReason.map { " (\($0))" } ?? ""))
  }
}
