import Backprop
import Testing

/// The README's library example, on `xor` instead of Fashion-MNIST so that it
/// runs in a moment; keeps the example compiling and working.
@Test func readmeLibraryExampleWorks() throws {
  let scratch = ScratchFolder()
  let loaded = try DatasetLoader.load(data: "xor", labels: nil)
  let spec = try ModelSpec(parsing: "2-8-tanh-1")
  try loaded.training.validate(inputWidth: spec.inputWidth, outputs: spec.outputWidth, loss: .binaryCrossEntropy)

  let model = Model(spec: spec, seed: 42)
  var options = TrainingOptions()
  options.epochs = 300
  options.batchSize = 4
  options.seed = 42
  options.optimizer = OptimizerSettings(kind: .sgd, learningRate: 0.5)
  options.optimizer.momentum = 0.9

  let trainer = Trainer(model: model, training: loaded.training, options: options)
  var epochs = 0
  let history = try trainer.train(
    evaluation: loaded.test,
    epochEnd: { _ in epochs += 1 })
  try model.save(to: scratch.file("xor.safetensors"))
  #expect(epochs == 300)
  #expect(history.last?.evaluation?.accuracy == 1)
  #expect(
    try Model.load(from: scratch.file("xor.safetensors")).outputs(for: loaded.training)
      == model.outputs(for: loaded.training))
}
