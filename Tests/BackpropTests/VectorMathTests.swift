import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// The vector `exp`, `tanh` and logistic function against double precision.
@Suite struct VectorMathTests {
  /// Points across each function's range: a fine even grid, the region
  /// around tanh's switch at 0.5, and seeded random points.
  static func points(from low: Float, to high: Float) -> [Float] {
    var points = (0...20_000).map { low + (high - low) * Float($0) / 20_000 }
    points += (0...400).map { 0.49 + Float($0) * 0.00005 }.flatMap { [$0, -$0] }
    var random = SeededGenerator(seed: 77)
    points += (0..<20_000).map { _ in Float.random(in: low...high, using: &random) }
    return points
  }

  /// The largest error over `points`, in units in the last place of the
  /// correctly rounded result.
  static func worstULP(
    _ points: [Float], vector: (SIMD8<Float>) -> SIMD8<Float>, exact: (Double) -> Double
  ) -> (ulps: Double, at: Float) {
    var worst = (ulps: 0.0, at: Float(0))
    var output = [Float](repeating: 0, count: points.count)
    points.withUnsafeBufferPointer { input in
      output.withUnsafeMutableBufferPointer {
        VectorMath.map(input.baseAddress!, $0.baseAddress!, count: points.count, vector)
      }
    }
    for (x, y) in zip(points, output) {
      let reference = exact(Double(x))
      let ulp = Double(Float(reference).ulp)
      let error = abs(Double(y) - reference) / ulp
      if error > worst.ulps { worst = (error, x) }
    }
    return worst
  }

  @Test func expIsWithinOneULP() {
    let worst = Self.worstULP(Self.points(from: -87, to: 88), vector: VectorMath.exp, exact: Foundation.exp)
    #expect(worst.ulps <= 1, "\(worst)")
  }

  @Test func tanhIsWithinTwoULP() {
    let worst = Self.worstULP(Self.points(from: -12, to: 12), vector: VectorMath.tanh, exact: Foundation.tanh)
    #expect(worst.ulps <= 2, "\(worst)")
  }

  @Test func sigmoidIsWithinThreeULP() {
    let worst = Self.worstULP(
      Self.points(from: -80, to: 30), vector: VectorMath.sigmoid, exact: { 1 / (1 + Foundation.exp(-$0)) })
    #expect(worst.ulps <= 3, "\(worst)")
  }

  @Test func erfIsWithinTwoAndAHalfULP() {
    let worst = Self.worstULP(Self.points(from: -6, to: 6), vector: VectorMath.erf, exact: Foundation.erf)
    #expect(worst.ulps <= 2.5, "\(worst)")
  }

  /// GELU and its derivative against double precision: `1 + erf` cancels
  /// for negative x (in single precision, whoever computes it), so the
  /// bound is a few ulp of the result plus a few ulp of 1 times |x|.
  @Test func geluAndItsDerivativeMatchDoublePrecision() {
    let points = Self.points(from: -10, to: 10)
    func geluExact(_ x: Double) -> Double { x * (1 + Foundation.erf(x / 2.0.squareRoot())) / 2 }
    func derivativeExact(_ x: Double) -> Double {
      (1 + Foundation.erf(x / 2.0.squareRoot())) / 2 + x * Foundation.exp(-x * x / 2) / (2 * Double.pi).squareRoot()
    }
    for (function, exact) in [(VectorMath.gelu, geluExact), (VectorMath.geluDerivative, derivativeExact)] {
      var output = [Float](repeating: 0, count: points.count)
      points.withUnsafeBufferPointer { input in
        output.withUnsafeMutableBufferPointer {
          VectorMath.map(input.baseAddress!, $0.baseAddress!, count: points.count, function)
        }
      }
      var worst = (excess: -Double.infinity, at: Float(0))
      for (x, y) in zip(points, output) {
        let reference = exact(Double(x))
        let bound = 4 * Double(Float(reference).ulp) + 4 * Double(Float(1).ulp) * Double(abs(x))
        let excess = abs(Double(y) - reference) - bound
        if excess > worst.excess { worst = (excess, x) }
      }
      #expect(worst.excess <= 0, "\(worst)")
    }
  }

  @Test func infinitiesSaturateAndNaNStaysNaN() {
    let x = SIMD8<Float>(.infinity, -.infinity, .nan, 0, 100, -100, 1e-30, -1e-30)
    let tanh = VectorMath.tanh(x)
    #expect(tanh[0] == 1 && tanh[1] == -1 && tanh[2].isNaN && tanh[3] == 0)
    #expect(tanh[4] == 1 && tanh[5] == -1 && tanh[6] == 1e-30 && tanh[7] == -1e-30)
    let sigmoid = VectorMath.sigmoid(x)
    #expect(sigmoid[0] == 1 && sigmoid[1] < 1e-37 && sigmoid[1] >= 0 && sigmoid[2].isNaN && sigmoid[3] == 0.5)
    let exp = VectorMath.exp(x)
    #expect(exp[0].isFinite && exp[0] > 1e38 && exp[1] > 0 && exp[1] < 1e-37 && exp[2].isNaN && exp[3] == 1)
    let erf = VectorMath.erf(x)
    #expect(erf[0] == 1 && erf[1] == -1 && erf[2].isNaN && erf[3] == 0 && erf[4] == 1 && erf[5] == -1)
    let gelu = VectorMath.gelu(x)
    #expect(gelu[0] == .infinity && gelu[2].isNaN && gelu[3] == 0 && gelu[4] == 100 && gelu[5] == 0)
  }

  @Test(arguments: [1, 7, 8, 13, 37])
  func resultsDoNotDependOnPositionOrLength(count: Int) {
    var random = SeededGenerator(seed: UInt64(count))
    let input = (0..<count).map { _ in Float.random(in: -6...6, using: &random) }
    for function in [VectorMath.tanh, VectorMath.sigmoid, VectorMath.gelu, VectorMath.geluDerivative] {
      var together = [Float](repeating: 0, count: count)
      input.withUnsafeBufferPointer { x in
        together.withUnsafeMutableBufferPointer {
          VectorMath.map(x.baseAddress!, $0.baseAddress!, count: count, function)
        }
      }
      let alone = input.map { function(SIMD8(repeating: $0))[0] }
      #expect(together.map(\.bitPattern) == alone.map(\.bitPattern))
    }
  }
}
