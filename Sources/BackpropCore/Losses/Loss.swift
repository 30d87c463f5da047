/// A loss computed from the network's raw outputs (logits), in a numerically
/// stable form, with its gradient.
///
/// Losses are summed over the rows they see; the trainer scales by 1/B once,
/// in the weight-gradient products over the whole batch, so the mean does not
/// depend on how the batch was split.
public enum Loss: String, Sendable, Hashable, CaseIterable {
  /// Softmax then cross-entropy against an integer class label per row
  /// (PyTorch's `CrossEntropyLoss`). The gradient is `softmax − onehot`.
  case softmaxCrossEntropy = "cross-entropy"
  /// Sigmoid then binary cross-entropy against 0/1 targets, fused
  /// (PyTorch's `BCEWithLogitsLoss`). The gradient is `sigmoid(z) − y`.
  case binaryCrossEntropy = "binary-cross-entropy"
  /// Mean squared error over all outputs (PyTorch's `MSELoss`): against one
  /// target per output, or against a class label, which is one-hot encoded.
  case meanSquaredError = "mse"

  /// Parses a command-line name; aliases such as `bce` and `ce` are accepted.
  public init?(name: String) {
    switch name.lowercased() {
    case "cross-entropy", "crossentropy", "ce", "softmax-cross-entropy": self = .softmaxCrossEntropy
    case "binary-cross-entropy", "bce", "binary-crossentropy": self = .binaryCrossEntropy
    case "mse", "mean-squared-error": self = .meanSquaredError
    default: return nil
    }
  }

  /// The loss a network with `outputs` outputs gets when none is named:
  /// softmax cross-entropy for several outputs, binary cross-entropy for one.
  public static func defaultLoss(outputs: Int) -> Loss {
    outputs == 1 ? .binaryCrossEntropy : .softmaxCrossEntropy
  }

  /// The number of distinct whole-number values each target may take
  /// (`0 ..< count`), or `nil` when targets are free real numbers (regression).
  public func labelBound(outputs: Int, targetWidth: Int) -> Int? {
    switch self {
    case .softmaxCrossEntropy: outputs
    case .binaryCrossEntropy: 2
    case .meanSquaredError: targetWidth == 1 && outputs > 1 ? outputs : nil
    }
  }

  /// Whether targets `targetWidth` wide suit a network with `outputs` outputs.
  public func accepts(outputs: Int, targetWidth: Int) -> Bool {
    switch self {
    case .softmaxCrossEntropy: targetWidth == 1 && outputs >= 2
    case .binaryCrossEntropy: targetWidth == outputs
    case .meanSquaredError: targetWidth == outputs || targetWidth == 1
    }
  }

  /// Computes the loss of `rows` rows and, when `gradient` is given, its
  /// gradient with respect to the logits (summed, not averaged, over rows).
  ///
  /// - Parameters:
  ///   - logits: `rows × outputs` network outputs.
  ///   - targets: `rows × targetWidth` targets (class labels as whole numbers).
  ///   - gradient: `rows × outputs`, overwritten; may be `nil` for evaluation.
  /// - Returns: the summed loss and the number of rows predicted correctly
  ///   (0 when accuracy has no meaning, as for regression).
  /// - Complexity: O(`rows` · `outputs`).
  @_specialize(exported:true,where T == Float)
  public func evaluate<T: TrainingScalar>(
    logits: UnsafePointer<T>, targets: UnsafePointer<Float>, rows: Int, outputs: Int,
    targetWidth: Int, gradient: UnsafeMutablePointer<T>?
  ) -> (loss: Double, correct: Int) {
    var total = 0.0
    var correct = 0
    switch self {
    case .softmaxCrossEntropy:
      for row in 0..<rows {
        let z = logits + row * outputs
        let label = Int(targets[row])
        precondition(label >= 0 && label < outputs, "label \(targets[row]) of row \(row) is not in 0..<\(outputs)")
        var best = 0
        var maximum = z[0]
        for j in 1..<outputs where z[j] > maximum {
          maximum = z[j]
          best = j
        }
        if best == label { correct += 1 }
        // log Σ exp(z) computed around the maximum so exp never overflows.
        var sum: T = 0
        for j in 0..<outputs { sum += T.exp(z[j] - maximum) }
        let logSum = T.log(sum) + maximum
        total += Double(logSum - z[label])
        if let gradient {
          let g = gradient + row * outputs
          let inverse = 1 / sum
          for j in 0..<outputs { g[j] = T.exp(z[j] - maximum) * inverse }
          g[label] -= 1
        }
      }
    case .binaryCrossEntropy:
      // One output per label; a row counts as correct when every label is.
      for row in 0..<rows {
        var allRight = true
        for j in 0..<outputs {
          let z = logits[row * outputs + j]
          let y = T(targets[row * targetWidth + j])
          // max(z, 0) − z·y + log(1 + exp(−|z|)): never overflows.
          total += Double(max(z, 0) - z * y + T.log1p(T.exp(-abs(z))))
          if (z > 0) != (y > 0.5) { allRight = false }
          gradient?[row * outputs + j] = Activation.sigmoid(z) - y
        }
        if allRight { correct += 1 }
      }
    case .meanSquaredError:
      let oneHot = targetWidth == 1 && outputs > 1
      let scale = T(1) / T(outputs)
      for row in 0..<rows {
        let z = logits + row * outputs
        var sum: T = 0
        for j in 0..<outputs {
          let y: T = oneHot ? (Int(targets[row]) == j ? 1 : 0) : T(targets[row * targetWidth + j])
          let difference = z[j] - y
          sum += difference * difference
          gradient?[row * outputs + j] = 2 * difference * scale
        }
        total += Double(sum * scale)
        if oneHot {
          var best = 0
          for j in 1..<outputs where z[j] > z[best] { best = j }
          if best == Int(targets[row]) { correct += 1 }
        }
      }
    }
    return (total, correct)
  }

  /// Whether ``evaluate(logits:targets:rows:outputs:targetWidth:gradient:)``
  /// counts correct predictions for this configuration.
  public func reportsAccuracy(outputs: Int, targetWidth: Int) -> Bool {
    switch self {
    case .softmaxCrossEntropy, .binaryCrossEntropy: true
    case .meanSquaredError: targetWidth == 1 && outputs > 1
    }
  }
}
