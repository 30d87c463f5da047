/// The defaults a data set brings for the options a session was not given.
public struct TrainingRecipe: Sendable, Hashable {
  /// Passes over the training data.
  public var epochs = 10
  /// Samples per step.
  public var batchSize = 32
  /// SGD's learning rate.
  public var learningRate = 0.01
  /// SGD's momentum.
  public var momentum = 0.0

  /// The recipe of the data set named `name`: fashion-mnist trains with SGD,
  /// learning rate 0.05, momentum 0.9, batches of 128 for 10 epochs; xor with
  /// learning rate 0.5, momentum 0.9, batches of 4 for 500 epochs; files with
  /// learning rate 0.01, batches of 32 for 10 epochs.
  public static func forData(_ name: String) -> TrainingRecipe {
    switch name.lowercased() {
    case "xor": TrainingRecipe(epochs: 500, batchSize: 4, learningRate: 0.5, momentum: 0.9)
    case "fashion-mnist", "fashion_mnist", "fashionmnist":
      TrainingRecipe(epochs: 10, batchSize: 128, learningRate: 0.05, momentum: 0.9)
    default: TrainingRecipe()
    }
  }
}
