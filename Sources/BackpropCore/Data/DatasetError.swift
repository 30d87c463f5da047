/// Something wrong with a data file or with data for a model: each case's
/// description is one line naming the file (or option) and what is wrong.
public enum DatasetError: Error, Sendable, Equatable, CustomStringConvertible {
  /// The file could not be opened or read (missing, a folder, no permission).
  case unreadable(path: String, reason: String)
  /// The file's contents are not what its format requires.
  case malformed(path: String, reason: String)
  /// The data does not fit the model or options (widths, labels, values).
  case mismatch(source: String, reason: String)
  /// An option about data has a bad value.
  case badOption(option: String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let path, let reason): "\(path): cannot read: \(reason)"
    case .malformed(let path, let reason): "\(path): \(reason)"
    case .mismatch(let source, let reason): "\(source): \(reason)"
    case .badOption(let option, let reason): "\(option): \(reason)"
    }
  }
}
