import Foundation
import Testing

/// What the module split promises: the core has no threads and no hwloc.
@Suite struct ArchitectureTests {
  /// The repository's root, from this file's path.
  static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  @Test func theCoreNeverTouchesThreadsOrHwloc() throws {
    let folder = Self.root.appendingPathComponent("Sources/BackpropCore")
    let files = try #require(FileManager.default.enumerator(atPath: folder.path)).compactMap { $0 as? String }
      .filter { $0.hasSuffix(".swift") }
    #expect(files.count > 20)
    let forbidden = ["import Dispatch", "import CHwloc", "concurrentPerform", "pthread_create", "import Foundation"]
    for file in files {
      let text = try String(contentsOf: folder.appendingPathComponent(file), encoding: .utf8)
      for word in forbidden {
        #expect(!text.contains(word), "Sources/BackpropCore/\(file) contains '\(word)'")
      }
    }
    let manifest = try String(contentsOf: Self.root.appendingPathComponent("Package.swift"), encoding: .utf8)
    let core = try #require(manifest.range(of: "name: \"BackpropCore\""))
    let end = try #require(manifest[core.upperBound...].range(of: "swiftSettings"))
    let coreTarget = manifest[core.lowerBound..<end.lowerBound]
    #expect(coreTarget.contains("CDeflate") && !coreTarget.contains("CHwloc"), "\(coreTarget)")
  }
}
