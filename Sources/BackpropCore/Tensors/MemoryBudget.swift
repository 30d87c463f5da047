import Synchronization

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How much memory a run may still take, so that a model, a batch or a file
/// too large for the machine is refused with a clear message before anything
/// is allocated, instead of ending in a failed allocation.
///
/// The budget is the least of: a limit the user set (``limit``, the command
/// line's `--max-memory`), the memory the kernel reports available
/// (`MemAvailable`), the headroom under the process's cgroup memory limit,
/// and the address space left under `ulimit -v` (`RLIMIT_AS`).
public enum MemoryBudget {
  private static let userLimit = Atomic<Int>(0)

  /// A limit on what one run may take, in bytes; `nil` for none.
  public static var limit: Int? {
    get { userLimit.load(ordering: .relaxed).nonZero }
    set { userLimit.store(max(newValue ?? 0, 0), ordering: .relaxed) }
  }

  /// The bytes this process may still allocate, and what sets that figure.
  public static func available() -> (bytes: Int, source: String) {
    var best = (bytes: Int.max, source: "no limit")
    func consider(_ bytes: Int?, _ source: String) {
      if let bytes, bytes < best.bytes { best = (max(bytes, 0), source) }
    }
    consider(limit, "--max-memory")
    consider(meminfo("MemAvailable:"), "available memory (MemAvailable)")
    consider(cgroupHeadroom(), "the cgroup's memory limit")
    consider(addressSpaceHeadroom(), "the address-space limit (ulimit -v)")
    return best
  }

  /// Refuses `bytes` (`nil`: too large to count) of `what` when they do not
  /// fit in ``available()``.
  ///
  /// - Throws: ``MemoryError`` naming `what`, the estimate and the budget.
  public static func check(_ bytes: Int?, for what: String) throws(MemoryError) {
    let budget = available()
    guard let bytes, bytes <= budget.bytes else {
      throw MemoryError(what: what, needed: bytes, available: budget.bytes, source: budget.source)
    }
  }

  /// `text` as a byte count: a number with an optional `K`, `M`, `G` or `T`
  /// suffix (powers of 1024; `B`, `iB` allowed), as `--max-memory 8G`.
  public static func parse(_ text: String) -> Int? {
    var digits = Substring(Substring(text).trimmingWhitespace().uppercased())
    for suffix in ["IB", "B"] where digits.hasSuffix(suffix) { digits = digits.dropLast(suffix.count); break }
    var scale = 1.0
    if let last = digits.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
      scale = pow(1024, Double(power))
      digits = digits.dropLast()
    }
    guard let value = Double(digits), value > 0, value.isFinite, value * scale < 9e18 else { return nil }
    return Int(value * scale)
  }

  /// `bytes` for people: `1.5 GiB`, `300 MiB`.
  public static func describe(_ bytes: Int) -> String {
    let units = ["bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024 && unit < units.count - 1 {
      value /= 1024
      unit += 1
    }
    guard unit > 0 else { return "\(bytes) bytes" }
    let rounded = (value * 10).rounded() / 10
    return "\(rounded == rounded.rounded() ? String(Int(rounded)) : String(rounded)) \(units[unit])"
  }

  /// A `/proc/meminfo` field in bytes.
  private static func meminfo(_ field: String) -> Int? {
    for line in ProcFile.text("/proc/meminfo").split(separator: "\n") where line.hasPrefix(field) {
      let parts = line.split(separator: " ")
      if parts.count >= 2, let kilobytes = Int(parts[1]) { return kilobytes * 1024 }
    }
    return nil
  }

  /// The cgroup's limit less its usage (cgroup v2, then v1); `nil` without a limit.
  private static func cgroupHeadroom() -> Int? {
    func number(_ path: String) -> Int? {
      Int(Substring(ProcFile.text(path)).trimmingWhitespace())
    }
    for line in ProcFile.text("/proc/self/cgroup").split(separator: "\n") where line.hasPrefix("0::") {
      let folder = "/sys/fs/cgroup" + line.dropFirst(3)
      if let maximum = number(folder + "/memory.max") {
        return maximum - (number(folder + "/memory.current") ?? 0)
      }
    }
    if let maximum = number("/sys/fs/cgroup/memory/memory.limit_in_bytes"), maximum < 1 << 60 {
      return maximum - (number("/sys/fs/cgroup/memory/memory.usage_in_bytes") ?? 0)
    }
    return nil
  }

  /// `RLIMIT_AS` less the address space in use; `nil` without a limit.
  private static func addressSpaceHeadroom() -> Int? {
    #if os(Linux)
      var limit = rlimit()
      guard getrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &limit) == 0,
        limit.rlim_cur < UInt64(Int.max)
      else { return nil }
      let pages = ProcFile.text("/proc/self/statm").split(separator: " ").first.flatMap { Int($0) } ?? 0
      return Int(limit.rlim_cur) - pages * sysconf(Int32(_SC_PAGESIZE))
    #else
      return nil
    #endif
  }
}

/// A run that would need more memory than it may take.
public struct MemoryError: Error, Sendable, CustomStringConvertible {
  /// What needs the memory (a model, a file).
  public let what: String
  /// The estimate in bytes, or `nil` when it does not even fit an `Int`.
  public let needed: Int?
  /// The budget, and what set it.
  public let available: Int, source: String

  public var description: String {
    let amount = needed.map { "about \(MemoryBudget.describe($0))" } ?? "more memory than can be counted"
    return "\(what) needs \(amount), more than the \(MemoryBudget.describe(available)) allowed by \(source)"
  }
}

extension Int {
  fileprivate var nonZero: Int? { self == 0 ? nil : self }
}
