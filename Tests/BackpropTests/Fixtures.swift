import Backprop

/// Locates files committed under `Tests/BackpropTests/Fixtures`.
enum Fixtures {
  static let folder: String = {
    let file = #filePath
    return String(file[..<file.lastIndex(of: "/")!]) + "/Fixtures"
  }()

  static func path(_ name: String) -> String { "\(folder)/\(name)" }
}

/// A scratch folder for one test, removed when the value is released.
final class ScratchFolder {
  let path: String

  init() {
    var template = Array("/tmp/backprop-test-XXXXXX".utf8CString)
    path = template.withUnsafeMutableBufferPointer { String(cString: mkdtemp($0.baseAddress!)) }
  }

  func file(_ name: String) -> String { "\(path)/\(name)" }

  deinit {
    _ = system_rm(path)
  }
}

#if canImport(Glibc)
  import Glibc
#endif

private func system_rm(_ path: String) -> Int32 {
  // Only files are made in scratch folders, one level deep.
  if let directory = opendir(path) {
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if name != "." && name != ".." { unlink("\(path)/\(name)") }
    }
    closedir(directory)
  }
  return rmdir(path)
}
