/// How a batch of rows is cut into contiguous shards, one per worker, whose
/// sizes differ by at most one.
public struct ShardPlan: Sendable, Hashable {
  /// The number of rows in the batch.
  public let rows: Int
  /// The number of shards (never more than `rows`).
  public let shardCount: Int

  /// Plans `rows` rows over at most `workers` workers; a batch with fewer
  /// rows than workers uses one worker per row.
  public init(rows: Int, workers: Int) {
    precondition(rows > 0 && workers > 0, "need rows and workers, got \(rows) and \(workers)")
    self.rows = rows
    shardCount = min(rows, workers)
  }

  /// The rows of shard `index`: the first `rows % shardCount` shards get one extra.
  public func range(of index: Int) -> Range<Int> {
    let base = rows / shardCount
    let extra = rows % shardCount
    let start = index * base + min(index, extra)
    return start..<(start + base + (index < extra ? 1 : 0))
  }

  /// The largest shard any batch of at most `rows` rows gives `workers` workers.
  public static func largestShard(rows: Int, workers: Int) -> Int {
    (rows + workers - 1) / workers
  }
}
