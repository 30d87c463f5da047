/// Batch normalisation, as PyTorch's `nn.BatchNorm2d` after a convolution
/// (statistics per channel over the batch and the image) and `nn.BatchNorm1d`
/// after a dense layer (per feature over the batch): momentum 0.1, eps 1e-5,
/// an affine weight (starting at 1) and bias (at 0). Written `bn` in a model
/// spec, `{"bn": {}}` in JSON.
///
/// Training normalises with the statistics of the whole mini-batch, across
/// every worker: each row's mean and sum of squared deviations per channel
/// are kept in the scratch space, and every worker combines all rows' in row
/// order (the law of total variance), so results do not depend on how the
/// batch is cut. The running mean and the unbiased running variance follow
/// PyTorch's update; `evaluate` and `predict` normalise with them.
public struct BatchNorm: Layer, Hashable {
  /// The channels (or features) normalised one by one.
  public let features: Int

  /// The share of a batch's statistics in the running ones (PyTorch's default).
  public static let momentum = 0.1
  /// Added to the variance before its square root (PyTorch's default).
  public static let epsilon = 1e-5

  /// Batch normalisation of `features` channels (or features).
  public init(features: Int) {
    self.features = features
  }

  /// The channels of `shape` and the values per channel of one sample: an
  /// image's channels and its area, or a flat vector's features and 1.
  static func channels(of shape: Shape) -> (count: Int, plane: Int) {
    shape.isFlat ? (shape.width, 1) : (shape.channels, shape.height * shape.width)
  }

  public static let jsonKey = "bn"

  public static func parse(token: String, input: Shape) throws(ModelSpecError) -> BatchNorm? {
    token.lowercased() == jsonKey ? BatchNorm(features: channels(of: input).count) : nil
  }

  public static func parse(json: JSONValue, input: Shape) throws(ModelSpecError) -> BatchNorm {
    guard json == .object([]) || json == .bool(true) else {
      throw .invalid("batch normalisation has no settings (momentum 0.1, eps 1e-5): write {\"bn\": {}}")
    }
    return BatchNorm(features: channels(of: input).count)
  }

  public var description: String { Self.jsonKey }
  public var jsonValue: JSONValue { .object([]) }

  public func outputShape(input: Shape) throws(ModelSpecError) -> Shape {
    guard BatchNorm.channels(of: input).count == features else {
      throw .invalid("batch normalisation made for \(features) channels receives \(input)")
    }
    return input
  }

  public func parameterTensors(input: Shape) -> [ParameterTensor] {
    [
      ParameterTensor(name: "weight", shape: [features]), ParameterTensor(name: "bias", shape: [features]),
      ParameterTensor(name: "running_mean", shape: [features], kind: .statistic(nonNegative: false)),
      ParameterTensor(name: "running_var", shape: [features], kind: .statistic(nonNegative: true)),
      ParameterTensor(name: "num_batches_tracked", shape: [], kind: .count),
    ]
  }

  /// Where each tensor starts, counted from the weight's start.
  private var stride: Int { ParameterLayout.aligned(features) }

  public func initialize(
    _ parameters: UnsafeMutablePointer<Float>, input: Shape, initializer: Initializer, gain: Double,
    generator: inout SeededGenerator
  ) {
    parameters.update(repeating: 1, count: features)
    (parameters + stride).update(repeating: 0, count: features)
    (parameters + 2 * stride).update(repeating: 0, count: features)
    (parameters + 3 * stride).update(repeating: 1, count: features)
    parameters[4 * stride] = 0
  }

  /// Forward: a sum, a squared deviation and a multiply-add per value;
  /// backward: two products and sums for the statistics and three
  /// operations per value; the parameters' gradients from per-row sums.
  public func flops(input: Shape) -> LayerFLOPs {
    LayerFLOPs(forward: 5 * input.count, inputGradient: 7 * input.count, parameterGradient: 2 * features)
  }

  public var worksInPlace: Bool { false }
  public var backwardReadsOutput: Bool { false }
  /// The input gradient is worked out value by value from the output's,
  /// whose sums were taken before.
  public var gradientWorksInPlace: Bool { true }
  public var usesBatchStatistics: Bool { true }

  /// Per row and channel: the mean and the sum of squared deviations of its
  /// values, then the sums of the output gradient and of it times the
  /// normalised value.
  public func scratchCount(input: Shape) -> Int { 4 * features }

  /// The batch's mean and 1/√(variance + eps) per channel, then its two
  /// gradient sums.
  public func temporaryCount(input: Shape) -> Int { 4 * features }

  @_specialize(where T == Float)
  public func batchStatistics<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let (channels, plane) = BatchNorm.channels(of: buffers.inputShape)
    for row in 0..<rows.count {
      let statistics = buffers.scratch + row * 4 * channels
      for channel in 0..<channels {
        let values = buffers.input + (row * channels + channel) * plane
        var sum = T.zero
        for k in 0..<plane { sum += values[k] }
        let mean = sum / T(plane)
        var squares = T.zero
        for k in 0..<plane { squares += (values[k] - mean) * (values[k] - mean) }
        statistics[channel] = mean
        statistics[channels + channel] = squares
      }
    }
  }

  /// The batch's mean and 1/√(variance + eps) per channel into the working
  /// space, from every row's statistics added in row order; returns the
  /// number of values per channel. With `unbiased`, the unbiased variance
  /// goes to the working space's second half (for the running statistics).
  @inline(__always)
  private func combine<T: TrainingScalar>(_ buffers: LayerBuffers<T>, unbiased: Bool = false) -> Int {
    let (channels, plane) = BatchNorm.channels(of: buffers.inputShape)
    let rows = buffers.batchCount
    let count = rows * plane
    let (mean, scale) = (buffers.temporary, buffers.temporary + channels)
    for channel in 0..<channels {
      var sum = T.zero
      for row in 0..<rows { sum += buffers.batchScratch[row * 4 * channels + channel] }
      let average = sum / T(rows)
      // Total variance: within rows, plus between the rows' means.
      var within = T.zero
      var between = T.zero
      for row in 0..<rows {
        let statistics = buffers.batchScratch + row * 4 * channels
        within += statistics[channels + channel]
        between += (statistics[channel] - average) * (statistics[channel] - average)
      }
      let squares = within + T(plane) * between
      mean[channel] = average
      scale[channel] = 1 / (squares / T(count) + T(BatchNorm.epsilon)).squareRoot()
      if unbiased { buffers.temporary[2 * channels + channel] = squares / T(max(count - 1, 1)) }
    }
    return count
  }

  @_specialize(where T == Float)
  public func forward<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>, mode: Network.Mode) {
    let (channels, plane) = BatchNorm.channels(of: buffers.inputShape)
    let (weight, bias) = (buffers.parameters, buffers.parameters + stride)
    // Running statistics are the layer's own to update, in its part of the parameter vector.
    let running = UnsafeMutablePointer(mutating: buffers.parameters + 2 * stride)
    let (mean, scale) = (buffers.temporary, buffers.temporary + channels)
    switch mode {
    case .inference:
      for channel in 0..<channels {
        mean[channel] = running[channel]
        scale[channel] = 1 / (running[stride + channel] + T(BatchNorm.epsilon)).squareRoot()
      }
    case .training:
      _ = combine(buffers, unbiased: buffers.startsBatch)
      if buffers.startsBatch {
        let momentum = T(BatchNorm.momentum)
        for channel in 0..<channels {
          running[channel] = (1 - momentum) * running[channel] + momentum * mean[channel]
          running[stride + channel] =
            (1 - momentum) * running[stride + channel] + momentum * buffers.temporary[2 * channels + channel]
        }
        running[2 * stride] += 1
      }
    }
    // y = x·α + β with α = weight/σ and β = bias − mean·α, as PyTorch computes it.
    for channel in 0..<channels {
      let alpha = weight[channel] * scale[channel]
      let beta = bias[channel] - mean[channel] * alpha
      for row in 0..<rows.count {
        let offset = (row * channels + channel) * plane
        for k in 0..<plane { buffers.output[offset + k] = buffers.input[offset + k] * alpha + beta }
      }
    }
  }

  @_specialize(where T == Float)
  public func gradientStatistics<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let (channels, plane) = BatchNorm.channels(of: buffers.inputShape)
    _ = combine(buffers)
    let (mean, scale) = (buffers.temporary, buffers.temporary + channels)
    for row in 0..<rows.count {
      let statistics = buffers.scratch + row * 4 * channels
      for channel in 0..<channels {
        let offset = (row * channels + channel) * plane
        var (sum, product) = (T.zero, T.zero)
        for k in 0..<plane {
          let gradient = buffers.outputGradient[offset + k]
          sum += gradient
          product += gradient * (buffers.input[offset + k] - mean[channel])
        }
        statistics[2 * channels + channel] = sum
        statistics[3 * channels + channel] = product * scale[channel]
      }
    }
  }

  @_specialize(where T == Float)
  public func inputGradient<T: TrainingScalar>(_ buffers: LayerBuffers<T>, rows: Range<Int>) {
    let (channels, plane) = BatchNorm.channels(of: buffers.inputShape)
    let count = T(combine(buffers))
    let (mean, scale) = (buffers.temporary, buffers.temporary + channels)
    for channel in 0..<channels {
      var (sum, product) = (T.zero, T.zero)
      for row in 0..<buffers.batchCount {
        sum += buffers.batchScratch[row * 4 * channels + 2 * channels + channel]
        product += buffers.batchScratch[row * 4 * channels + 3 * channels + channel]
      }
      // dx = w·σ⁻¹·(dy − Σdy/N − x̂·Σ(dy·x̂)/N), x̂ = (x − mean)·σ⁻¹.
      let (invstd, center) = (scale[channel], mean[channel])
      let gain = buffers.parameters[channel] * invstd
      let (meanGradient, projection) = (sum / count, product / count)
      for row in 0..<rows.count {
        let offset = (row * channels + channel) * plane
        for k in 0..<plane {
          let normalized = (buffers.input[offset + k] - center) * invstd
          buffers.inputGradient[offset + k] =
            gain * (buffers.outputGradient[offset + k] - meanGradient - normalized * projection)
        }
      }
    }
  }

  @_specialize(where T == Float)
  public func parameterGradient<T: TrainingScalar>(
    _ buffers: LayerBuffers<T>, rows: Int, units: Range<Int>, scale: T, into gradient: UnsafeMutablePointer<T>
  ) {
    let channels = features
    // dweight = Σ dy·x̂, dbias = Σ dy, from the rows' sums in row order.
    for channel in units {
      var (sum, product) = (T.zero, T.zero)
      for row in 0..<rows {
        sum += buffers.scratch[row * 4 * channels + 2 * channels + channel]
        product += buffers.scratch[row * 4 * channels + 3 * channels + channel]
      }
      gradient[channel] = product * scale
      gradient[stride + channel] = sum * scale
    }
  }
}
