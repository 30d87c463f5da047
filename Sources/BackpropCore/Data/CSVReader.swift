/// Reads CSV files with a header line: one column holds the label (chosen by
/// name), the feature columns are chosen by name (by default every other
/// column) and hold numbers.
///
/// Fields may be quoted with `"`; the separator is a comma; `\r\n` line ends
/// and a final line without an end are accepted.
public enum CSVReader {
  /// Reads `path`, taking the labels from the column named `labelColumn`
  /// and every other column as a feature.
  ///
  /// With `requireLabels` false, a file without that column is read as
  /// features only, with zero targets (for prediction).
  /// - Throws: ``DatasetError`` naming the file, line and column of the
  ///   first problem: a missing label column, a ragged row, a field that is
  ///   not a number, or a file without data rows.
  public static func read(_ path: String, labelColumn: String, requireLabels: Bool = true) throws(DatasetError)
    -> Dataset
  {
    try parse(
      try FileBytes.read(path), path: path, columns: ColumnSelection(labelColumn: labelColumn),
      requireLabels: requireLabels)
  }

  /// Parses CSV `bytes` that came from `path` (used in messages), reading
  /// the columns `columns` selects.
  ///
  /// Features are found by name, so a file whose columns come in another
  /// order gives the same samples. Labels are numbers, or text: then each
  /// is looked up in ``ColumnSelection/classNames``, or the sorted distinct
  /// labels become the classes. With `requireLabels` false the label column
  /// is not read (it may be missing) and the targets are zero.
  ///
  /// Splitting and converting takes up to about three times the file's size
  /// again (line and field views, then the floats): refused up front, with
  /// the figures, when that is more than ``MemoryBudget`` allows.
  /// - Throws: ``DatasetError`` naming the file, and the line and column of
  ///   the first problem.
  public static func parse(
    _ bytes: [UInt8], path: String, columns: ColumnSelection = ColumnSelection(), requireLabels: Bool = true
  ) throws(DatasetError) -> Dataset {
    do { try MemoryBudget.check(checkedProduct([bytes.count, 3]), for: "parsing it as CSV") } catch {
      throw .unreadable(path: path, reason: error.description)
    }
    var lines = splitLines(bytes)
    guard !lines.isEmpty else { throw .malformed(path: path, reason: "empty CSV file (a header line is needed)") }
    // A UTF-8 byte-order mark (as spreadsheets write) is not part of the first name.
    if lines[0].starts(with: [0xEF, 0xBB, 0xBF]) { lines[0] = lines[0].dropFirst(3) }
    let header = fields(of: lines.removeFirst()).map { $0.trimmingWhitespace() }
    if header.count == 1, let separator = [";", "\t", "|"].first(where: { header[0].contains(Character($0)) }) {
      throw .malformed(
        path: path,
        reason:
          "the header line has one column, '\(quoted(header[0]))': the file seems separated by '\(separator == "\t" ? "\\t" : separator)', but CSV files are read with commas"
      )
    }
    let layout = try Layout(header: header, columns: columns, requireLabels: requireLabels, path: path)
    let width = layout.features.count
    var features: [Float] = []
    var labelTexts: [Substring] = []
    features.reserveCapacity(lines.count * width)
    labelTexts.reserveCapacity(lines.count)
    var labelLines: [Int] = []
    for (number, line) in lines.enumerated() {
      let row = fields(of: line)
      let lineNumber = number + 2
      if row.count == 1 && row[0].isEmpty { continue }  // a blank line
      guard row.count == header.count else {
        throw .malformed(
          path: path, reason: "line \(lineNumber) has \(row.count) fields, the header has \(header.count)")
      }
      for column in layout.features {
        guard let value = Float(row[column].trimmingWhitespace()) else {
          let field = row[column].trimmingWhitespace()
          throw .malformed(
            path: path,
            reason: "line \(lineNumber), column '\(quoted(header[column]))': "
              + (field.isEmpty
                ? "the field is empty (fill in or remove the rows with missing values)"
                : "'\(quoted(row[column]))' is not a number (leave the column out with --drop-columns, or read it as the labels with --label-column)")
          )
        }
        features.append(value)
      }
      if let label = layout.label {
        labelTexts.append(row[label])
        labelLines.append(lineNumber)
      }
    }
    let rows = width > 0 ? features.count / width : 0
    guard rows > 0 else { throw .mismatch(source: path, reason: "no data rows after the header") }
    var set: Dataset
    if let label = layout.label {
      let (targets, classNames) = try labels(
        labelTexts, lines: labelLines, column: header[label], classNames: columns.classNames, path: path)
      set = Dataset(features: features, featureWidth: width, targets: targets, targetWidth: 1, source: path)
      set.classNames = classNames
      set.labelColumn = header[label]
    } else {
      set = Dataset(
        features: features, featureWidth: width, targets: [Float](repeating: 0, count: rows), targetWidth: 1,
        source: path)
      set.classNames = columns.classNames
      set.labelColumn = columns.labelColumn
    }
    set.featureNames = layout.features.map { header[$0] }
    return set
  }

  /// Where the features and the label are in a file's columns.
  private struct Layout {
    /// The feature columns' indices, in the order of the features.
    var features: [Int]
    /// The label column's index, if read.
    var label: Int?

    init(header: [String], columns: ColumnSelection, requireLabels: Bool, path: String) throws(DatasetError) {
      func listed(_ names: [String]) -> String {
        names.prefix(12).map { "'\(quoted($0))'" }.joined(separator: ", ") + (names.count > 12 ? ", …" : "")
      }
      // Each name's columns, looked up once per name asked for (files may have thousands).
      var positions: [String: [Int]] = [:]
      for (column, name) in header.enumerated() { positions[name, default: []].append(column) }
      func index(of name: String, for purpose: String) throws(DatasetError) -> Int {
        let found = positions[name] ?? []
        guard let first = found.first else {
          throw .malformed(
            path: path, reason: "no column named '\(quoted(name))' \(purpose); its columns: \(listed(header))")
        }
        guard found.count == 1 else {
          throw .malformed(
            path: path,
            reason: "columns \(found[0] + 1) and \(found[1] + 1) are both named '\(quoted(name))' \(purpose)")
        }
        return first
      }
      let labelIndex = header.firstIndex(of: columns.labelColumn)
      if requireLabels {
        guard labelIndex != nil else {
          throw .malformed(
            path: path,
            reason:
              "no column named '\(quoted(columns.labelColumn))' for the labels (columns: \(listed(header))); choose one with --label-column"
          )
        }
        label = try index(of: columns.labelColumn, for: "for the labels")
      }
      if let names = columns.featureColumns {
        features = []
        for name in names {
          if name == columns.labelColumn {
            throw .malformed(
              path: path,
              reason: "column '\(quoted(name))' (\(columns.featuresNamedBy)) is also the label column (--label-column)")
          }
          features.append(try index(of: name, for: "(\(columns.featuresNamedBy))"))
        }
      } else {
        var dropped = Set<Int>()
        for name in columns.dropColumns { dropped.insert(try index(of: name, for: "(named by --drop-columns)")) }
        features = header.indices.filter { $0 != labelIndex && !dropped.contains($0) }
        var seen: [String: Int] = [:]
        for column in features {
          if let earlier = seen[header[column]] {
            throw .malformed(
              path: path,
              reason:
                "columns \(earlier + 1) and \(column + 1) are both named '\(quoted(header[column]))' (give each feature column its own name, or leave one out with --drop-columns)"
            )
          }
          seen[header[column]] = column
        }
      }
      guard !features.isEmpty else {
        throw .malformed(path: path, reason: "no feature columns (columns: \(listed(header)))")
      }
    }
  }

  /// The labels as class indices (numbers, or text looked up in
  /// `classNames` or in the sorted distinct labels) and the class names, if text.
  private static func labels(
    _ texts: [Substring], lines: [Int], column: String, classNames given: [String]?, path: String
  ) throws(DatasetError) -> ([Float], [String]?) {
    let trimmed = texts.map { $0.trimmingWhitespace() }
    if let empty = trimmed.firstIndex(where: \.isEmpty) {
      throw .malformed(path: path, reason: "line \(lines[empty]), column '\(quoted(column))': the label is empty")
    }
    if given == nil {
      let numbers = trimmed.map { Float($0) }
      if let text = numbers.firstIndex(where: { $0 == nil }) {
        // Text labels are classes; a column mostly of numbers with some text is more likely a typo.
        if let number = numbers.firstIndex(where: { $0 != nil }) {
          throw .malformed(
            path: path,
            reason:
              "line \(lines[text]), column '\(quoted(column))': '\(quoted(trimmed[text]))' is not a number, while line \(lines[number])'s label is (give --class-names to read every label as a class name)"
          )
        }
      } else {
        return (numbers.map { $0! }, nil)
      }
    }
    let names = given ?? Array(Set(trimmed)).sorted()
    let index = Dictionary(names.enumerated().map { ($1, Float($0)) }, uniquingKeysWith: { first, _ in first })
    var targets: [Float] = []
    targets.reserveCapacity(trimmed.count)
    for (row, label) in trimmed.enumerated() {
      guard let value = index[label] else {
        throw .malformed(
          path: path,
          reason:
            "line \(lines[row]), column '\(quoted(column))': '\(quoted(label))' is not one of the class names (\(names.prefix(12).map { quoted($0) }.joined(separator: ", "))\(names.count > 12 ? ", …" : ""))"
        )
      }
      targets.append(value)
    }
    return (targets, names)
  }

  /// A cell as a message may echo it: control characters escaped, at most 40 characters.
  fileprivate static func quoted(_ text: some StringProtocol) -> String {
    let printable = FilePath.printable(String(text))
    return printable.count > 40 ? printable.prefix(40) + "…" : printable
  }

  private static func splitLines(_ bytes: [UInt8]) -> [ArraySlice<UInt8>] {
    var lines = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    if let last = lines.last, last.isEmpty { lines.removeLast() }
    return lines.map { $0.last == UInt8(ascii: "\r") ? $0.dropLast() : $0 }
  }

  /// The fields of a line: split at commas outside quotes; inside quotes a
  /// doubled quote (`""`) is one quote character, as RFC 4180 writes it.
  private static func fields(of line: ArraySlice<UInt8>) -> [Substring] {
    var result: [Substring] = []
    var current: [UInt8] = []
    var quoted = false
    var index = line.startIndex
    while index < line.endIndex {
      let byte = line[index]
      index += 1
      if quoted {
        if byte != UInt8(ascii: "\"") {
          current.append(byte)
        } else if index < line.endIndex && line[index] == UInt8(ascii: "\"") {
          current.append(byte)
          index += 1
        } else {
          quoted = false
        }
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
