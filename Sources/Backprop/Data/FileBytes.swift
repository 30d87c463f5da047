import CZlib

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads whole files into memory, decompressing gzip transparently (zlib's
/// `gzread` passes plain files through unchanged).
enum FileBytes {
  /// The bytes of the file at `path`, decompressed if it is gzip.
  ///
  /// - Throws: ``DatasetError/unreadable(path:reason:)`` if the file cannot be
  ///   opened or is a folder; ``DatasetError/malformed(path:reason:)`` if its
  ///   gzip stream is damaged or cut short.
  static func read(_ path: String) throws(DatasetError) -> [UInt8] {
    let descriptor = open(path, O_RDONLY)
    guard descriptor >= 0 else { throw .unreadable(path: path, reason: systemError()) }
    var info = stat()
    guard fstat(descriptor, &info) == 0 else {
      close(descriptor)
      throw .unreadable(path: path, reason: systemError())
    }
    guard (info.st_mode & S_IFMT) == S_IFREG else {
      close(descriptor)
      throw .unreadable(path: path, reason: "not a regular file")
    }
    // gzdopen takes ownership of the descriptor: gzclose closes it.
    guard let file = gzdopen(descriptor, "rb") else {
      close(descriptor)
      throw .unreadable(path: path, reason: "zlib could not open it")
    }
    defer { gzclose(file) }
    gzbuffer(file, 1 << 20)

    var bytes: [UInt8] = []
    bytes.reserveCapacity(Int(info.st_size))
    let chunk = 1 << 22
    var used = 0
    while true {
      if bytes.count < used + chunk { bytes.append(contentsOf: repeatElement(0, count: used + chunk - bytes.count)) }
      let got = bytes.withUnsafeMutableBytes { buffer in
        gzread(file, buffer.baseAddress! + used, UInt32(chunk))
      }
      if got < 0 { throw .malformed(path: path, reason: "damaged gzip data (\(zlibError(file)))") }
      if got == 0 { break }
      used += Int(got)
    }
    var status: Int32 = 0
    let message = gzerror(file, &status)
    if status != Z_OK && status != Z_STREAM_END {
      let reason = message.map { String(cString: $0) } ?? "error \(status)"
      throw .malformed(path: path, reason: "damaged or truncated gzip data (\(reason))")
    }
    bytes.removeLast(bytes.count - used)
    return bytes
  }

  private static func zlibError(_ file: gzFile) -> String {
    var status: Int32 = 0
    return gzerror(file, &status).map { String(cString: $0) } ?? "error \(status)"
  }
}

/// The C library's message for the current `errno`.
func systemError() -> String {
  String(cString: strerror(errno))
}
