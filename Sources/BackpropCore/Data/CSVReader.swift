/// Reads CSV files with a header line: one column holds the label (chosen by
/// name), every other column is a numeric feature.
///
/// Fields may be quoted with `"`; the separator is a comma; `\r\n` line ends
/// and a final line without an end are accepted.
public enum CSVReader {
  /// Reads `path`, taking the labels from the column named `labelColumn`.
  ///
  /// With `requireLabels` false, a file without that column is read as
  /// features only, with zero targets (for prediction).
  /// - Throws: ``DatasetError`` naming the file, line and column of the
  ///   first problem: a missing label column, a ragged row, a field that is
  ///   not a number, or a file without data rows.
  public static func read(_ path: String, labelColumn: String, requireLabels: Bool = true) throws(DatasetError)
    -> Dataset
  {
    try parse(try FileBytes.read(path), path: path, labelColumn: labelColumn, requireLabels: requireLabels)
  }

  /// Parses CSV `bytes` that came from `path` (used in messages); see
  /// ``read(_:labelColumn:requireLabels:)``.
  ///
  /// Splitting and converting takes up to about three times the file's size
  /// again (line and field views, then the floats): refused up front, with
  /// the figures, when that is more than ``MemoryBudget`` allows.
  public static func parse(_ bytes: [UInt8], path: String, labelColumn: String, requireLabels: Bool = true)
    throws(DatasetError) -> Dataset
  {
    do { try MemoryBudget.check(checkedProduct([bytes.count, 3]), for: "parsing it as CSV") } catch {
      throw .unreadable(path: path, reason: error.description)
    }
    var lines = splitLines(bytes)
    guard !lines.isEmpty else { throw .malformed(path: path, reason: "empty CSV file (a header line is needed)") }
    let header = fields(of: lines.removeFirst())
    let labelIndex = header.firstIndex { $0 == labelColumn } ?? (requireLabels ? nil : -1)
    guard let labelIndex else {
      throw .malformed(
        path: path,
        reason:
          "no column named '\(quoted(labelColumn))' for the labels (columns: \(header.prefix(12).map(quoted).joined(separator: ", "))\(header.count > 12 ? ", …" : "")); choose one with --label-column"
      )
    }
    let width = labelIndex < 0 ? header.count : header.count - 1
    guard width > 0 else {
      throw .malformed(path: path, reason: "the CSV file has a label column but no feature columns")
    }
    var features: [Float] = []
    var labels: [Float] = []
    features.reserveCapacity(lines.count * width)
    labels.reserveCapacity(lines.count)
    for (number, line) in lines.enumerated() {
      let row = fields(of: line)
      let lineNumber = number + 2
      if row.count == 1 && row[0].isEmpty { continue }  // a blank line
      guard row.count == header.count else {
        throw .malformed(
          path: path, reason: "line \(lineNumber) has \(row.count) fields, the header has \(header.count)")
      }
      for (column, text) in row.enumerated() {
        guard let value = Float(text.trimmingWhitespace()) else {
          throw .malformed(
            path: path,
            reason: "line \(lineNumber), column '\(quoted(header[column]))': '\(quoted(text))' is not a number")
        }
        if column == labelIndex { labels.append(value) } else { features.append(value) }
      }
    }
    let rows = features.count / width
    guard rows > 0 else { throw .mismatch(source: path, reason: "no data rows after the header") }
    if labelIndex < 0 { labels = [Float](repeating: 0, count: rows) }
    return Dataset(
      features: features, featureWidth: width, targets: labels, targetWidth: 1, source: path)
  }

  /// A cell as a message may echo it: control characters escaped, at most 40 characters.
  private static func quoted(_ text: some StringProtocol) -> String {
    let printable = FilePath.printable(String(text))
    return printable.count > 40 ? printable.prefix(40) + "…" : printable
  }

  private static func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    if let last = lines.last, last.isEmpty { lines.removeLast() }
    return lines.map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
  }

  private static func fields(of line: ArraySlice<UInt8>) -> [Substring] {
    var result: [Substring] = []
    var current: [UInt8] = []
    var quoted = false
    var iterator = line.makeIterator()
    while let byte = iterator.next() {
      if quoted {
        if byte == UInt8(ascii: "\"") { quoted = false } else { current.append(byte) }
      } else if byte == UInt8(ascii: "\"") {
        quoted = true
      } else if byte == UInt8(ascii: ",") {
        result.append(Substring(String(decoding: current, as: UTF8.self)))
        current.removeAll(keepingCapacity: true)
      } else {
        current.append(byte)
      }
    }
    result.append(Substring(String(decoding: current, as: UTF8.self)))
    return result
  }
}
