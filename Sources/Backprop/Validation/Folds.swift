/// k-fold splits of a data set: which samples each fold validates on.
public enum Folds {
  /// The validation samples of each of `folds` folds, each in ascending
  /// order; every sample is in exactly one.
  ///
  /// Samples are shuffled with `seed` and dealt round-robin, so fold sizes
  /// differ by at most one. With `labels` (stratified), each class is
  /// shuffled and dealt on its own, one class after another, so every fold
  /// holds each class's share to within one sample.
  ///
  /// - Throws: ``DatasetError/badOption(option:reason:)`` when `folds` is
  ///   below 2 or above the number of samples.
  public static func split(count: Int, folds: Int, labels: [Int]? = nil, seed: UInt64) throws(DatasetError) -> [[Int]] {
    guard folds >= 2 else { throw .badOption(option: "--folds", reason: "needs at least 2 folds, got \(folds)") }
    guard folds <= count else {
      throw .badOption(option: "--folds", reason: "\(folds) folds of \(count) samples leave some fold empty")
    }
    var order: [Int] = []
    order.reserveCapacity(count)
    if let labels {
      precondition(labels.count == count, "one label per sample")
      var byClass: [Int: [Int]] = [:]
      for (index, label) in labels.enumerated() { byClass[label, default: []].append(index) }
      for label in byClass.keys.sorted() {
        var members = byClass[label]!
        var generator = SeededGenerator(seed: seed, stream: RandomStream.folds, index: UInt64(bitPattern: Int64(label)))
        generator.shuffle(&members)
        order += members
      }
    } else {
      order = Array(0..<count)
      var generator = SeededGenerator(seed: seed, stream: RandomStream.folds, index: .max)
      generator.shuffle(&order)
    }
    var result = [[Int]](repeating: [], count: folds)
    for (position, sample) in order.enumerated() { result[position % folds].append(sample) }
    return result.map { $0.sorted() }
  }
}
