import ArgumentParser
import Backprop

/// `backprop scale`: the same training at several thread counts, measured.
struct ScaleCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "scale",
    abstract: "Measure how training scales across thread counts.",
    usage: "backprop scale --data <name|file> --model <spec> [--threads <1,2,4>] [<options>]",
    discussion: """
      For each thread count, trains the same model from the same initial weights for --warm-up \
      steps, then measures --measure steps: samples/s, speedup over the first thread count, \
      parallel efficiency, the serial fraction estimated from each point (Karp–Flatt), and where \
      the time of a step went. --output writes the table: T.csv or T.json, or both for a bare \
      base name (--output BASE); tools/plot-scaling.sh BASE.json draws it.

      Examples:
        backprop scale --data fashion-mnist --model 784-256-relu-128-relu-10 \\
          --threads 1,2,4,8
        backprop scale --data fashion-mnist --model 784-256-relu-10 \\
          --compare-pinning --output scaling
      """)

  @OptionGroup var arguments: TrainingArguments
  @OptionGroup var initial: InitialWeightsOption
  @OptionGroup var resources: ResourceOptions
  @OptionGroup var convolution: ConvolutionOption

  @Option(
    name: .customLong("threads"), parsing: .next,
    help: "Thread counts, as 1,2,4 (default: powers of two up to the allowed cores, and that number).")
  var threadList: String?
  @Option(help: "Worker placement: compact, spread or none.")
  var pin: PinningPolicy = .compact
  @Flag(help: "Also measure every thread count with --pin none.")
  var comparePinning = false
  @Option(
    name: .customLong("gradients"),
    help:
      "Gradient strategies to measure, as all-reduce,unit-slices: a row per strategy and thread count (default: the one auto chooses)."
  )
  var strategyList: String?
  @Flag(
    help: "Also measure --reproducible runs (rows named reproducible), for what bitwise equality across threads costs.")
  var reproducible = false
  @Option(parsing: .unconditional, help: "Steps run before measuring, at each thread count.")
  var warmUp: Int = 20
  @Option(parsing: .unconditional, help: "Steps measured at each thread count.")
  var measure: Int = 100
  @Option(
    parsing: .unconditional, help: "Measure every thread count this many times, interleaved, and report the median.")
  var repeats: Int = 3
  @Option(help: "Write the table to T.csv or T.json, or to BASE.csv and BASE.json for a name without either extension.")
  var output: String?
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
    if let strategyList, ScaleCommand.parseStrategies(strategyList) == nil {
      throw ValidationError(
        "--gradients '\(strategyList)' is not a list of all-reduce and unit-slices, such as all-reduce,unit-slices")
    }
  }

  static func parseStrategies(_ text: String) -> [GradientStrategy]? {
    let strategies = text.split(separator: ",").map { GradientStrategy(rawValue: String($0.filter { $0 != " " })) }
    guard !strategies.isEmpty, strategies.allSatisfy({ $0 != nil }) else { return nil }
    return strategies.map { $0! }
  }

  static func parseThreads(_ text: String) -> [Int]? {
    let counts = text.split(separator: ",").map { Int($0.filter { $0 != " " }) }
    guard !counts.isEmpty, counts.allSatisfy({ ($0 ?? 0) > 0 }) else { return nil }
    return counts.map { $0! }
  }

  /// The options given on the command line.
  var settings: SessionOptions { arguments.session(adding: [initial.settings]) }

  func run() throws {
    // Under mpirun every rank runs the same study (rank 0 reports it).
    let ranks = Ranks.group
    let report = ReportOutput(ranks.isLeader ? output : nil)
    let outputs = try claimOutputs(report.claims, inputs: TrainingArguments.inputs(of: settings))
    defer { outputs.release() }
    // Every rank measures the same counts: by default those of the fewest cores any rank has.
    var study = ScalingStudy(
      threadCounts: ScalingStudy.defaultThreadCounts(cores: -ranks.maximum(-Topology.shared.allowedCores)))
    study.processes = ranks
    if let counts = threadList.flatMap(ScaleCommand.parseThreads) { study.threadCounts = counts }
    study.pinnings = comparePinning && pin != .none ? [pin, .none] : [pin]
    study.strategies = strategyList.flatMap(ScaleCommand.parseStrategies) ?? []
    study.reproducible = reproducible
    (study.warmUpSteps, study.measuredSteps, study.repeats) = (warmUp, measure, repeats)
    let session: TrainingSession
    do { session = try TrainingSession(settings, threads: 1) } catch {
      throw CommandFailure(error.description)
    }
    let load = ScalingTable.loadAverage()
    if !json { writeStandardError("threads     pin    gradients  samples/s  (each round)\n") }
    let quiet = json
    let table = try reporting {
      try study.run(session) { measurement in
        if !quiet { writeStandardError(measurement.line + "\n") }
      }
    }
    for warning in table.warnings(loadAverage: load, cores: Topology.shared.allowedCores) {
      writeStandardError("backprop: warning: \(warning)\n")
    }
    try report.write(csv: table.csv, json: table.json)
    writeStandardOutput(json ? table.json.serialized() + "\n" : "median of \(repeats):\n" + table.text)
  }
}
