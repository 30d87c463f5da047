import Foundation

/// The Python that reads Backprop's files with the ecosystem's own packages
/// (TensorBoard's `EventAccumulator`, `onnx`, `onnxruntime`): the one
/// `tools/test.sh` made (`BACKPROP_TEST_PYTHON`), else `tools/.test-venv`'s
/// when it is there. Without one, the tests that need it are skipped.
enum TestPython {
  static let tools: String = {
    let file = #filePath
    let tests = file[..<file.lastIndex(of: "/")!]
    return String(tests[..<tests.lastIndex(of: "/")!].dropLast("/Tests".count)) + "/tools"
  }()

  static let path: String? = {
    let given = ProcessInfo.processInfo.environment["BACKPROP_TEST_PYTHON"] ?? ""
    for candidate in [given, tools + "/.test-venv/bin/python"] where !candidate.isEmpty {
      if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
    }
    return nil
  }()

  static var available: Bool { path != nil }

  /// Runs `tools/<script>` with `arguments`.
  static func run(_ script: String, _ arguments: [String]) throws -> CommandRun {
    try CommandRun([tools + "/" + script] + arguments, executable: path!)
  }
}
