import Backprop
import Foundation
import Testing

/// Every Swift block of README.md, compiled from the README's own text (the
/// ReadmeExamples build plugin writes them into this target) and run.
@Suite struct ReadmeExampleTests {
  @Test func theGeneratedBlocksAreTheReadmes() throws {
    let readme = try String(contentsOf: ArchitectureTests.root.appendingPathComponent("README.md"), encoding: .utf8)
    let fences = readme.split(separator: "\n").filter { $0.trimmingCharacters(in: .whitespaces) == "```swift" }
    #expect(fences.count >= 3)
    #expect(ReadmeBlocks.all.count == fences.count)
  }

  @Test(.enabled(if: CommandLineTests.fashionMNISTInstalled, "the examples train on Fashion-MNIST"))
  func everySwiftBlockRuns() throws {
    for block in ReadmeBlocks.all {
      do { try block.run() } catch { Issue.record("the block at README.md:\(block.line) threw \(error)") }
    }
  }
}
