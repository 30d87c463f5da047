#if MPI
  import CMPI
#endif
#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The processes of one run: this process alone, or the ranks `mpirun`
/// started, joined by MPI (a build with `--traits MPI`).
///
/// Every rank runs the same program on the same data; each computes the
/// gradient of its part of every batch, ``sum(_:count:)`` adds the parts,
/// and every rank applies the same update, so the parameters stay identical.
/// One thread at a time calls into it (MPI's `SERIALIZED` level): in
/// training, worker 0, between the barriers of a step.
public final class ProcessGroup: @unchecked Sendable {
  // @unchecked Sendable: immutable after `start()`; MPI serialises the calls.

  /// This process's place among the ranks, 0 ..< size.
  public let rank: Int
  /// The number of ranks.
  public let size: Int

  /// Whether more than one process takes part.
  public var isDistributed: Bool { size > 1 }
  /// Whether this process prints and writes files: rank 0.
  public var isLeader: Bool { rank == 0 }

  private init(rank: Int, size: Int) {
    self.rank = rank
    self.size = size
  }

  /// This process alone.
  public static let single = ProcessGroup(rank: 0, size: 1)

  /// Why the ranks could not be joined.
  public enum StartError: Error, CustomStringConvertible {
    /// Started by `mpirun` with several ranks, but built without MPI.
    case builtWithoutMPI(ranks: Int)
    /// MPI would not start, or cannot serve calls from a worker thread.
    case mpiFailed(String)

    public var description: String {
      switch self {
      case .builtWithoutMPI(let ranks):
        return "started as one of \(ranks) MPI ranks, but this backprop was built without MPI: "
          + "build it with `swift build -c release --traits MPI` (Debian: libopenmpi-dev)"
      case .mpiFailed(let why): return "MPI: \(why)"
      }
    }
  }

  /// The number of ranks `mpirun` (Open MPI) says this process is one of, or nil outside `mpirun`.
  public static var launchedRanks: Int? {
    guard let text = getenv("OMPI_COMM_WORLD_SIZE").map({ String(cString: $0) }), let ranks = Int(text), ranks > 0
    else { return nil }
    return ranks
  }

  /// Whether this build has the MPI backend.
  public static var hasMPI: Bool {
    #if MPI
      return true
    #else
      return false
    #endif
  }

  /// Joins the ranks when `mpirun` started this process, else this process
  /// alone. Call once, on the main thread, before any work; ``finish()``
  /// at the end.
  public static func start() throws(StartError) -> ProcessGroup {
    guard let ranks = launchedRanks, ranks > 1 else { return .single }
    #if MPI
      var provided: Int32 = 0
      guard MPI_Init_thread(nil, nil, Int32(MPI_THREAD_SERIALIZED), &provided) == MPI_SUCCESS else {
        throw .mpiFailed("MPI_Init_thread failed")
      }
      guard provided >= Int32(MPI_THREAD_SERIALIZED) else {
        MPI_Finalize()
        throw .mpiFailed("this MPI library cannot be called from a worker thread (thread level \(provided))")
      }
      var rank: Int32 = 0
      var size: Int32 = 0
      MPI_Comm_rank(backprop_mpi_comm_world(), &rank)
      MPI_Comm_size(backprop_mpi_comm_world(), &size)
      return ProcessGroup(rank: Int(rank), size: Int(size))
    #else
      throw .builtWithoutMPI(ranks: ranks)
    #endif
  }

  /// Ends MPI (every rank must call it); nothing for a single process.
  public func finish() {
    #if MPI
      if isDistributed { MPI_Finalize() }
    #endif
  }

  /// Ends every rank at once with `status` (after this rank's error line):
  /// no rank is left waiting for this one.
  public func abort(status: Int32) -> Never {
    #if MPI
      if isDistributed { MPI_Abort(backprop_mpi_comm_world(), status) }
    #endif
    exit(status)
  }

  /// Replaces `values[0 ..< count]` on every rank by their sum over the ranks.
  public func sum(_ values: UnsafeMutablePointer<Float>, count: Int) {
    #if MPI
      sumInPlace(UnsafeMutableRawPointer(values), count: count, stride: 4, type: backprop_mpi_float())
    #endif
  }

  /// Replaces `values[0 ..< count]` on every rank by their sum over the ranks.
  public func sum(_ values: UnsafeMutablePointer<Double>, count: Int) {
    #if MPI
      sumInPlace(UnsafeMutableRawPointer(values), count: count, stride: 8, type: backprop_mpi_double())
    #endif
  }

  #if MPI
    /// `MPI_Allreduce` in place of `count` values of `type`, `stride` bytes each.
    private func sumInPlace(_ values: UnsafeMutableRawPointer, count: Int, stride: Int, type: MPI_Datatype) {
      guard isDistributed else { return }
      forEachChunk(count) { offset, length in
        MPI_Allreduce(
          backprop_mpi_in_place(), values + offset * stride, length, type, backprop_mpi_sum(),
          backprop_mpi_comm_world())
      }
    }
  #endif

  /// Gives every rank every rank's part of `values`: rank r holds its own
  /// values at `part(r)` (element ranges, in rank order, not overlapping)
  /// and ends with all of them, bit for bit.
  public func allGather(_ values: UnsafeMutablePointer<Float>, part: (Int) -> Range<Int>) {
    #if MPI
      guard isDistributed else { return }
      withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * size) { counts in
        let offsets = counts.baseAddress! + size
        var end = 0
        for rank in 0..<size {
          let range = part(rank)
          counts[rank] = Int32(clamping: range.count)
          offsets[rank] = Int32(clamping: range.lowerBound)
          end = max(end, range.upperBound)
        }
        guard end > Int(Int32.max) else {
          MPI_Allgatherv(
            backprop_mpi_in_place(), 0, backprop_mpi_float(), values, counts.baseAddress, offsets, backprop_mpi_float(),
            backprop_mpi_comm_world())
          return
        }
        // Past MPI's 32-bit counts: a sum in which each value meets only zeros (exact).
        let mine = part(rank)
        values.update(repeating: 0, count: mine.lowerBound)
        (values + mine.upperBound).update(repeating: 0, count: end - mine.upperBound)
        sum(values, count: end)
      }
    #endif
  }

  /// The largest of every rank's `value`.
  public func maximum(_ value: Int) -> Int {
    #if MPI
      guard isDistributed else { return value }
      var result = Int64(value)
      MPI_Allreduce(
        backprop_mpi_in_place(), &result, 1, backprop_mpi_int64(), backprop_mpi_max(), backprop_mpi_comm_world())
      return Int(result)
    #else
      return value
    #endif
  }

  /// Copies `bytes` from rank `root` to every rank.
  public func broadcast(_ bytes: UnsafeMutableRawBufferPointer, from root: Int = 0) {
    #if MPI
      guard isDistributed, let base = bytes.baseAddress else { return }
      forEachChunk(bytes.count) { offset, length in
        MPI_Bcast(base + offset, length, backprop_mpi_byte(), Int32(root), backprop_mpi_comm_world())
      }
    #endif
  }

  /// Every rank's `text`, in rank order, on rank 0 (elsewhere empty), or
  /// with `everywhere` on every rank; this process's alone when there is one.
  public func gather(_ text: String, everywhere: Bool = false) -> [String] {
    #if MPI
      guard isDistributed else { return [text] }
      let (world, int32, byte) = (backprop_mpi_comm_world(), backprop_mpi_int32(), backprop_mpi_byte())
      let receives = everywhere || isLeader
      var bytes = Array(text.utf8)
      var length = Int32(clamping: bytes.count)
      var lengths = [Int32](repeating: 0, count: receives ? size : 1)
      if everywhere {
        MPI_Allgather(&length, 1, int32, &lengths, 1, int32, world)
      } else {
        MPI_Gather(&length, 1, int32, &lengths, 1, int32, 0, world)
      }
      var offsets = [Int32](repeating: 0, count: lengths.count)
      for rank in lengths.indices.dropFirst() { offsets[rank] = offsets[rank - 1] + lengths[rank - 1] }
      var received = [UInt8](repeating: 0, count: receives ? max(Int(lengths.reduce(0, +)), 1) : 1)
      if everywhere {
        MPI_Allgatherv(&bytes, length, byte, &received, &lengths, &offsets, byte, world)
      } else {
        MPI_Gatherv(&bytes, length, byte, &received, &lengths, &offsets, byte, 0, world)
      }
      guard receives else { return [] }
      return lengths.indices.map { rank in
        String(decoding: received[Int(offsets[rank])..<Int(offsets[rank] + lengths[rank])], as: UTF8.self)
      }
    #else
      return [text]
    #endif
  }

  /// Waits until every rank has arrived.
  public func barrier() {
    #if MPI
      if isDistributed { MPI_Barrier(backprop_mpi_comm_world()) }
    #endif
  }

  #if MPI
    /// MPI counts are 32-bit: larger buffers go in parts.
    private func forEachChunk(_ count: Int, _ body: (Int, Int32) -> Void) {
      var offset = 0
      while offset < count {
        let length = min(count - offset, Int(Int32.max))
        body(offset, Int32(length))
        offset += length
      }
    }
  #endif
}
