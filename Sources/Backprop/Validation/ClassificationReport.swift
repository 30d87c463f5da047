/// How a classifier did on a data set, class by class: precision, recall,
/// F1 and support per class (as scikit-learn's `classification_report`),
/// their macro and support-weighted averages, and the confusion matrix
/// (as `confusion_matrix`: a row per true class, a column per predicted one).
public struct ClassificationReport: Sendable, Hashable {
  /// The classes' names where the weights hold them (label `i` is `names[i]`).
  public var names: [String]?
  /// Each class's metrics, by label.
  public var classes: [ClassMetrics]
  /// `confusion[actual][predicted]`: how many samples of class `actual`
  /// were predicted as `predicted`.
  public var confusion: [[Int]]

  /// The report of `classes` classes from each sample's predicted and true label.
  ///
  /// - Precondition: every label is in `0..<classes`.
  public init(predicted: [Int], actual: [Int], classes count: Int, names: [String]? = nil) {
    precondition(predicted.count == actual.count, "one prediction per sample")
    var confusion = [[Int]](repeating: [Int](repeating: 0, count: count), count: count)
    for (p, a) in zip(predicted, actual) { confusion[a][p] += 1 }
    self.confusion = confusion
    self.classes = ClassMetrics.report(predicted: predicted, actual: actual, classes: count)
    self.names = names.flatMap { $0.count == count ? $0 : nil }
  }

  /// The name of class `label`, or its number.
  public func name(of label: Int) -> String { names?[label] ?? String(label) }

  /// The unweighted mean of the classes' precision, recall and F1.
  public var macroAverage: (precision: Double, recall: Double, f1: Double) { average { _ in 1 } }

  /// The mean of the classes' precision, recall and F1 weighted by support.
  public var weightedAverage: (precision: Double, recall: Double, f1: Double) { average { Double($0.support) } }

  private func average(_ weight: (ClassMetrics) -> Double) -> (precision: Double, recall: Double, f1: Double) {
    let total = classes.reduce(0) { $0 + weight($1) }
    guard total > 0 else { return (0, 0, 0) }
    func mean(_ value: (ClassMetrics) -> Double) -> Double { classes.reduce(0) { $0 + weight($1) * value($1) } / total }
    return (mean(\.precision), mean(\.recall), mean(\.f1))
  }

  /// One line per class: its label, name, metrics, and its row of the
  /// confusion matrix (`predicted_j`: its samples predicted as class j).
  public var csv: String {
    let count = classes.count
    var text =
      (["class", "name", "precision", "recall", "f1", "support"] + (0..<count).map { "predicted_\($0)" })
      .joined(separator: ",") + "\n"
    for metrics in classes {
      let name =
        "\""
        + name(of: metrics.label).split(separator: "\"", omittingEmptySubsequences: false)
        .joined(separator: "\"\"") + "\""
      text +=
        ([
          String(metrics.label), name, "\(metrics.precision)", "\(metrics.recall)", "\(metrics.f1)",
          String(metrics.support),
        ] + confusion[metrics.label].map(String.init)).joined(separator: ",") + "\n"
    }
    return text
  }

  /// The report's members of a JSON object: `classes`, `macro_avg`,
  /// `weighted_avg`, `confusion_matrix` (rows: true classes) and, where
  /// known, `class_names`.
  public var jsonMembers: [(String, JSONValue)] {
    func averages(_ value: (precision: Double, recall: Double, f1: Double)) -> JSONValue {
      .object([("precision", .number(value.precision)), ("recall", .number(value.recall)), ("f1", .number(value.f1))])
    }
    var members: [(String, JSONValue)] = [
      (
        "classes",
        .array(
          classes.map { metrics in
            .object([
              ("label", .integer(metrics.label)), ("name", .string(name(of: metrics.label))),
              ("precision", .number(metrics.precision)), ("recall", .number(metrics.recall)),
              ("f1", .number(metrics.f1)), ("support", .integer(metrics.support)),
            ])
          })
      ),
      ("macro_avg", averages(macroAverage)), ("weighted_avg", averages(weightedAverage)),
      ("confusion_matrix", .array(confusion.map { .array($0.map { .integer($0) }) })),
    ]
    if let names { members.append(("class_names", .array(names.map { .string($0) }))) }
    return members
  }
}
