import Backprop
import Foundation
import Synchronization
import Testing
import _BackpropTestSupport

/// Folds, their schedule and their results. Serialized: folds side by side
/// take every core.
@Suite(.serialized) struct CrossValidationTests {
  static func data(rows: Int = 90) -> Dataset {
    var data = TestData(seed: 31)
    return data.classification(rows: rows, features: 5, classes: 3)
  }

  @Test(arguments: [(false, 2), (true, 3), (true, 7), (false, 10)])
  func foldsPartitionTheSamples(stratified: Bool, folds: Int) throws {
    let data = Self.data(rows: 67)
    let labels = data.targets.map { Int($0) }
    let split = try Folds.split(count: 67, folds: folds, labels: stratified ? labels : nil, seed: 9)
    #expect(split.count == folds)
    #expect(split.joined().sorted() == Array(0..<67))
    let sizes = split.map(\.count)
    #expect(sizes.max()! - sizes.min()! <= 1)
    if stratified {
      for label in Set(labels) {
        let perFold = split.map { fold in fold.filter { labels[$0] == label }.count }
        #expect(perFold.max()! - perFold.min()! <= 1, "class \(label): \(perFold)")
      }
    }
    // Seeded: the same seed gives the same folds, another seed others.
    #expect(try Folds.split(count: 67, folds: folds, labels: stratified ? labels : nil, seed: 9) == split)
    #expect(try Folds.split(count: 67, folds: folds, labels: stratified ? labels : nil, seed: 10) != split)
  }

  @Test func tooFewSamplesOrFoldsAreRefused() {
    #expect(throws: DatasetError.self) { try Folds.split(count: 3, folds: 4, seed: 0) }
    #expect(throws: DatasetError.self) { try Folds.split(count: 30, folds: 1, seed: 0) }
  }

  @Test func classMetricsMatchHandCounts() {
    // Class 0: 2 predicted, 1 right, 2 true → precision 0.5, recall 0.5.
    let metrics = ClassMetrics.report(predicted: [0, 0, 1, 1, 2], actual: [0, 1, 1, 0, 2], classes: 3)
    #expect(metrics[0].precision == 0.5 && metrics[0].recall == 0.5 && metrics[0].f1 == 0.5)
    #expect(metrics[2].precision == 1 && metrics[2].recall == 1 && metrics[2].support == 1)
  }

  static func validation(threads: Int = 1) -> CrossValidation {
    var options = TrainingOptions()
    options.epochs = 3
    options.batchSize = 8
    options.seed = 3
    options.optimizer = OptimizerSettings(kind: .adam, learningRate: 0.01)
    options.threads = threads
    options.minimumWorkPerThread = 0
    return CrossValidation(
      spec: try! ModelSpec(parsing: "5-24-relu-dropout0.1-3"), loss: .softmaxCrossEntropy, options: options, folds: 4,
      stratified: true)
  }

  @Test func sideBySideEqualsOneAfterAnotherBitwise() throws {
    let cores = Topology.shared.allowedCores
    let cv = Self.validation()
    let sequential = try cv.run(on: Self.data(), plan: FoldPlan(parallelFolds: 1, threadsPerFold: 1, reason: ""))
    let parallel = try cv.run(
      on: Self.data(), plan: FoldPlan(parallelFolds: min(cores, 4), threadsPerFold: 1, reason: ""))
    #expect(sequential.folds.map(\.weightsChecksum) == parallel.folds.map(\.weightsChecksum))
    #expect(sequential.folds.map(\.validationLoss) == parallel.folds.map(\.validationLoss))
    #expect(sequential.folds.allSatisfy { $0.failure == nil && $0.classes?.count == 3 })
  }

  @Test(.enabled(if: Topology.shared.allowedCores >= 2, "this process may use only one core"))
  func concurrentFoldsNeverShareACore() throws {
    let cores = Topology.shared.allowedCores
    // Folds long enough (tens of milliseconds) that both lanes take one
    // while the other runs.
    var cv = Self.validation()
    cv.options.epochs = 1500
    let report = try cv.run(on: Self.data(), plan: FoldPlan(parallelFolds: 2, threadsPerFold: cores / 2, reason: ""))
    let coreOf = Dictionary(Topology.shared.allowedUnits.map { ($0.osIndex, $0.core) }) { a, _ in a }
    let lanes = Dictionary(grouping: report.folds, by: \.lane)
    #expect(lanes.keys.sorted() == [0, 1])
    // Two folds of different lanes ran at the same time…
    let overlapping = report.folds.contains { a in
      report.folds.contains { b in
        a.lane == 0 && b.lane == 1 && a.startedAt < b.startedAt + b.seconds && b.startedAt < a.startedAt + a.seconds
      }
    }
    #expect(overlapping, "\(report.folds.map { ($0.lane, $0.startedAt, $0.seconds) })")
    // …and no two lanes touched the same core.
    let coresOfLane = lanes.mapValues { folds in Set(folds.flatMap(\.cpus).compactMap { coreOf[$0] }) }
    #expect(coresOfLane.values.allSatisfy { !$0.isEmpty }, "\(coresOfLane)")
    #expect(coresOfLane[0, default: []].isDisjoint(with: coresOfLane[1, default: []]), "\(coresOfLane)")
    // Never more threads than cores: lanes × workers.
    #expect(report.folds.map(\.workers).max()! * 2 <= cores)
  }

  @Test func everyLaneRunsJobsAtTheSameTime() {
    // Each job waits until all lanes hold one: this ends only if the lanes
    // are distinct threads running at once (bounded, so a bug fails rather
    // than hangs). Atomics, not a Mutex: the thread sanitizer sees them.
    let lanes = 3
    let counters = LaneCounters()
    JobRunner.run(jobs: lanes, lanes: lanes) { _, lane in
      counters.lanes.bitwiseOr(1 << lane, ordering: .sequentiallyConsistent)
      counters.arrived.add(1, ordering: .sequentiallyConsistent)
      let deadline = ContinuousClock.now + .seconds(20)
      while counters.arrived.load(ordering: .sequentiallyConsistent) < lanes {
        guard ContinuousClock.now < deadline else {
          counters.timedOut.add(1, ordering: .sequentiallyConsistent)
          return
        }
        usleep(1000)
      }
    }
    #expect(counters.timedOut.load(ordering: .sequentiallyConsistent) == 0)
    #expect(counters.lanes.load(ordering: .sequentiallyConsistent) == 0b111)
  }

  @Test func aFoldWithoutSomeClassFailsAloneWithTheReason() throws {
    var data = Self.data(rows: 40)
    // Class 2 only once: the fold that validates on it has no class-2 sample to train on.
    var seen2 = false
    for row in 0..<data.count where data.targets[row] == 2 {
      if seen2 { data.targets[row] = 1 } else { seen2 = true }
    }
    let report = try Self.validation().run(on: data, plan: FoldPlan(parallelFolds: 1, threadsPerFold: 1, reason: ""))
    let failed = report.folds.filter { $0.failure != nil }
    #expect(failed.count == 1 && failed[0].failure!.contains("class 2"))
    #expect(report.succeeded.count == 3)
    #expect(report.summary { $0.validationAccuracy } != nil)
  }

  @Test func autoChoosesSideBySideForSmallModelsOnSeveralCores() throws {
    let model = Model(spec: try ModelSpec(parsing: "784-256-relu-128-relu-10"))
    var options = TrainingOptions()
    options.epochs = 1
    options.batchSize = 128
    func plan(folds: Int = 4, threads: Int? = nil, cores: Int) throws -> FoldPlan {
      try FoldPlan.choose(
        folds: folds, parallel: nil, threads: threads, model: model, options: options, samples: 60000, cores: cores)
    }
    // A small model's folds go side by side on one core each where cores are few…
    let two = try plan(cores: 2)
    #expect(two.parallelFolds == 2 && two.threadsPerFold == 1, "\(two.reason)")
    #expect(try plan(cores: 1).parallelFolds == 1)
    // …and share out all the cores where there are more than folds.
    let sixteen = try plan(cores: 16)
    #expect(sixteen.parallelFolds == 4 && sixteen.threadsPerFold == 4, "\(sixteen.reason)")
    let five = try plan(folds: 5, cores: 16)
    #expect(five.parallelFolds == 5 && five.threadsPerFold == 3, "\(five.reason)")
    // Threads per fold as asked: as many lanes as fit.
    let asked = try plan(threads: 2, cores: 16)
    #expect(asked.parallelFolds == 4 && asked.threadsPerFold == 2, "\(asked.reason)")
    // The default plans for this machine's cores, never more threads than cores.
    let here = try FoldPlan.choose(
      folds: 4, parallel: nil, threads: nil, model: model, options: options, samples: 60000)
    #expect(here.parallelFolds * here.threadsPerFold <= max(1, Topology.shared.allowedCores))
    #expect(throws: FoldPlan.PlanError.self) {
      try FoldPlan.choose(folds: 4, parallel: 4, threads: 64, model: model, options: options, samples: 60000)
    }
    #expect(throws: FoldPlan.PlanError.self) { try plan(threads: 3, cores: 2) }
  }
}

/// What ``CrossValidationTests/everyLaneRunsJobsAtTheSameTime()``'s lanes
/// share: which lanes ran, how many arrived, how many gave up waiting.
private final class LaneCounters: Sendable {
  let lanes = Atomic<Int>(0)
  let arrived = Atomic<Int>(0)
  let timedOut = Atomic<Int>(0)
}
