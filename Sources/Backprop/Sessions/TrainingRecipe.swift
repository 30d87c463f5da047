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

  /// The recipe of the data: 8-bit image data (Fashion-MNIST by name, or
  /// any IDX or `.npy` features of unsigned bytes, read into [0, 1]) trains
  /// with SGD, learning rate 0.05, momentum 0.9, batches of 128 for 10
  /// epochs, whatever the files are called; the named toy set xor with
  /// learning rate 0.5, momentum 0.9, batches of 4 for 500 epochs; other
  /// data with learning rate 0.01, batches of 32 for 10 epochs.
  ///
  /// - Parameters:
  ///   - name: the `--data` value.
  ///   - bytes: whether the features were 8-bit values scaled as they were read.
  public static func forData(_ name: String, bytes: Bool) -> TrainingRecipe {
    if name.lowercased() == "xor" { return TrainingRecipe(epochs: 500, batchSize: 4, learningRate: 0.5, momentum: 0.9) }
    if bytes { return TrainingRecipe(epochs: 10, batchSize: 128, learningRate: 0.05, momentum: 0.9) }
    return TrainingRecipe()
  }
}
