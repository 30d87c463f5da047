import CDeflate

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads whole files into memory, decompressing gzip transparently, and
/// never more than the memory a run may take (``MemoryBudget``).
///
/// An input must be a regular file on a real file system: a FIFO, a device,
/// a folder or a file of `/proc` or `/sys` is refused without blocking (the
/// file is opened with `O_NONBLOCK`). A reader that knows its format passes
/// `announcedSize`, which sees the first bytes (decompressed) and returns the
/// size the format's header announces: a file that announces more than the
/// budget is refused before the rest is read, a gzip stream is inflated into
/// a buffer of that size and no further (a "gzip bomb" stops there), and a
/// file that is not of the format fails at its first bytes.
///
/// gzip goes through libdeflate, which inflates the whole stream into a
/// buffer of the right size at about twice zlib's speed: 140 ms instead of
/// 300 ms for Fashion-MNIST's training images on the project's machines.
/// Concatenated gzip members are read one after the other, as `gunzip` does.
package enum FileBytes {
  /// How many leading bytes `announcedSize` sees (at most).
  package static let prefixLength = 1 << 16

  /// The bytes of the file at `path`, decompressed if it is gzip.
  ///
  /// - Parameter announcedSize: given the file's first bytes (decompressed;
  ///   fewer than ``prefixLength`` only when the file is shorter), the size
  ///   its header announces, or `nil` when the format does not tell; it may
  ///   throw to refuse the file at once.
  /// - Throws: ``DatasetError/unreadable(path:reason:)`` if the file cannot be
  ///   opened, is not a regular file or is larger than the memory budget;
  ///   ``DatasetError/malformed(path:reason:)`` if its gzip stream is damaged
  ///   or inflates to more than its header announces.
  package static func read(
    _ path: String, announcedSize: (([UInt8]) throws(DatasetError) -> Int?)? = nil
  ) throws(DatasetError) -> [UInt8] {
    let file = try InputFile(path)
    defer { close(file.descriptor) }
    let budget = MemoryBudget.available()
    func refuseAbove(_ bytes: Int, _ what: String) throws(DatasetError) {
      guard bytes <= budget.bytes else {
        throw .unreadable(
          path: path,
          reason:
            "\(what) \(MemoryBudget.describe(bytes)), more than the \(MemoryBudget.describe(budget.bytes)) allowed by \(budget.source)"
        )
      }
    }
    let head = try file.read(count: min(file.size, prefixLength))
    let isGzip = head.count >= 2 && head[0] == 0x1F && head[1] == 0x8B
    if !isGzip {
      if let announced = try announcedSize?(head) {
        try refuseAbove(announced, "its header announces")
      } else if announcedSize != nil {
        // No header to tell the size (text): parsing takes about 3 times more again.
        try refuseAbove(checkedProduct([file.size, 4]) ?? .max, "reading and parsing it as text needs about")
      }
      try refuseAbove(file.size, "it holds")
      return try file.readAll(after: head)
    }
    try refuseAbove(file.size, "it holds")
    let raw = try file.readAll(after: head)
    guard let announced = try announcedSize?(try gunzipPrefix(raw, path: path)) else {
      // Text (or a format that does not tell) inflates up to the budget, a
      // quarter of it for text, which parsing multiplies.
      let limit =
        announcedSize == nil ? budget : (budget.bytes / 4, budget.source + " (a quarter of it, to parse text)")
      return try gunzip(raw, path: path, capacity: nil, limit: limit)
    }
    try refuseAbove(announced, "its header announces")
    // One byte more than announced, so the reader still sees (and names) trailing data.
    return try gunzip(raw, path: path, capacity: announced + 1, limit: budget)
  }

  /// The first bytes `input` inflates to: enough to read a header.
  private static func gunzipPrefix(_ input: [UInt8], path: String) throws(DatasetError) -> [UInt8] {
    guard let decompressor = libdeflate_alloc_decompressor() else {
      throw .unreadable(path: path, reason: "out of memory for the gzip decompressor")
    }
    defer { libdeflate_free_decompressor(decompressor) }
    // 1 MiB: more than a stored deflate block (64 KiB), so the first block is
    // always inflated; what libdeflate wrote before running out of room is
    // the start of the stream.
    let room = 1 << 20
    var status = LIBDEFLATE_SUCCESS
    var written = 0
    let output = [UInt8](unsafeUninitializedCapacity: room) { buffer, count in
      buffer.initialize(repeating: 0)
      input.withUnsafeBytes { source in
        status = libdeflate_gzip_decompress_ex(
          decompressor, source.baseAddress!, input.count, buffer.baseAddress!, room, nil, &written)
      }
      count = room
    }
    switch status {
    case LIBDEFLATE_SUCCESS: return Array(output[..<min(written, prefixLength)])
    case LIBDEFLATE_INSUFFICIENT_SPACE: return Array(output[..<prefixLength])
    default: throw .malformed(path: path, reason: "damaged gzip data at its start")
    }
  }

  /// Inflates every gzip member of `input` in turn, into `capacity` bytes
  /// when the header announced the size, else growing up to `limit`.
  private static func gunzip(
    _ input: [UInt8], path: String, capacity fixed: Int?, limit: (bytes: Int, source: String)
  ) throws(DatasetError) -> [UInt8] {
    guard let decompressor = libdeflate_alloc_decompressor() else {
      throw .unreadable(path: path, reason: "out of memory for the gzip decompressor")
    }
    defer { libdeflate_free_decompressor(decompressor) }
    // The last 4 bytes are the size of the last member, modulo 2^32: exact
    // for a single member under 4 GiB, a first guess otherwise.
    let n = input.count
    let recorded =
      n >= 18 ? Int(input[n - 4]) | Int(input[n - 3]) << 8 | Int(input[n - 2]) << 16 | Int(input[n - 1]) << 24 : 0
    var capacity = fixed ?? min(max(recorded, 1), limit.bytes)
    while true {
      var status = LIBDEFLATE_SUCCESS
      var consumed = 0
      let output = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, produced in
        input.withUnsafeBytes { source in
          while consumed < n {
            var read = 0
            var written = 0
            status = libdeflate_gzip_decompress_ex(
              decompressor, source.baseAddress! + consumed, n - consumed,
              buffer.baseAddress! + produced, capacity - produced, &read, &written)
            guard status == LIBDEFLATE_SUCCESS else { return }
            consumed += read
            produced += written
          }
        }
      }
      switch status {
      case LIBDEFLATE_SUCCESS:
        return output
      case LIBDEFLATE_INSUFFICIENT_SPACE:
        if let fixed {
          throw .malformed(
            path: path, reason: "its gzip data inflates to more than the \(fixed - 1) bytes its header announces")
        }
        // More members than the trailer told of, or over 4 GiB: start again
        // bigger, up to the memory budget.
        guard capacity < limit.bytes else {
          throw .unreadable(
            path: path,
            reason:
              "its gzip data inflates to more than \(MemoryBudget.describe(limit.bytes)), the limit set by \(limit.source)"
          )
        }
        capacity = min(max(capacity * 2, 8 * n), limit.bytes)
      default:
        throw .malformed(
          path: path,
          reason: "damaged or truncated gzip data (byte \(consumed) of \(n) starts a member that does not inflate)")
      }
    }
  }
}

/// An input file opened for reading, checked to be a regular file on a real
/// file system without blocking on a FIFO or a device.
struct InputFile {
  let descriptor: Int32
  let size: Int
  let path: String

  init(_ path: String) throws(DatasetError) {
    self.path = path
    guard !path.isEmpty else { throw .unreadable(path: "''", reason: "the path is empty") }
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever.
    descriptor = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC)
    guard descriptor >= 0 else { throw .unreadable(path: path, reason: systemError()) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      let reason = systemError()
      close(descriptor)
      throw .unreadable(path: path, reason: reason)
    }
    let kind = FileKind(mode: info.st_mode)
    guard kind == .regular else {
      close(descriptor)
      throw .unreadable(path: path, reason: "it is \(kind.description), not a regular file")
    }
    if let system = FileKind.pseudoFileSystem(path) {
      close(descriptor)
      throw .unreadable(path: path, reason: "it is on the kernel's \(system) file system, not a data file")
    }
    size = Int(info.st_size)
  }

  /// The next `count` bytes.
  func read(count: Int) throws(DatasetError) -> [UInt8] { try read(count: count, after: []) }

  /// The whole file, whose first bytes `head` were read already, in one buffer.
  func readAll(after head: [UInt8]) throws(DatasetError) -> [UInt8] {
    head.count == size ? head : try read(count: size - head.count, after: head)
  }

  /// `head` followed by the next `count` bytes, read straight into one buffer.
  private func read(count: Int, after head: [UInt8]) throws(DatasetError) -> [UInt8] {
    var failure: String? = nil
    let total = head.count + count
    let bytes = [UInt8](unsafeUninitializedCapacity: total) { buffer, done in
      _ = buffer.initialize(from: head)
      done = head.count
      while done < total {
        let got = readSome(descriptor, buffer.baseAddress! + done, total - done)
        if got < 0 && errno == EINTR { continue }
        if got <= 0 {
          failure = got < 0 ? systemError() : "it shrank while being read"
          break
        }
        done += got
      }
    }
    if let failure { throw .unreadable(path: path, reason: failure) }
    return bytes
  }
}

/// `read(2)` (inside ``FileBytes`` the name means its own `read`).
private func readSome(_ descriptor: Int32, _ buffer: UnsafeMutablePointer<UInt8>, _ count: Int) -> Int {
  read(descriptor, buffer, count)
}

/// The C library's message for the current `errno`.
func systemError() -> String {
  String(cString: strerror(errno))
}
