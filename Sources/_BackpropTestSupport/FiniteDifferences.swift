import Backprop

/// Central finite differences in double precision, to check hand-written
/// gradients.
public enum FiniteDifferences {
  /// The gradient of `f` at `point` by central differences with step `step`.
  ///
  /// - Complexity: 2·`point.count` evaluations of `f`.
  public static func gradient(
    of f: ([Double]) -> Double, at point: [Double], step: Double = 1e-5, indices: [Int]? = nil
  ) -> [Double] {
    var x = point
    var result = [Double](repeating: 0, count: point.count)
    for i in indices ?? Array(point.indices) {
      let original = x[i]
      x[i] = original + step
      let up = f(x)
      x[i] = original - step
      let down = f(x)
      x[i] = original
      result[i] = (up - down) / (2 * step)
    }
    return result
  }

  /// The largest mismatch between `analytic` and `numeric`, each measured as
  /// `|a − n| / (absolute + |n|)`, so tiny values are compared absolutely.
  public static func worstMismatch(_ analytic: [Double], _ numeric: [Double], absolute: Double = 1e-3) -> Double {
    precondition(analytic.count == numeric.count, "\(analytic.count) vs \(numeric.count) values")
    return zip(analytic, numeric).map { abs($0 - $1) / (absolute + abs($1)) }.max() ?? 0
  }
}

/// Seeded test data: random matrices and labels that are the same on every run.
public struct TestData {
  private var generator: SeededGenerator

  /// A source of test data fixed by `seed`.
  public init(seed: UInt64) { generator = SeededGenerator(seed: seed) }

  /// `count` uniform values in [`low`, `high`).
  public mutating func uniform(_ count: Int, _ low: Double = -1, _ high: Double = 1) -> [Double] {
    (0..<count).map { _ in generator.uniform(low, high) }
  }

  /// `count` uniform class labels in `0..<classes`, as floats.
  public mutating func labels(_ count: Int, classes: Int) -> [Float] {
    (0..<count).map { _ in Float(generator.nextIndex(below: classes)) }
  }

  /// A classification data set of `rows` samples with `features` features.
  public mutating func classification(rows: Int, features: Int, classes: Int) -> Dataset {
    Dataset(
      features: uniform(rows * features).map(Float.init), featureWidth: features,
      targets: labels(rows, classes: classes), targetWidth: 1, source: "test data")
  }
}

/// Whether two float arrays agree elementwise within a relative tolerance
/// (with `floor` as the smallest magnitude a value is measured against).
public func worstRelativeError(_ actual: [Float], _ expected: [Float], floor: Float = 1e-3) -> Float {
  precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) values")
  return zip(actual, expected).map { abs($0 - $1) / max(abs($1), floor) }.max() ?? 0
}

/// The largest elementwise difference relative to the largest magnitude of
/// `expected`: ‖actual − expected‖∞ / ‖expected‖∞, the usual tensor tolerance.
public func normRelativeError(_ actual: [Float], _ expected: [Float]) -> Float {
  precondition(actual.count == expected.count, "\(actual.count) vs \(expected.count) values")
  let scale = expected.map(abs).max() ?? 0
  let difference = zip(actual, expected).map { abs($0 - $1) }.max() ?? 0
  return scale > 0 ? difference / scale : difference
}
