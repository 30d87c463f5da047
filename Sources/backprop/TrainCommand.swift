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
  @OptionGroup var resources: ResourceOptions

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
  @Flag(help: "Print no progress line and no per-epoch lines on standard error.")
  var quiet = false

  @Option(
    help: ArgumentHelp(
      "Write the whole training state to this .safetensors file at the end of every epoch (and on Ctrl-C).",
      discussion:
        "Resume with --resume PATH. A resumed run checkpoints to the file it resumed from unless told otherwise."
    ))
  var checkpoint: String?
  @Option(parsing: .unconditional, help: "Also write the checkpoint every N optimizer steps.")
  var checkpointEvery: Int?
  @Option(
    parsing: .unconditional, help: "Keep the K newest checkpoints, as PATH's name with .step-N (PATH is the newest).")
  var keepCheckpoints: Int = 1
  @Option(
    help: ArgumentHelp(
      "Continue the run saved in this checkpoint; the data, model and options come from it.",
      discussion:
        "Only --epochs, --steps (and with them the end of a cosine schedule), --threads, --on-nan, --min-work-per-thread and the output and checkpoint options may change; other options must match the checkpoint."
    ))
  var resume: String?

  func validate() throws {
    if let checkpointEvery, checkpointEvery < 1 {
      throw ValidationError("--checkpoint-every must be at least 1, got \(checkpointEvery)")
    }
    if keepCheckpoints < 1 { throw ValidationError("--keep-checkpoints must be at least 1, got \(keepCheckpoints)") }
    if resume == nil && checkpoint == nil && (checkpointEvery != nil || keepCheckpoints != 1) {
      throw ValidationError("--checkpoint-every/--keep-checkpoints: need --checkpoint PATH")
    }
    if resume != nil && arguments.initialWeights != nil {
      throw ValidationError("--init: cannot be used with --resume, whose checkpoint holds the weights")
    }
    if resume == nil && arguments.source.data == nil { throw ValidationError("--data: missing (or give --resume)") }
    if resume == nil && arguments.earlyStopping != nil && arguments.validationSplit == nil {
      throw ValidationError("--early-stopping: needs --validation-split (stopping on the test set would tune on it)")
    }
  }

  func run() throws {
    let started = ContinuousClock.now
    Interruption.stopsCleanly()
    let resumed = try resume.map { path throws(CommandFailure) in try ResumedRun(path: path, given: arguments) }
    let checkpointPath = checkpoint ?? resume
    // Outputs are checked and locked first so a long run never ends in an
    // error about them, never writes an input, and never shares an output.
    let settings = resumed?.settings ?? arguments.session
    let outputs = try claimOutputs(
      [named("--save", save), named("--metrics", metrics), named("--checkpoint", checkpointPath)],
      inputs: TrainingArguments.inputs(of: settings) + [named("--resume", resume)],
      sharedWithInput: ("--checkpoint", "--resume"))
    defer { outputs.release() }
    let threadCount = threads.requested ?? resumed?.checkpoint.options.threads ?? threads.count
    try Threads.check(
      threadCount, option: threads.requested == nil && resumed != nil ? "--resume's --threads" : "--threads")
    let session: TrainingSession
    do { session = try TrainingSession(settings, threads: threadCount) } catch {
      throw CommandFailure(error.description)
    }
    try TrainingRun(command: self, session: session, resumed: resumed, checkpointPath: checkpointPath)
      .execute(started: started)
  }
}
