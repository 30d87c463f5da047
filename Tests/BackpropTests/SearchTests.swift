import Backprop
import Foundation
import Testing
import _BackpropTestSupport

/// Search spaces, trials and the `search` command. Serialized: trials take every core.
@Suite(.serialized) struct SearchTests {
  @Test func gridIsEveryCombinationFirstDimensionSlowest() throws {
    let grid = try SearchSpace(parsing: "lr=0.1,0.01 hidden=128,256,512").grid()
    #expect(grid.count == 6)
    #expect(
      grid.map { $0.map(\.value) }[0...3].map { $0 } == [
        ["0.1", "128"], ["0.1", "256"], ["0.1", "512"], ["0.01", "128"],
      ])
  }

  @Test func randomSamplesStayInTheirRangesAndAreSeeded() throws {
    let space = try SearchSpace(parsing: "lr=1e-4:1e-1 momentum=0.8:0.99 epochs=2:5 optimizer=sgd,adam")
    let samples = space.sample(count: 400, seed: 7)
    #expect(space.sample(count: 400, seed: 7).map { $0.map(\.value) } == samples.map { $0.map(\.value) })
    let lrs = samples.map { Double($0[0].value)! }
    #expect(lrs.allSatisfy { $0 >= 1e-4 && $0 <= 1e-1 })
    // Log-uniform: about a third of the draws in each decade.
    let lowDecade = lrs.filter { $0 < 1e-3 }.count
    #expect(lowDecade > 90 && lowDecade < 180, "\(lowDecade) of 400 below 1e-3")
    #expect(samples.map { Double($0[1].value)! }.allSatisfy { $0 >= 0.8 && $0 <= 0.99 })
    #expect(Set(samples.map { $0[2].value }) == ["2", "3", "4", "5"])
    #expect(Set(samples.map { $0[3].value }) == ["sgd", "adam"])
  }

  @Test(arguments: ["lr", "lr=", "lr=0.1:", "lr=0.1:0.01", "lr=log:-1:1", "lr=1 lr=2", "=3"])
  func malformedSpacesAreRefused(text: String) {
    #expect(throws: SearchSpace.SpaceError.self) { try SearchSpace(parsing: text) }
  }

  @Test func gridRefusesRanges() {
    #expect(throws: SearchSpace.SpaceError.self) { try SearchSpace(parsing: "lr=0.1:0.2").grid() }
  }

  @Test func aDivergingTrialDoesNotStopTheSearch() throws {
    var generator = TestData(seed: 4)
    let data = generator.classification(rows: 60, features: 4, classes: 3)
    func trial(_ lr: Double) -> Search.Trial {
      var options = TrainingOptions()
      options.epochs = 3
      options.batchSize = 8
      options.optimizer = OptimizerSettings(kind: .sgd, learningRate: lr)
      let cv = CrossValidation(
        spec: try! ModelSpec(parsing: "4-16-relu-3"), loss: .softmaxCrossEntropy, options: options, folds: 3,
        stratified: true)
      return Search.Trial(values: [("lr", "\(lr)")], validation: cv)
    }
    let results = Search.run(
      trials: [trial(0.1), trial(1e30), Search.Trial(values: [("lr", "x")], validation: nil, failure: "bad")],
      on: data,
      plan: FoldPlan(parallelFolds: min(2, max(1, Topology.shared.allowedCores)), threadsPerFold: 1, reason: ""))
    #expect(results[0].failure == nil && results[0].folds.count == 3)
    #expect(results[1].failure?.contains("diverged") == true, "\(results[1].failure ?? "none")")
    #expect(results[2].failure == "bad")
  }

  @Test func searchCommandRanksRefitsAndWrites() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 90)
    let board = scratch.file("board.csv")
    let weights = scratch.file("best.safetensors")
    let run = try CommandRun([
      "search", "--data", data, "--model", "4-{hidden}-relu-3", "--grid", "lr=0.3,1e30 hidden=8,16", "--epochs", "4",
      "--batch-size", "8", "--folds", "3", "--output", board, "--refit", "--save", weights, "--json",
    ])
    #expect(run.status == 0, "\(run.errors)")
    let summary = try run.json()
    guard case .array(let trials)? = summary["trials"] else { Issue.record("no trials"); return }
    #expect(trials.count == 4)
    // The diverging settings rank last, with their reason.
    #expect(trials[0]["failure"] == .null && trials[3]["failure"]?.stringValue?.contains("diverged") == true)
    #expect(trials[0]["setting"]?["lr"]?.doubleValue == 0.3)
    #expect(summary["refit"]?["setting"]?.stringValue?.hasPrefix("lr=0.3") == true)
    let csv = try String(contentsOfFile: board, encoding: .utf8)
    #expect(csv.split(separator: "\n").count == 5 && csv.hasPrefix("rank,trial,lr,hidden,mean_val_accuracy"))
    #expect(try Model.load(from: weights).spec.description.hasPrefix("4-"))
    // A placeholder without values is refused.
    let missing = try CommandRun(["search", "--data", data, "--model", "4-{width}-relu-3", "--grid", "lr=0.1"])
    #expect(missing.status != 0 && missing.errors.contains("{width}"), "\(missing.errors)")
  }

  @Test func cvCommandPrintsFoldsAndSummary() throws {
    let scratch = ScratchFolder()
    let data = CommandLineTests.csvData(in: scratch, rows: 90)
    let output = scratch.file("cv.csv")
    let run = try CommandRun([
      "cv", "--data", data, "--model", "4-16-relu-3", "--folds", "3", "--epochs", "3", "--batch-size", "8", "--json",
      "--output", output,
    ])
    #expect(run.status == 0, "\(run.errors)")
    let summary = try run.json()
    guard case .array(let folds)? = summary["folds"] else { Issue.record("no folds"); return }
    #expect(folds.count == 3)
    for key in ["fold", "val_loss", "val_accuracy", "seconds", "classes"] { #expect(folds[0][key] != nil, "\(key)") }
    for key in ["mean_val_accuracy", "std_val_accuracy", "wall_seconds", "plan"] {
      #expect(summary[key] != nil, "\(key)")
    }
    let csv = try String(contentsOfFile: output, encoding: .utf8)
    #expect(csv.split(separator: "\n").count == 4 && csv.contains("f1_2"))
    // Early stopping works per fold, on the fold's own validation part.
    let stopping = try CommandRun([
      "cv", "--data", data, "--model", "4-16-relu-3", "--folds", "3", "--epochs", "200", "--batch-size", "8",
      "--lr", "0.5", "--early-stopping", "2", "--json",
    ])
    #expect(stopping.status == 0, "\(stopping.errors)")
    let stopped = try #require(try stopping.json()["folds"]?.arrayValue, "no folds")
    #expect(stopped.count == 3)
    #expect(stopped.allSatisfy { ($0["epochs"]?.integerValue ?? 200) < 200 })
  }
}
