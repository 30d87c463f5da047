/// How the learning rate changes over a run, as a factor of the base rate.
///
/// An optional linear warm-up comes first: during the first `warmupSteps`
/// optimizer steps the rate climbs linearly from `base / warmupSteps` to
/// `base`; the shape below then runs over the remaining steps.
public struct LearningRateSchedule: Sendable, Hashable, CustomStringConvertible {
  /// The shape after warm-up.
  public enum Shape: Sendable, Hashable {
    /// The base rate throughout.
    case constant
    /// The rate times `gamma` every `everyEpochs` epochs (PyTorch's `StepLR`
    /// stepped once per epoch).
    case step(everyEpochs: Int, gamma: Double)
    /// Cosine annealing from the base rate to `minimum` over the remaining
    /// steps, updated every step (PyTorch's `CosineAnnealingLR` with
    /// `T_max` = those steps).
    case cosine(minimum: Double)
  }

  /// The shape after warm-up.
  public var shape: Shape
  /// The number of warm-up steps; 0 for none.
  public var warmupSteps: Int

  /// Creates a schedule.
  public init(shape: Shape = .constant, warmupSteps: Int = 0) {
    self.shape = shape
    self.warmupSteps = warmupSteps
  }

  /// Parses `constant`, `step:EPOCHS:GAMMA` (as `step:5:0.5`) or
  /// `cosine[:MINIMUM]`; `nil` if malformed.
  public init?(parsing text: String, warmupSteps: Int = 0) {
    let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    switch parts[0] {
    case "constant" where parts.count == 1:
      shape = .constant
    case "step" where parts.count == 3:
      guard let every = Int(parts[1]), every > 0, let gamma = Double(parts[2]), gamma > 0, gamma.isFinite
      else { return nil }
      shape = .step(everyEpochs: every, gamma: gamma)
    case "cosine" where parts.count <= 2:
      let minimum = parts.count == 2 ? Double(parts[1]) : 0
      guard let minimum, minimum >= 0, minimum.isFinite else { return nil }
      shape = .cosine(minimum: minimum)
    default:
      return nil
    }
    guard warmupSteps >= 0 else { return nil }
    self.warmupSteps = warmupSteps
  }

  /// The textual form that ``init(parsing:warmupSteps:)`` reads.
  public var description: String {
    switch shape {
    case .constant: "constant"
    case .step(let every, let gamma): "step:\(every):\(gamma)"
    case .cosine(let minimum): minimum == 0 ? "cosine" : "cosine:\(minimum)"
    }
  }

  /// The learning rate for an optimizer step.
  ///
  /// - Parameters:
  ///   - base: the optimizer's base learning rate.
  ///   - step: the 0-based index of the step in the whole run.
  ///   - epoch: the 0-based epoch the step belongs to.
  ///   - totalSteps: the number of steps the run will take.
  public func learningRate(base: Double, step: Int, epoch: Int, totalSteps: Int) -> Double {
    if step < warmupSteps {
      return base * Double(step + 1) / Double(warmupSteps)
    }
    switch shape {
    case .constant:
      return base
    case .step(let every, let gamma):
      return base * _cPow(gamma, Double(epoch / every))
    case .cosine(let minimum):
      let span = max(totalSteps - warmupSteps, 1)
      let progress = min(Double(step - warmupSteps) / Double(span), 1)
      return minimum + (base - minimum) * (1 + _cCos(Double.pi * progress)) / 2
    }
  }
}

/// Gradient clipping by global norm, as `torch.nn.utils.clip_grad_norm_`.
public enum GradientClipping {
  /// The factor to multiply the gradient by so its L2 norm is at most
  /// `maximumNorm`: `maximumNorm / (norm + 1e-6)`, capped at 1.
  public static func scale(norm: Double, maximumNorm: Double) -> Double {
    min(maximumNorm / (norm + 1e-6), 1)
  }
}
