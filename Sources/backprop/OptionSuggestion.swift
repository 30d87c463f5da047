import ArgumentParser

/// What to say about an option a command does not have: the nearest one it
/// has (`--learning-rate` → `--lr`, `--batch_size` → `--batch-size`), or
/// the commands that do take it.
enum OptionSuggestion {
  /// Names people bring from other tools whose spelling is far from ours.
  static let aliases = [
    "learning-rate": "lr", "patience": "early-stopping", "workers": "threads", "jobs": "threads",
    "num-threads": "threads", "epsilon": "eps", "optim": "optimizer", "target": "label-column",
    "target-column": "label-column", "label": "label-column", "out": "output", "weights-out": "save",
  ]

  /// The hint for `--unknown` given to `command` (one of `commands`), or `nil`.
  static func hint(for unknown: String, in command: ParsableCommand.Type, among commands: [ParsableCommand.Type])
    -> String?
  {
    let given = String(unknown.drop { $0 == "-" }.lowercased().map { $0 == "_" ? "-" : $0 })
    let own = options(of: command)
    if let alias = aliases[given], own.contains(alias) { return "did you mean --\(alias)?" }
    if own.contains(given) { return "did you mean --\(given)?" }
    // Initials of a spelt-out name (learning-rate → lr), then the closest spelling.
    let initials = String(given.split(separator: "-").compactMap(\.first))
    if initials.count > 1, own.contains(initials) { return "did you mean --\(initials)?" }
    let others = commands.filter { $0 != command && options(of: $0).contains(given) }.map { $0._commandName }
    if !others.isEmpty {
      return "it is an option of \(others.joined(separator: ", ")), not of \(command._commandName)"
    }
    // Sorted, so that of two names equally near the first alphabetically is suggested.
    let nearest = own.sorted().map { (name: $0, distance: distance(given, $0)) }.min { $0.distance < $1.distance }
    if let nearest, nearest.distance <= max(1, given.count / 4) { return "did you mean --\(nearest.name)?" }
    return nil
  }

  /// The command's long option names, without dashes, as its help lists
  /// them (each option's line starts with its names; the text after two
  /// spaces is its description, which may mention other commands' options).
  static func options(of command: ParsableCommand.Type) -> Set<String> {
    let help = BackpropCommand.helpMessage(for: command, columns: 10_000)
    var names = Set<String>()
    for line in help.split(separator: "\n") {
      let trimmed = line.drop { $0 == " " }
      guard trimmed.hasPrefix("-") else { continue }
      let characters = Array(trimmed)
      let end = characters.indices.first {
        $0 + 1 < characters.count && characters[$0] == " " && characters[$0 + 1] == " "
      }
      let namesPart = String(characters[..<(end ?? characters.count)])
      for word in namesPart.split(whereSeparator: { $0 == " " || $0 == "," }) where word.hasPrefix("--") {
        names.insert(String(word.dropFirst(2).prefix { $0.isLetter || $0.isNumber || $0 == "-" }))
      }
    }
    return names
  }

  /// The edit distance between two names.
  static func distance(_ a: String, _ b: String) -> Int {
    let (a, b) = (Array(a), Array(b))
    // previous[j]: the distance between the first i − 1 characters of a and the first j of b.
    var previous = Array(0...b.count)
    for (i, x) in a.enumerated() {
      var current = [i + 1]
      for (j, y) in b.enumerated() {
        current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
      }
      previous = current
    }
    return previous[b.count]
  }
}
