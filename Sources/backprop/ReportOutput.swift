import Backprop

/// Where a command's report goes, by one rule for every command: `--output`
/// ending in `.csv` or `.json` writes that format, any other name is a base
/// that gets both (`BASE.csv` and `BASE.json`), and nothing is written
/// without `--output`. Each file written is named on standard error.
struct ReportOutput {
  /// The files, each with whether it is the JSON form.
  let files: [(path: String, isJSON: Bool)]

  /// The files `--output path` names; none for `nil`.
  init(_ path: String?) {
    guard let path else {
      files = []
      return
    }
    let lowered = path.lowercased()
    if lowered.hasSuffix(".csv") {
      files = [(path, false)]
    } else if lowered.hasSuffix(".json") {
      files = [(path, true)]
    } else {
      files = [(path + ".csv", false), (path + ".json", true)]
    }
  }

  /// The files, for ``claimOutputs(_:inputs:sharedWithInput:)``.
  var claims: [OutputFiles.Named?] { files.map { named("--output", $0.path) } }

  /// The files' paths, as an interrupted run's message names them.
  var description: String? { files.isEmpty ? nil : files.map(\.path).joined(separator: " and ") }

  /// Writes the CSV and JSON forms where asked, atomically, naming each file.
  func write(csv: @autoclosure () -> String, json: @autoclosure () -> JSONValue) throws(CommandFailure) {
    for file in files {
      let text = file.isJSON ? json().serialized() + "\n" : csv()
      try reporting { try AtomicFile.write(text, to: file.path) }
      writeStandardError("wrote \(FilePath.printable(file.path))\n")
    }
  }
}
