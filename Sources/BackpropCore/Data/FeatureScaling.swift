/// How features are rescaled before training; the statistics always come from
/// the training split only, and the same transform is applied to validation
/// and test data.
public enum FeatureScaling: String, Sendable, Hashable, CaseIterable {
  /// Features are used as they are.
  case none
  /// Each feature mapped to [0, 1] by the training split's minimum and maximum.
  case unit
  /// Each feature standardised to mean 0 and standard deviation 1.
  case standard
}

/// A fitted per-feature affine transform `x' = (x − shift) · factor`.
public struct FeatureScaler: Sendable, Hashable {
  /// Subtracted from each feature.
  public var shift: [Float]
  /// Multiplied into each feature after the shift.
  public var factor: [Float]

  /// Fits `scaling` on `data`'s features. A constant feature gets factor 1.
  public init(fitting scaling: FeatureScaling, to data: Dataset) {
    let width = data.featureWidth
    let rows = data.count
    shift = [Float](repeating: 0, count: width)
    factor = [Float](repeating: 1, count: width)
    guard rows > 0 else { return }
    switch scaling {
    case .none:
      return
    case .unit:
      var low = [Float](repeating: .infinity, count: width)
      var high = [Float](repeating: -.infinity, count: width)
      for row in 0..<rows {
        for j in 0..<width {
          let x = data.features[row * width + j]
          low[j] = min(low[j], x)
          high[j] = max(high[j], x)
        }
      }
      for j in 0..<width {
        shift[j] = low[j]
        factor[j] = high[j] > low[j] ? 1 / (high[j] - low[j]) : 1
      }
    case .standard:
      var sum = [Double](repeating: 0, count: width)
      var squares = [Double](repeating: 0, count: width)
      for row in 0..<rows {
        for j in 0..<width {
          let x = Double(data.features[row * width + j])
          sum[j] += x
          squares[j] += x * x
        }
      }
      for j in 0..<width {
        let mean = sum[j] / Double(rows)
        let variance = max(squares[j] / Double(rows) - mean * mean, 0)
        shift[j] = Float(mean)
        factor[j] = variance > 1e-12 ? Float(1 / variance.squareRoot()) : 1
      }
    }
  }

  /// Applies the transform to every sample of `data`.
  public func apply(to data: inout Dataset) {
    let width = data.featureWidth
    precondition(width == shift.count, "scaler fitted on \(shift.count) features, data has \(width)")
    data.features.withUnsafeMutableBufferPointer { features in
      for row in 0..<(features.count / width) {
        for j in 0..<width {
          features[row * width + j] = (features[row * width + j] - shift[j]) * factor[j]
        }
      }
    }
  }
}

extension FeatureScaler {
  /// The scaler as JSON: `{"shift": [...], "factor": [...]}`.
  public var json: JSONValue {
    .object([
      ("shift", .array(shift.map { .number(Double($0)) })), ("factor", .array(factor.map { .number(Double($0)) })),
    ])
  }

  /// Reads the JSON form; `nil` if it is not one.
  public init?(json: JSONValue) {
    guard case .array(let shift) = json["shift"], case .array(let factor) = json["factor"],
      shift.count == factor.count
    else { return nil }
    let shiftValues = shift.compactMap { $0.doubleValue.map(Float.init) }
    let factorValues = factor.compactMap { $0.doubleValue.map(Float.init) }
    guard shiftValues.count == shift.count, factorValues.count == factor.count,
      (shiftValues + factorValues).allSatisfy({ $0.isFinite })
    else { return nil }
    self.shift = shiftValues
    self.factor = factorValues
  }
}
