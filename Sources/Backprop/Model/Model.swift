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
}

/// Evaluates a model in inference mode with a workspace allocated once, so
/// per-epoch evaluation during training allocates nothing.
final class Evaluator {
  let model: Model
  let workspace: Workspace<Float>

  init(model: Model, capacity: Int, targetWidth: Int) {
    self.model = model
    workspace = Workspace(spec: model.spec, capacity: capacity, targetWidth: targetWidth)
  }

  func evaluate(_ data: Dataset) -> Evaluation {
    let spec = model.spec
    var total = 0.0
    var correct = 0
    var start = 0
    data.features.withUnsafeBufferPointer { features in
      data.targets.withUnsafeBufferPointer { targets in
        while start < data.count {
          let rows = min(workspace.capacity, data.count - start)
          workspace.input.base.update(
            from: features.baseAddress! + start * spec.inputWidth, count: rows * spec.inputWidth)
          let logits = model.network.forward(
            parameters: model.parameters.base, workspace: workspace, rows: rows, mode: .inference)
          let result = model.loss.evaluate(
            logits: logits, targets: targets.baseAddress! + start * data.targetWidth, rows: rows,
            outputs: spec.outputWidth, targetWidth: data.targetWidth, gradient: nil)
          total += result.loss
          correct += result.correct
          start += rows
        }
      }
    }
    let count = max(data.count, 1)
    let hasAccuracy = model.loss.reportsAccuracy(outputs: spec.outputWidth, targetWidth: data.targetWidth)
    return Evaluation(
      loss: total / Double(count), accuracy: hasAccuracy ? Double(correct) / Double(count) : nil, count: data.count)
  }
}
