import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Hand-written backward passes against central finite differences, in double precision.
@Suite struct GradientCheckTests {
  static let activations: [Activation] = [
    .sigmoid, .tanh, .relu, .leakyReLU(slope: 0.01), .leakyReLU(slope: 0.3), .gelu, .identity,
  ]

  @Test(arguments: activations)
  func activationDerivative(_ activation: Activation) {
    var data = TestData(seed: 11)
    // Keep points away from the kink of ReLU-like functions.
    let x = data.uniform(40, -3, 3).map { abs($0) < 1e-3 ? 0.5 : $0 }
    let upstream = data.uniform(40)
    func f(_ x: [Double]) -> Double {
      var y = [Double](repeating: 0, count: x.count)
      activation.forward(x, &y, count: x.count)
      return zip(y, upstream).reduce(0) { $0 + $1.0 * $1.1 }
    }
    var y = [Double](repeating: 0, count: x.count)
    activation.forward(x, &y, count: x.count)
    var gradient = upstream
    activation.backward(input: x, output: y, gradient: &gradient, count: x.count)
    let numeric = FiniteDifferences.gradient(of: f, at: x)
    #expect(FiniteDifferences.worstMismatch(gradient, numeric) < 1e-5)
  }

  /// Random architectures (widths 1–9, any activation, some dropout), drawn
  /// from a fixed seed so a failure can be reproduced.
  static let randomSpecs: [String] = {
    var generator = SeededGenerator(seed: 2024)
    let activations = ["sigmoid", "tanh", "relu", "leakyrelu0.2", "gelu", "identity"]
    return (0..<6).map { _ in
      var parts = [String(1 + generator.nextIndex(below: 9))]
      for _ in 0..<(1 + generator.nextIndex(below: 3)) {
        if generator.nextIndex(below: 4) == 0 { parts.append("dropout0.25") }
        parts.append(String(1 + generator.nextIndex(below: 9)))
        parts.append(activations[generator.nextIndex(below: activations.count)])
      }
      return parts.joined(separator: "-")
    }
  }()

  static let specs = [
    "5-7-tanh-4", "3-6-gelu-5-sigmoid-2", "4-3-leakyrelu0.1-3-relu-2", "6-dropout0.3-5-relu-3",
    "4-8-relu-dropout0.5-6-tanh-3", "2-2-sigmoid-1", "7-identity-4", "3-5",
    // Images: stride, padding, odd sizes, pooling of each kind, in-place layers between.
    "2x6x5-conv3k3p1-relu-maxpool2-conv4k2-tanh-flatten-3", "1x7x7-conv2k3s2-avgpool2s1-flatten-2",
    "3x5x5-conv4k1-gelu-gap-flatten-2", "2x6x6-conv3k3-dropout0.3-maxpool2-flatten-4-relu-2",
    // Batch normalisation, 2-D and 1-D, with statistics over the batch.
    "2x5x5-conv3k3p1-bn-relu-maxpool2-flatten-6-bn-tanh-3", "4-6-bn-relu-3", "1x4x4-bn-conv2k3-flatten-2",
  ]

  @Test(arguments: specs + randomSpecs)
  func networkGradients(_ text: String) throws {
    let spec = try ModelSpec(parsing: text)
    let network = Network(spec: spec)
    let rows = 5
    var data = TestData(seed: UInt64(text.utf8.count))
    var parameters = [Double](repeating: 0, count: network.layout.totalCount)
    for entry in network.layout.entries {
      for i in 0..<entry.count { parameters[entry.offset + i] = data.uniform(1)[0] }
    }
    let input = data.uniform(rows * spec.inputWidth, -2, 2)
    let upstream = data.uniform(rows * spec.outputWidth)
    let workspace = Workspace<Double>(spec: spec, capacity: rows)
    let mode = Network.Mode.training(seed: 7, step: 3)

    func f(parameters: [Double], input: [Double]) -> Double {
      workspace.input.base.update(from: input, count: input.count)
      let output = network.forward(parameters: parameters, workspace: workspace, rows: rows, mode: mode)
      return (0..<upstream.count).reduce(0) { $0 + output[$1] * upstream[$1] }
    }
    _ = f(parameters: parameters, input: input)
    workspace.outputGradient.update(from: upstream, count: upstream.count)
    var gradient = [Double](repeating: 0, count: parameters.count)
    var inputGradient = [Double](repeating: 0, count: input.count)
    network.backward(
      parameters: parameters, gradient: &gradient, workspace: workspace, rows: rows, inputGradient: &inputGradient)

    let realIndices = network.layout.entries.flatMap { $0.offset..<($0.offset + $0.count) }
    let numeric = FiniteDifferences.gradient(
      of: { f(parameters: $0, input: input) }, at: parameters, indices: realIndices)
    #expect(FiniteDifferences.worstMismatch(gradient, numeric) < 1e-5)
    let numericInput = FiniteDifferences.gradient(of: { f(parameters: parameters, input: $0) }, at: input)
    #expect(FiniteDifferences.worstMismatch(inputGradient, numericInput) < 1e-5)
  }

  @Test(arguments: [Loss.softmaxCrossEntropy, .binaryCrossEntropy, .meanSquaredError], [1, 3])
  func lossGradient(_ loss: Loss, targetColumns: Int) {
    let rows = 6
    let outputs = loss == .binaryCrossEntropy ? targetColumns : 4
    let targetWidth = loss == .softmaxCrossEntropy ? 1 : targetColumns == 1 ? 1 : outputs
    guard loss.accepts(outputs: outputs, targetWidth: targetWidth) else { return }
    var data = TestData(seed: 5)
    // Large logits as well as small ones: the stable forms must not overflow.
    let logits = data.uniform(rows * outputs, -30, 30)
    let targets: [Float] =
      loss == .meanSquaredError && targetWidth > 1
      ? data.uniform(rows * targetWidth).map(Float.init)
      : data.labels(rows * targetWidth, classes: loss.labelBound(outputs: outputs, targetWidth: targetWidth)!)
    func f(_ z: [Double]) -> Double {
      loss.evaluate(
        logits: z, targets: targets, rows: rows, outputs: outputs, targetWidth: targetWidth, gradient: nil
      ).loss
    }
    var gradient = [Double](repeating: 0, count: logits.count)
    let value = loss.evaluate(
      logits: logits, targets: targets, rows: rows, outputs: outputs, targetWidth: targetWidth, gradient: &gradient)
    #expect(value.loss.isFinite)
    let numeric = FiniteDifferences.gradient(of: f, at: logits)
    #expect(FiniteDifferences.worstMismatch(gradient, numeric) < 1e-5)
  }

  @Test func softmaxCrossEntropyIsStableForHugeLogits() {
    let logits: [Float] = [1000, -1000, 0, 88, 89, 90]
    var gradient = [Float](repeating: 0, count: 6)
    let result = Loss.softmaxCrossEntropy.evaluate(
      logits: logits, targets: [0, 1], rows: 2, outputs: 3, targetWidth: 1, gradient: &gradient)
    #expect(result.loss.isFinite)
    #expect(gradient.allSatisfy { $0.isFinite })
    // Row 0 is certain and right: loss 0; row 1 is log(1 + e + e²) wrong by a margin.
    let expected = 89.0 + log(exp(-89.0 + 88) + exp(0.0) + exp(1.0)) - 89.0
    #expect(abs(result.loss - expected) < 1e-3)
  }
}

/// Matrix products, on both sides of the size below which plain loops
/// replace the BLAS call: every transpose and both kinds of beta.
@Suite struct GEMMTests {
  @Test(arguments: [(3, 5, 4), (16, 40, 20)], [false, true])
  func productMatchesItsDefinition(shape: (Int, Int, Int), transposeA: Bool) {
    let (m, n, k) = shape
    var data = TestData(seed: UInt64(m * 100 + n))
    for transposeB in [false, true] {
      for beta in [Float(0), 0.5] {
        let a = data.uniform(m * k).map(Float.init)
        let b = data.uniform(k * n).map(Float.init)
        // beta = 0 must not read C: fill it with NaN to prove it.
        var c = [Float](repeating: beta == 0 ? .nan : 1, count: m * n)
        let (lda, ldb) = (transposeA ? m : k, transposeB ? k : n)
        Float.gemm(
          transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: 2, a: a, lda: lda, b: b,
          ldb: ldb, beta: beta, c: &c, ldc: n)
        for i in 0..<m {
          for j in 0..<n {
            var sum = 0.0
            for p in 0..<k {
              let x = Double(transposeA ? a[p * lda + i] : a[i * lda + p])
              let y = Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
              sum += x * y
            }
            let expected = 2 * sum + (beta == 0 ? 0 : Double(beta))
            #expect(abs(Double(c[i * n + j]) - expected) < 1e-4, "\(m)×\(n)×\(k) at (\(i), \(j))")
          }
        }
      }
    }
  }
}
