import Backprop
import Testing

/// Typed session options: by name, as JSON, as an old command line, laid
/// over each other, and a search setting applied.
@Suite struct SessionOptionsTests {
  static func example() -> SessionOptions {
    var options = SessionOptions()
    options.data = "/data/train.csv"
    options.model = "4-{h}-relu-3"
    options.optimizer = .adamw
    options.learningRate = 0.003
    options.nesterov = nil
    options.shuffle = false
    options.seed = UInt64.max
    options.scaling = .standard
    options.onNonFinite = .skipBatch
    options.batchSize = 64
    return options
  }

  @Test func jsonReadsBackTheSameOptions() throws {
    let options = Self.example()
    let text = options.json.serialized()
    #expect(text.contains("\"lr\":0.003") && text.contains("\"no-shuffle\":true"), "\(text)")
    #expect(try SessionOptions(json: JSONValue.parse(Array(text.utf8))) == options)
    #expect(throws: SessionError.self) { try SessionOptions(json: .object([("lr", .string("fast"))])) }
    #expect(throws: SessionError.self) { try SessionOptions(json: .object([("learning_rate", .number(1))])) }
  }

  @Test func optionsAreSetByNameAsTheirTypes() throws {
    var options = SessionOptions()
    try options.set("lr", to: "0.1")
    try options.set("batch-size", to: "16")
    try options.set("optimizer", to: "adam")
    try options.set("nesterov", to: "true")
    try options.set("seed", to: "18446744073709551615")
    #expect(options.learningRate == 0.1 && options.batchSize == 16 && options.optimizer == .adam)
    #expect(options.nesterov == true && options.seed == .max)
    #expect(throws: SessionError(option: "--batch-size", message: "'1.5' is not a whole number")) {
      try options.set("batch-size", to: "1.5")
    }
    #expect(throws: SessionError.self) { try options.set("optimizer", to: "rmsprop") }
    #expect(throws: SessionError.self) { try options.set("hidden", to: "3") }
  }

  @Test func anOldCommandLineReadsAsTheSameOptions() throws {
    let options = try SessionOptions(commandLine: [
      "--data", "/data/train.csv", "--model", "4-{h}-relu-3", "--optimizer", "adamw", "--lr", "0.003",
      "--no-shuffle", "--seed", "18446744073709551615", "--scale", "standard", "--on-nan", "skip-batch",
      "--batch-size", "64",
    ])
    #expect(options == Self.example())
    #expect(throws: SessionError.self) { try SessionOptions(commandLine: ["--lr"]) }
  }

  @Test func givenOptionsReplaceSavedOnesAndKeepTheRest() {
    var given = SessionOptions()
    given.epochs = 30
    given.shuffle = true
    let merged = given.overlaid(on: Self.example())
    #expect(merged.epochs == 30 && merged.shuffle == true)
    #expect(merged.learningRate == 0.003 && merged.data == "/data/train.csv")
  }

  @Test func aSearchSettingFillsPlaceholdersAndSetsOptions() throws {
    let applied = try Self.example().applying([("h", "32"), ("lr", "0.01"), ("momentum", "0.5")])
    #expect(applied.model == "4-32-relu-3" && applied.learningRate == 0.01 && applied.momentum == 0.5)
    #expect(throws: SessionError.self) { try Self.example().applying([("lr", "0.01")]) }  // {h} left
    #expect(throws: SessionError.self) { try Self.example().applying([("h", "8"), ("lr", "-1")]) }  // out of range
    #expect(throws: SessionError.self) { try Self.example().applying([("h", "8"), ("width", "3")]) }
  }

  @Test func aSessionFillsTheRecipeAndScalesWithTheTrainingSplit() throws {
    var settings = SessionOptions()
    settings.data = "xor"
    settings.model = "2-4-tanh-1"
    settings.steps = 7
    let session = try TrainingSession(settings, threads: 1)
    // xor's recipe: SGD, lr 0.5, momentum 0.9, batches of 4 — one step per
    // epoch of four samples, so seven steps take seven epochs.
    #expect(session.options.optimizer.learningRate == 0.5 && session.options.optimizer.momentum == 0.9)
    #expect(session.options.batchSize == 4 && session.options.epochs == 7)
    #expect(session.evaluationName == "test" && session.test?.count == 4)
    #expect(session.savedSettings.model == "2-4-tanh-1" && session.savedSettings.loss == .binaryCrossEntropy)
  }
}
