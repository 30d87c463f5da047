/// A network, its one flat parameter vector, and the loss it is trained with.
///
/// The parameters are a single aligned `Float` buffer laid out by
/// ``Network/layout``; layers see views into it.
public final class Model: @unchecked Sendable {
  // @unchecked Sendable: parameters are written only by the trainer's update
  // pass, by disjoint slices, and read by workers only between updates.

  /// The architecture and parameter layout.
  public let network: Network
  /// The flat parameter vector.
  public let parameters: AlignedBuffer<Float>
  /// The loss the model is trained and evaluated with.
  public let loss: Loss
  /// The feature scaling fitted on the training data, applied to any data
  /// the model sees after training; saved with the weights.
  public var featureScaler: FeatureScaler? = nil
  /// The training data's feature names, label column and class names,
  /// saved with the weights so that other files are read the same way.
  public var dataSchema: DataSchema? = nil

  /// Creates a model with freshly initialised parameters.
  ///
  /// - Parameters:
  ///   - loss: the loss; `nil` picks ``Loss/defaultLoss(outputs:)``.
  ///   - initializer: how to draw the initial weights.
  ///   - seed: the seed of the draw.
  public init(spec: ModelSpec, loss: Loss? = nil, initializer: Initializer = .pytorch, seed: UInt64 = 0) {
    network = Network(spec: spec)
    self.loss = loss ?? .defaultLoss(outputs: spec.outputWidth)
    parameters = AlignedBuffer(count: network.layout.totalCount)
    initializer.initialize(parameters.pointer, network: network, seed: seed)
  }

  /// Creates a model around given parameter values (laid out by the spec's layout).
  public init(spec: ModelSpec, loss: Loss?, parameters values: [Float]) {
    network = Network(spec: spec)
    self.loss = loss ?? .defaultLoss(outputs: spec.outputWidth)
    precondition(
      values.count == network.layout.totalCount, "expected \(network.layout.totalCount) parameters, got \(values.count)"
    )
    parameters = AlignedBuffer(copying: values)
  }

  /// The architecture.
  public var spec: ModelSpec { network.spec }
}

/// The loss and accuracy of a model on a data set.
public struct Evaluation: Sendable, Hashable {
  /// The mean loss per sample.
  public var loss: Double
  /// The share of samples predicted correctly, or `nil` for regression.
  public var accuracy: Double?
  /// The number of samples.
  public var count: Int

  /// An evaluation of `count` samples.
  public init(loss: Double, accuracy: Double?, count: Int) {
    self.loss = loss
    self.accuracy = accuracy
    self.count = count
  }
}
