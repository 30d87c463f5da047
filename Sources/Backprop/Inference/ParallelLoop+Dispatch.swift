import Dispatch

extension ParallelLoop {
  /// The pieces spread over the allowed cores by Dispatch's `concurrentPerform`.
  public static let allCores = ParallelLoop { iterations, body in
    withoutActuallyEscaping(body) { body in
      // Each piece writes its own memory (see ``ParallelLoop``).
      nonisolated(unsafe) let body = body
      DispatchQueue.concurrentPerform(iterations: iterations) { body($0) }
    }
  }
}
