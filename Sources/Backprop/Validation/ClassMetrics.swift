/// Precision, recall and F1 of one class, as scikit-learn's
/// `classification_report` gives them (0 where a ratio has no denominator).
public struct ClassMetrics: Sendable, Hashable {
  /// The class label.
  public var label: Int
  /// Correct predictions of the class among all predictions of it.
  public var precision: Double
  /// Correct predictions of the class among its samples.
  public var recall: Double
  /// The harmonic mean of precision and recall.
  public var f1: Double
  /// The number of samples of the class.
  public var support: Int

  /// The metrics of every class `0..<classes` from predicted and true labels.
  public static func report(predicted: [Int], actual: [Int], classes: Int) -> [ClassMetrics] {
    precondition(predicted.count == actual.count, "one prediction per sample")
    var truePositives = [Int](repeating: 0, count: classes)
    var predictedCount = [Int](repeating: 0, count: classes)
    var support = [Int](repeating: 0, count: classes)
    for (p, a) in zip(predicted, actual) {
      predictedCount[p] += 1
      support[a] += 1
      if p == a { truePositives[p] += 1 }
    }
    return (0..<classes).map { c in
      let precision = predictedCount[c] > 0 ? Double(truePositives[c]) / Double(predictedCount[c]) : 0
      let recall = support[c] > 0 ? Double(truePositives[c]) / Double(support[c]) : 0
      let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
      return ClassMetrics(label: c, precision: precision, recall: recall, f1: f1, support: support[c])
    }
  }
}
