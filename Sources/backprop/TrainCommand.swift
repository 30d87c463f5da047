import ArgumentParser
import Backprop

/// `backprop train`: trains a model and reports, saves and logs the result.
struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a model on a data set.",
    usage: """
      backprop train --data <name|file> --model <spec> [<options>]
      backprop train --resume <checkpoint> [--epochs <n>] [<options>]
      """,
    discussion: """
      The model spec lists layer widths with the activation after each layer, for example \
      784-256-relu-128-relu-10 (activations: sigmoid, tanh, relu, leakyrelu, gelu, identity; \
      dropout0.2 adds dropout). The data brings defaults for options not given: 8-bit images \
      (fashion-mnist, or IDX/.npy files of bytes): SGD, lr 0.05, momentum 0.9, batch 128, 10 \
      epochs; xor: SGD, lr 0.5, momentum 0.9, batch 4, 500 epochs; other files: SGD, lr 0.01, \
      batch 32, 10 epochs.

      Examples:
        backprop train --data fashion-mnist --model 784-256-relu-128-relu-10 \\
          --save fashion.safetensors
        backprop train --data my.csv --label-column species --drop-columns id \\
          --model 4-16-relu-3 --scale standard --validation-split 0.2 \\
          --early-stopping 5 --epochs 200 --save my.safetensors
      """
  )

  @OptionGroup var arguments: TrainingArguments
  @OptionGroup var initial: InitialWeightsOption
  @OptionGroup var gradients: GradientsOption
  @OptionGroup var length: RunLengthOptions
  @OptionGroup var test: TestDataOptions
  @Option(
    parsing: .unconditional, help: "Hold out this fraction of the training data (seeded) and report it each epoch.")
  var validationSplit: Double?
  @OptionGroup var resources: ResourceOptions
  @OptionGroup var convolution: ConvolutionOption

  @OptionGroup var threads: ThreadOptions
  @OptionGroup var tensorBoard: TensorBoardOptions
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
    if resume != nil && initial.initialWeights != nil {
      throw ValidationError("--init: cannot be used with --resume, whose checkpoint holds the weights")
    }
    if resume == nil && arguments.source.data == nil { throw ValidationError("--data: missing (or give --resume)") }
    if let validationSplit, !(validationSplit > 0 && validationSplit < 1) {
      throw ValidationError("--validation-split must be in (0, 1), got \(validationSplit)")
    }
    if resume == nil && length.earlyStopping != nil && validationSplit == nil {
      throw ValidationError("--early-stopping: needs --validation-split (stopping on the test set would tune on it)")
    }
  }

  /// The options given on the command line.
  var given: SessionOptions {
    var split = SessionOptions()
    split.validationSplit = validationSplit
    return arguments.session(adding: [initial.settings, gradients.settings, length.settings, test.settings, split])
  }

  func run() throws {
    // Only rank 0 writes files: the others train without outputs.
    if !Ranks.group.isLeader && (save != nil || metrics != nil || checkpoint != nil || tensorBoard.tensorboard != nil) {
      var follower = self
      (follower.save, follower.metrics, follower.checkpoint) = (nil, nil, nil)
      (follower.tensorBoard.tensorboard, follower.tensorBoard.tensorboardEvery) = (nil, nil)
      return try follower.run()
    }
    let started = ContinuousClock.now
    Interruption.stopsCleanly()
    let resumed = try resume.map { path throws(CommandFailure) in try ResumedRun(path: path, given: given) }
    let checkpointPath = Ranks.group.isLeader ? checkpoint ?? resume : nil
    // Outputs are checked and locked first so a long run never ends in an
    // error about them, never writes an input, and never shares an output.
    let settings = resumed?.settings ?? given
    let outputs = try claimOutputs(
      [named("--save", save), named("--metrics", metrics), named("--checkpoint", checkpointPath)],
      inputs: TrainingArguments.inputs(of: settings) + [named("--resume", resume)],
      sharedWithInput: ("--checkpoint", "--resume"))
    defer { outputs.release() }
    try tensorBoard.prepare()
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
