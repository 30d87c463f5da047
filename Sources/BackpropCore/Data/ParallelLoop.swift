/// How a reader runs independent pieces of work: one after another, or
/// spread over cores by a loop the caller brings.
///
/// The core module never starts threads; the engine's
/// ``ParallelLoop/allCores`` runs the pieces with Dispatch. Pieces must write
/// disjoint memory.
public struct ParallelLoop: Sendable {
  /// Runs `body` once for every index in `0..<iterations`, in any order and
  /// possibly at the same time, returning when all have finished.
  public let run: @Sendable (_ iterations: Int, _ body: (Int) -> Void) -> Void

  /// A loop that runs the pieces with `run`.
  public init(_ run: @escaping @Sendable (_ iterations: Int, _ body: (Int) -> Void) -> Void) {
    self.run = run
  }

  /// The pieces one after another on the calling thread.
  public static let serial = ParallelLoop { iterations, body in
    for index in 0..<iterations { body(index) }
  }
}
