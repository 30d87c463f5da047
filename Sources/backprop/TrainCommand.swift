import ArgumentParser
import Backprop

/// `backprop train`: trains a model and reports, saves and logs the result.
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a model on a data set.",
    discussion: """
      The model spec lists layer widths with the activation after each layer, for example \
      784-256-relu-128-relu-10 (activations: sigmoid, tanh, relu, leakyrelu, gelu, identity; \
      dropout0.2 adds dropout). Named data sets bring their own test split and default recipe \
      (fashion-mnist: SGD, lr 0.05, momentum 0.9, batch 128, 10 epochs; xor: SGD, lr 0.5, \
      momentum 0.9, batch 4, 500 epochs); files default to SGD, lr 0.01, batch 32, 10 epochs.
      """
  )

  @OptionGroup var arguments: TrainingArguments

  @OptionGroup var threads: ThreadOptions
  @Option(help: "Worker placement: compact, spread or none.")
  var pin: PinningPolicy = .compact
  @Flag(help: "Print where the time of a step went and which CPU each worker ran on.")
  var profile = false

  @Option(help: "Save the trained weights to this .safetensors file.")
  var save: String?
  @Option(help: "Write one JSON object per epoch to this file.")
  var metrics: String?
  @Flag(help: "Print one JSON summary object on standard output at the end.")
  var json = false
  @Flag(help: "Print no per-epoch lines on standard error.")
  var quiet = false

  func run() throws {
    let started = ContinuousClock.now
    // Output paths are checked first so a long run never ends in an error about them.
    if let path = save { try checkWritable(path, option: "--save") }
    if let path = metrics { try checkWritable(path, option: "--metrics") }
    let setup = try TrainingSetup(arguments: arguments, threads: threads.count)
    try TrainingRun(command: self, setup: setup).execute(started: started)
  }
}
