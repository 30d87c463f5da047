#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The settings a search tries: `name=values` entries separated by spaces,
/// such as `lr=0.1,0.03,0.01 hidden=128,256` (lists, for a grid or random
/// choices) or `lr=1e-4:1e-1 momentum=0.8:0.99 epochs=5:20` (ranges, for
/// random search).
///
/// Ranges are sampled uniformly, log-uniformly for learning rates, weight
/// decay and epsilon (or with a `log:` prefix), and as whole numbers when
/// both bounds are whole numbers.
public struct SearchSpace: Sendable, Hashable {
  /// One dimension of the space.
  public enum Values: Sendable, Hashable {
    /// These values, in this order.
    case list([String])
    /// A range of numbers.
    case range(low: Double, high: Double, logarithmic: Bool, integer: Bool)
  }

  /// One named dimension.
  public struct Dimension: Sendable, Hashable {
    /// The option or `{placeholder}` name.
    public var name: String
    /// Its values.
    public var values: Values
  }

  /// The dimensions, in the order given.
  public var dimensions: [Dimension]

  /// Names whose ranges are log-uniform by default.
  static let logarithmicNames: Set<String> = ["lr", "weight-decay", "eps"]

  /// Parses `text`.
  ///
  /// - Throws: a message naming the entry that is malformed.
  public init(parsing text: String) throws(SpaceError) {
    dimensions = []
    for entry in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) {
      let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
      guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
        throw SpaceError("'\(entry)' is not NAME=VALUES (such as lr=0.1,0.01 or lr=1e-4:1e-1)")
      }
      let name = parts[0].hasPrefix("--") ? String(parts[0].dropFirst(2)) : parts[0]
      guard !dimensions.contains(where: { $0.name == name }) else { throw SpaceError("'\(name)' is given twice") }
      var body = parts[1]
      let explicitLog = body.hasPrefix("log:")
      if explicitLog { body = String(body.dropFirst(4)) }
      let bounds = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
      if bounds.count == 2, !body.contains(",") {
        guard let low = Double(bounds[0]), let high = Double(bounds[1]), low.isFinite, high.isFinite, low < high else {
          throw SpaceError("'\(entry)': a range needs two numbers, the lower first")
        }
        let logarithmic = explicitLog || SearchSpace.logarithmicNames.contains(name)
        guard !logarithmic || low > 0 else { throw SpaceError("'\(entry)': a log-uniform range needs positive bounds") }
        let integer = [bounds[0], bounds[1]].allSatisfy { Int($0) != nil }
        // Whole-number draws go through Double: keep them exact.
        guard !integer || max(abs(low), abs(high)) <= 9_007_199_254_740_992 else {
          throw SpaceError("'\(entry)': whole-number bounds must be within ±2^53 (9007199254740992)")
        }
        dimensions.append(
          Dimension(name: name, values: .range(low: low, high: high, logarithmic: logarithmic, integer: integer)))
      } else {
        guard !explicitLog else { throw SpaceError("'\(entry)': log: applies to a range LOW:HIGH") }
        let values = body.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        guard values.allSatisfy({ !$0.isEmpty }) else { throw SpaceError("'\(entry)' has an empty value") }
        dimensions.append(Dimension(name: name, values: .list(values)))
      }
    }
    guard !dimensions.isEmpty else { throw SpaceError("no NAME=VALUES entries") }
  }

  /// The most trials a search may have (a grid's combinations, or random draws).
  public static let maximumTrials = 100_000

  /// Every combination of the lists, the first dimension varying slowest.
  ///
  /// - Throws: when a dimension is a range (a grid needs lists), or when
  ///   there are more than ``maximumTrials`` combinations (counted before
  ///   any is built).
  public func grid() throws(SpaceError) -> [[(name: String, value: String)]] {
    var lists: [(name: String, values: [String])] = []
    var count = 1
    var overflow = false
    for dimension in dimensions {
      guard case .list(let list) = dimension.values else {
        throw SpaceError("'\(dimension.name)' is a range; a grid needs lists (or use random search)")
      }
      lists.append((dimension.name, list))
      if !overflow { (count, overflow) = count.multipliedReportingOverflow(by: list.count) }
    }
    guard !overflow, count <= SearchSpace.maximumTrials else {
      let size = overflow ? "more than 2^63" : String(count)
      throw SpaceError("the grid has \(size) combinations, more than the \(SearchSpace.maximumTrials) a search may try")
    }
    var settings: [[(name: String, value: String)]] = [[]]
    for (name, list) in lists {
      settings = settings.flatMap { setting in list.map { setting + [(name, $0)] } }
    }
    return settings
  }

  /// `count` settings drawn with `seed`: lists by uniform choice, ranges as
  /// described above, numbers written with 4 significant digits (the value
  /// written is the value used).
  public func sample(count: Int, seed: UInt64) -> [[(name: String, value: String)]] {
    var generator = SeededGenerator(seed: seed, stream: RandomStream.search)
    return (0..<count).map { _ in
      dimensions.map { dimension in
        let name = dimension.name
        switch dimension.values {
        case .list(let list):
          return (name, list[generator.nextIndex(below: list.count)])
        case .range(let low, let high, let logarithmic, let integer):
          let u = Double(generator.next() >> 11) / Double(1 << 53)  // in [0, 1)
          if integer { return (name, String(Int(low) + Int(u * (high - low + 1)))) }
          let value = logarithmic ? exp(log(low) + u * (log(high) - log(low))) : low + u * (high - low)
          return (name, String(SearchSpace.significant(value, digits: 4)))
        }
      }
    }
  }

  /// `value` rounded to `digits` significant digits.
  static func significant(_ value: Double, digits: Int) -> Double {
    guard value != 0 && value.isFinite else { return value }
    let scale = pow(10, Double(digits) - 1 - floor(log10(abs(value))))
    return (value * scale).rounded() / scale
  }

  /// A malformed space.
  public struct SpaceError: Error, Sendable, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
  }
}
