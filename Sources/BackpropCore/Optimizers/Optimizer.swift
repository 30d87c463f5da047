/// An optimizer's settings: which update rule and its hyperparameters.
///
/// Update formulas are PyTorch's (`torch.optim.SGD`, `Adam`, `AdamW`) exactly,
/// so the same gradients give the same weights.
public struct OptimizerSettings: Sendable, Hashable {
  /// The update rule.
  public enum Kind: String, Sendable, Hashable, CaseIterable {
    /// Stochastic gradient descent, with optional (Nesterov) momentum.
    case sgd
    /// Adam; weight decay is added to the gradient (L2 regularisation).
    case adam
    /// AdamW; weight decay shrinks the weights directly (decoupled).
    case adamw
  }

  /// The update rule.
  public var kind: Kind
  /// The base learning rate (a schedule scales it per step).
  public var learningRate: Double
  /// SGD's momentum factor; 0 for none.
  public var momentum: Double = 0
  /// SGD's Nesterov momentum (needs `momentum > 0`).
  public var nesterov: Bool = false
  /// Weight decay: L2 added to the gradient (SGD, Adam) or decoupled (AdamW).
  public var weightDecay: Double = 0
  /// Adam's decay rate of the first moment.
  public var beta1: Double = 0.9
  /// Adam's decay rate of the second moment.
  public var beta2: Double = 0.999
  /// Adam's term added to the denominator.
  public var epsilon: Double = 1e-8

  /// Settings with PyTorch's defaults for everything but `kind` and `learningRate`.
  public init(kind: Kind, learningRate: Double) {
    self.kind = kind
    self.learningRate = learningRate
    if kind == .adamw { weightDecay = 0.01 }
  }

  /// How many flat state vectors the rule keeps (momentum; or two moments).
  public var stateVectorCount: Int {
    switch kind {
    case .sgd: momentum == 0 ? 0 : 1
    case .adam, .adamw: 2
    }
  }
}

/// An optimizer with its state: flat vectors with the parameters' layout.
///
/// ``update(parameters:gradient:range:learningRate:step:)`` works on any
/// slice of the flat vector, so data-parallel workers can each update their
/// own slice of the parameters and state right after computing its gradient.
public final class Optimizer: @unchecked Sendable {
  // @unchecked Sendable: state vectors are only written by slice, and the
  // callers give each worker a disjoint slice.

  /// The rule and its hyperparameters.
  public let settings: OptimizerSettings
  /// The state vectors: SGD's momentum buffer, or Adam's first and second moments.
  public let state: [AlignedBuffer<Float>]

  /// Creates an optimizer with zeroed state for `parameterCount` parameters.
  /// Where the tensors that are not trained lie (sorted, disjoint): updates skip them.
  public let frozen: [Range<Int>]

  /// An optimizer for `parameterCount` parameters, of which those in
  /// `frozen` (running statistics, counts) are never updated.
  public init(settings: OptimizerSettings, parameterCount: Int, frozen: [Range<Int>] = []) {
    self.settings = settings
    self.frozen = frozen.sorted { $0.lowerBound < $1.lowerBound }
    state = (0..<settings.stateVectorCount).map { _ in AlignedBuffer(count: parameterCount) }
  }

  /// Applies one update to `parameters[range]` from the mean gradient.
  ///
  /// - Parameters:
  ///   - parameters: the whole flat parameter vector.
  ///   - gradient: the batch's mean gradient of the slice only: `range.count`
  ///     values, `gradient[0]` belonging to `parameters[range.lowerBound]`.
  ///   - learningRate: this step's learning rate (after the schedule).
  ///   - step: the 1-based number of this update (Adam's bias correction).
  /// - Complexity: O(`range.count`), one pass over parameters, gradient and state.
  public func update(
    parameters: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
    range: Range<Int>, learningRate: Double, step: Int
  ) {
    // The trained parts of `range`, between the frozen tensors (few: a
    // walk, not an allocation).
    var start = range.lowerBound
    for skipped in frozen where skipped.upperBound > start && skipped.lowerBound < range.upperBound {
      if skipped.lowerBound > start {
        updateRun(
          parameters: parameters, gradient: g + (start - range.lowerBound), range: start..<skipped.lowerBound,
          learningRate: learningRate, step: step)
      }
      start = skipped.upperBound
    }
    if start < range.upperBound {
      updateRun(
        parameters: parameters, gradient: g + (start - range.lowerBound), range: start..<range.upperBound,
        learningRate: learningRate, step: step)
    }
  }

  /// ``update(parameters:gradient:range:learningRate:step:)`` over a range with nothing frozen.
  private func updateRun(
    parameters: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
    range: Range<Int>, learningRate: Double, step: Int
  ) {
    let count = range.count
    let p = parameters + range.lowerBound
    let decay = Float(settings.weightDecay)
    switch settings.kind {
    case .sgd:
      let lr = Float(learningRate)
      if settings.momentum == 0 {
        for i in 0..<count { p[i] -= lr * (g[i] + decay * p[i]) }
      } else {
        // torch: buf = momentum·buf + g (buf starts as g, the same as from
        // zero); Nesterov steps along g + momentum·buf.
        let momentum = Float(settings.momentum)
        let buffer = state[0].base + range.lowerBound
        if settings.nesterov {
          for i in 0..<count {
            let d = g[i] + decay * p[i]
            let b = momentum * buffer[i] + d
            buffer[i] = b
            p[i] -= lr * (d + momentum * b)
          }
        } else {
          for i in 0..<count {
            let b = momentum * buffer[i] + (g[i] + decay * p[i])
            buffer[i] = b
            p[i] -= lr * b
          }
        }
      }
    case .adam, .adamw:
      let m = state[0].base + range.lowerBound
      let v = state[1].base + range.lowerBound
      let beta1 = Float(settings.beta1)
      let beta2 = Float(settings.beta2)
      let t = Double(step)
      // Bias corrections in double, as PyTorch computes them in Python.
      let stepSize = Float(learningRate / (1 - _cPow(settings.beta1, t)))
      let correction2 = Float((1 - _cPow(settings.beta2, t)).squareRoot())
      let epsilon = Float(settings.epsilon)
      let shrink = settings.kind == .adamw ? Float(1 - learningRate * settings.weightDecay) : 1
      let coupledDecay = settings.kind == .adamw ? 0 : decay
      for i in 0..<count {
        let parameter = p[i] * shrink
        let gradient = g[i] + coupledDecay * p[i]
        let mi = m[i] + (gradient - m[i]) * (1 - beta1)
        let vi = v[i] * beta2 + (1 - beta2) * gradient * gradient
        m[i] = mi
        v[i] = vi
        p[i] = parameter - stepSize * (mi / (vi.squareRoot() / correction2 + epsilon))
      }
    }
  }

  /// Sets all state back to zero (a fresh optimizer).
  public func reset() {
    for vector in state { vector.zero() }
  }
}
