// Writes every ```swift block of a Markdown file as a Swift function, so the
// tests compile and run the README's examples from its own text.
//
// Usage: ReadmeExtractor README.md OUTPUT.swift
import Foundation

let arguments = CommandLine.arguments
guard arguments.count == 3, let text = try? String(contentsOfFile: arguments[1], encoding: .utf8) else {
  FileHandle.standardError.write(Data("usage: ReadmeExtractor README.md OUTPUT.swift\n".utf8))
  exit(2)
}

var imports: [String] = []
var blocks: [(line: Int, body: [String])] = []
var current: (line: Int, body: [String])? = nil
for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
  let trimmed = line.trimmingCharacters(in: .whitespaces)
  if current == nil {
    if trimmed == "```swift" { current = (index + 1, []) }
  } else if trimmed == "```" {
    blocks.append(current!)
    current = nil
  } else if trimmed.hasPrefix("import ") {
    if !imports.contains(trimmed) { imports.append(trimmed) }
  } else {
    current!.body.append("    " + line)
  }
}

var output = "// Generated from \(URL(fileURLWithPath: arguments[1]).lastPathComponent) by ReadmeExtractor: "
output += "every ```swift block, in order. Do not edit.\n"
output += imports.joined(separator: "\n") + "\n\n"
output += "/// The README's Swift blocks, each a function, with the line its fence is on.\n"
output += "enum ReadmeBlocks {\n"
output += "  static let all: [(line: Int, run: @Sendable () throws -> Void)] = [\n"
output += blocks.map { "    (\($0.line), block\($0.line))," }.joined(separator: "\n") + "\n  ]\n"
for block in blocks {
  output += "\n  static func block\(block.line)() throws {\n" + block.body.joined(separator: "\n") + "\n  }\n"
}
output += "}\n"
do {
  // Rewritten only when it changes, so an unchanged README rebuilds nothing.
  if (try? String(contentsOfFile: arguments[2], encoding: .utf8)) != output {
    try output.write(toFile: arguments[2], atomically: true, encoding: .utf8)
  }
} catch {
  FileHandle.standardError.write(Data("ReadmeExtractor: cannot write \(arguments[2]): \(error)\n".utf8))
  exit(1)
}
