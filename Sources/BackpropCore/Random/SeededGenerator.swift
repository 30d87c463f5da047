/// A seeded pseudo-random generator that gives the same numbers on every
/// platform: xoshiro256** seeded through SplitMix64.
///
/// Shuffling, initialisation and validation splits draw from it; nothing in
/// Backprop draws from the system's generator, so a seed fixes a run.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Hashable {
  private var state: (UInt64, UInt64, UInt64, UInt64)

  /// Creates a generator whose whole sequence is fixed by `seed`.
  ///
  /// - Parameter seed: any 64-bit value; different seeds give unrelated streams.
  public init(seed: UInt64) {
    var mixer = seed
    state = (
      SeededGenerator.splitMix(&mixer), SeededGenerator.splitMix(&mixer),
      SeededGenerator.splitMix(&mixer), SeededGenerator.splitMix(&mixer)
    )
  }

  /// Creates a generator for one purpose of a run, such as epoch 3's shuffle.
  ///
  /// - Parameters:
  ///   - seed: the run's seed.
  ///   - stream: what the numbers are for (a constant per purpose).
  ///   - index: which instance of that purpose (an epoch, a layer).
  public init(seed: UInt64, stream: UInt64, index: UInt64 = 0) {
    self.init(seed: CounterHash.mix(seed, stream, index))
  }

  public static func == (lhs: SeededGenerator, rhs: SeededGenerator) -> Bool {
    lhs.state == rhs.state
  }

  public func hash(into hasher: inout Hasher) {
    hasher.combine(state.0)
    hasher.combine(state.1)
    hasher.combine(state.2)
    hasher.combine(state.3)
  }

  /// The next 64 random bits.
  public mutating func next() -> UInt64 {
    let result = rotate(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = rotate(state.3, 45)
    return result
  }

  /// A uniform `Double` in [0, 1) with 53 random bits.
  public mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A uniform `Double` in [`low`, `high`).
  public mutating func uniform(_ low: Double, _ high: Double) -> Double {
    low + (high - low) * nextUnit()
  }

  /// A standard normal `Double` (Box–Muller; one draw per call, for simplicity
  /// and so the stream does not depend on how many were asked for before).
  public mutating func normal() -> Double {
    // 1 - u lies in (0, 1], so the logarithm is finite.
    let u1 = 1 - nextUnit()
    let u2 = nextUnit()
    return (-2 * _cLog(u1)).squareRoot() * _cCos(2 * Double.pi * u2)
  }

  /// A uniform integer in 0..<`bound` without modulo bias (Lemire's method).
  public mutating func nextIndex(below bound: Int) -> Int {
    precondition(bound > 0, "bound must be positive, got \(bound)")
    let b = UInt64(bound)
    var product = next().multipliedFullWidth(by: b)
    if product.low < b {
      let threshold = (0 &- b) % b
      while product.low < threshold {
        product = next().multipliedFullWidth(by: b)
      }
    }
    return Int(product.high)
  }

  /// Shuffles `indices` in place (Fisher–Yates), the same way on every platform.
  public mutating func shuffle(_ indices: inout [Int]) {
    indices.withUnsafeMutableBufferPointer { shuffle($0) }
  }

  /// Shuffles the elements of `buffer` in place, as ``shuffle(_:)-([Int])`` does.
  public mutating func shuffle<Element>(_ buffer: UnsafeMutableBufferPointer<Element>) {
    guard buffer.count > 1 else { return }
    for i in stride(from: buffer.count - 1, to: 0, by: -1) {
      buffer.swapAt(i, nextIndex(below: i + 1))
    }
  }

  @inline(__always)
  private func rotate(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  static func splitMix(_ state: inout UInt64) -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Stateless random numbers addressed by a key: the same key gives the same
/// number wherever and in whatever order it is asked for.
///
/// Dropout uses it so that a sample's mask depends only on the seed, the step,
/// the sample's row in the batch and the unit, never on how the batch was
/// split among workers.
public enum CounterHash {
  /// Mixes three words into one well-scrambled 64-bit value.
  @inlinable
  public static func mix(_ a: UInt64, _ b: UInt64, _ c: UInt64) -> UInt64 {
    var h = finalize(a &+ 0x9E37_79B9_7F4A_7C15)
    h = finalize(h ^ (b &+ 0xC2B2_AE3D_27D4_EB4F))
    h = finalize(h ^ (c &+ 0x1656_67B1_9E37_79F9))
    return h
  }

  /// A uniform `Float` in [0, 1) for the key (`base`, `counter`).
  @inlinable
  public static func unitFloat(_ base: UInt64, _ counter: UInt64) -> Float {
    Float(finalize(base ^ (counter &* 0x9E37_79B9_7F4A_7C15)) >> 40) * 0x1.0p-24
  }

  /// SplitMix64's finaliser: a bijection that scrambles every bit.
  @inlinable
  public static func finalize(_ value: UInt64) -> UInt64 {
    var z = value
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
}

/// Streams of a run's random numbers: one constant per purpose.
package enum RandomStream {
  package static let initialisation: UInt64 = 1
  package static let shuffle: UInt64 = 2
  package static let dropout: UInt64 = 3
  package static let validationSplit: UInt64 = 4
  package static let folds: UInt64 = 5
  package static let search: UInt64 = 6
  package static let augmentation: UInt64 = 7
}
