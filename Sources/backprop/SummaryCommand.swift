import ArgumentParser
import Backprop

/// `backprop summary`: a model's layers, parameters, FLOPs and training memory.
struct SummaryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Show a model's layers: output shapes, parameters, FLOPs per sample, and training memory.",
    usage: """
      backprop summary --model <spec> [--batch-size <n>] [--threads <n>] [--optimizer <name>] [--json]
      backprop summary --weights <file> [--model <spec>] [<options>]
      """,
    discussion: """
      Parameters are those the optimizer trains, as PyTorch's parameters() counts them; batch \
      normalisation's running statistics are listed apart (PyTorch's buffers). Training FLOPs are \
      forward, the parameters' gradient, and the input's gradient above the first layer with \
      parameters. Memory is per worker (its rows of the batch and its working space) and in all, \
      as train estimates it before allocating.

      Examples:
        backprop summary --model 1x28x28-conv32k5p2-relu-maxpool2-conv64k5p2-relu-maxpool2-flatten-10
        backprop summary --weights fashion.safetensors --batch-size 256 --threads 16 --json
      """)

  @Option(help: "The model spec (or a .json file); with --weights, for a file that does not name it.")
  var model: String?
  @Option(help: "A .safetensors file whose model to summarise (saved by Backprop, or by PyTorch with --model).")
  var weights: String?
  @Option(parsing: .unconditional, help: "The batch size the memory is worked out for (default: 32).")
  var batchSize: Int = TrainingOptions().batchSize
  @OptionGroup var threads: ThreadOptions
  @Option(help: "The optimizer whose state the memory counts: sgd, adam or adamw (default: sgd).")
  var optimizer: OptimizerSettings.Kind = .sgd
  @Option(parsing: .unconditional, help: "SGD's momentum (a momentum buffer counts in the memory).")
  var momentum: Double = 0
  @Flag(help: "Print one JSON object instead of the table.")
  var json = false

  func validate() throws {
    if model == nil && weights == nil { throw ValidationError("give --model SPEC or --weights FILE") }
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1, got \(batchSize)") }
    if !(momentum >= 0 && momentum < 1) { throw ValidationError("--momentum must be in [0, 1), got \(momentum)") }
  }

  func run() throws {
    var spec: ModelSpec? = nil
    if let model {
      do { spec = try ModelSpec(specOrJSONFile: model) } catch { throw CommandFailure("--model: \(error.description)") }
    }
    if let weights {
      // Loaded, not only read for its spec: damaged weights are an error here too.
      let loaded = try reporting {
        try spec.map { try Model.load(from: weights, spec: $0, loss: .defaultLoss(outputs: $0.outputWidth)) }
          ?? Model.load(from: weights)
      }
      spec = loaded.spec
    }
    guard let spec else { throw CommandFailure("give --model SPEC or --weights FILE") }
    var options = TrainingOptions()
    options.batchSize = batchSize
    options.threads = threads.count
    options.optimizer = OptimizerSettings(kind: optimizer, learningRate: 0.01)
    options.optimizer.momentum = momentum
    let summary = ModelSummary(spec: spec, options: options)
    writeStandardOutput(json ? summary.json.serialized() + "\n" : summary.text)
  }

}
