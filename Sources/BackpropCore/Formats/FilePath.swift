#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// The parts of a file path, and the names in a folder: what atomic writes,
/// checkpoint rotation and output checks need, in one place.
public enum FilePath {
  /// `path` made absolute against the working folder (unchanged if it is
  /// absolute already), `.` and `..` resolved by name (links are left as
  /// they are).
  public static func absolute(_ path: String) -> String {
    var full = path
    if !path.hasPrefix("/") {
      guard let folder = getcwd(nil, 0) else { return path }
      defer { free(folder) }
      full = String(cString: folder) + "/" + path
    }
    var parts: [Substring] = []
    for part in full.split(separator: "/") where part != "." {
      if part == ".." { _ = parts.popLast() } else { parts.append(part) }
    }
    return "/" + parts.joined(separator: "/")
  }

  /// The folder of `path`: `.` for a bare name, `/` for a file at the root.
  public static func folder(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "." }
    return slash == path.startIndex ? "/" : String(path[..<slash])
  }

  /// The last component of `path`.
  public static func name(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return path }
    return String(path[path.index(after: slash)...])
  }

  /// The longest prefix of `name` that fits in `bytes` UTF-8 bytes, cut at a
  /// character boundary.
  static func prefix(of name: String, bytes: Int) -> String {
    var result = ""
    var used = 0
    for character in name {
      let size = character.utf8.count
      guard used + size <= bytes else { break }
      result.append(character)
      used += size
    }
    return result
  }

  /// `text` (a path, a CSV cell) as it can be printed on one line of a
  /// terminal: control characters (a newline, an escape sequence) are
  /// written as `\n`, `\u{1B}` and so on, so no file name or cell can break
  /// a message or drive the terminal; the empty text is `''`.
  public static func printable(_ text: String) -> String {
    // An empty path would vanish from a message: show it quoted.
    if text.isEmpty { return "''" }
    guard text.unicodeScalars.contains(where: isControl) else { return text }
    var result = ""
    for scalar in text.unicodeScalars {
      if !isControl(scalar) {
        result.unicodeScalars.append(scalar)
      } else if scalar == "\n" {
        result += "\\n"
      } else if scalar == "\t" {
        result += "\\t"
      } else if scalar == "\r" {
        result += "\\r"
      } else {
        result += "\\u{" + String(scalar.value, radix: 16, uppercase: true) + "}"
      }
    }
    return result
  }

  private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
    scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value) || scalar.value == 0x2028 || scalar.value == 0x2029
  }

  /// The names of the entries of `folder` (without `.` and `..`); empty
  /// when it cannot be read.
  public static func names(inFolder folder: String) -> [String] {
    guard let directory = opendir(folder) else { return [] }
    defer { closedir(directory) }
    var names: [String] = []
    while let entry = readdir(directory) {
      let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
      if name != "." && name != ".." { names.append(name) }
    }
    return names
  }
}
