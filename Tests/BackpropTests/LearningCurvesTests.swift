import Foundation
import Testing
import _BackpropTestSupport

/// `tools/plot-metrics` (its script, with the tests' Python): learning
/// curves from `--metrics` files as a PNG, several runs overlaid.
@Suite struct LearningCurvesTests {
  @Test(.enabled(if: TestPython.available, "no Python with matplotlib (tools/test-venv.sh)"))
  func metricsFilesBecomeOnePNG() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 100)
    for (name, lr) in [("slow", "0.01"), ("fast", "0.1")] {
      let run = try CommandRun([
        "train", "--data", data, "--model", "4-8-relu-3", "--epochs", "4", "--lr", lr, "--validation-split", "0.2",
        "--metrics", scratch.file("\(name).jsonl"), "--quiet",
      ])
      #expect(run.status == 0, "\(run.errors)")
    }
    let png = scratch.file("curves.png")
    let plot = try TestPython.run(
      "plot_metrics.py", ["-o", png, scratch.file("slow.jsonl"), scratch.file("fast.jsonl")])
    #expect(plot.status == 0, "\(plot.errors)")
    let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: png)))
    #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) && bytes.count > 10_000)
    // One file: the PNG goes beside it.
    let one = try TestPython.run("plot_metrics.py", [scratch.file("slow.jsonl")])
    #expect(one.status == 0 && FileManager.default.fileExists(atPath: scratch.file("slow.png")), "\(one.errors)")
  }

  @Test(.enabled(if: TestPython.available, "no Python with matplotlib (tools/test-venv.sh)"))
  func aFileThatIsNotMetricsIsOneLine() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch)
    let run = try TestPython.run("plot_metrics.py", ["-o", scratch.file("c.png"), data])
    #expect(run.status != 0)
    #expect(run.errors == "plot-metrics: error: \(data): line 1 is not JSON (give files written by --metrics)\n")
    #expect(!FileManager.default.fileExists(atPath: scratch.file("c.png")))
  }
}
