import Backprop

/// What the command line says about threads: warnings before a run and the
/// `--profile` report after it.
enum Threads {
  /// How many times the allowed CPUs a thread count may be: a little
  /// oversubscription is allowed (with a warning), more only slows a run
  /// down and costs memory.
  static let oversubscription = 4

  /// Refuses a thread count above ``oversubscription`` × the allowed CPUs.
  static func check(_ threads: Int, option: String = "--threads", topology: Topology = .shared) throws(CommandFailure) {
    let cpus = topology.allowedUnits.count
    guard threads <= oversubscription * cpus else {
      throw CommandFailure(
        "\(option) \(threads) is more than \(oversubscription) × the \(cpus) CPUs this process may use (at most \(oversubscription * cpus))"
      )
    }
  }

  /// Warnings for a thread count that cannot be used fully.
  static func warnings(threads: Int, batchSize: Int, topology: Topology = .shared) -> [String] {
    var warnings: [String] = []
    if threads > topology.allowedUnits.count {
      warnings.append(
        "--threads \(threads) is more than the \(topology.allowedUnits.count) CPUs this process may use: the cores are oversubscribed"
      )
    }
    if threads > batchSize {
      warnings.append(
        "--threads \(threads): a batch has only \(batchSize) samples, so at most \(batchSize) workers have work")
    }
    return warnings
  }

  /// The `--profile` report: execution mode, phase shares and CPUs per worker.
  static func profileText(_ trainer: Trainer) -> String {
    let profile = trainer.profile
    let shares = profile.shares
    func percent(_ share: Double) -> String { Report.fixed(100 * share, 1) + "%" }
    var text =
      "profile: \(trainer.workerCount) worker(s), \(trainer.executionMode), pinning \(trainer.plan.policy.rawValue)\n"
    if trainer.processes.isDistributed {
      text += "profile: \(trainer.processes.size) MPI ranks × \(trainer.workerCount) worker(s) each (this is rank 0)\n"
    }
    text += "profile: gradients \(trainer.strategy.rawValue) (\(trainer.strategyReason))\n"
    if let reason = trainer.fewerWorkersReason { text += "profile: \(reason) (--min-work-per-thread)\n" }
    text += "profile: BLAS \(BLASKernelChoice.description)\n"
    if let note = KernelWidthProbe.note { text += "profile: BLAS \(note)\n" }
    for line in convolutionKernels(trainer.model.spec) { text += "profile: \(line)\n" }
    text +=
      "profile: \(profile.steps) steps, \(Report.fixed(1000 * profile.secondsPerStep, 3)) ms per step: "
    text += "data \(percent(shares.data)), forward+backward \(percent(shares.compute)) (slowest worker; "
    text += "mean \(percent(profile.computeMeanSeconds / max(profile.wallSeconds, 1e-12))), "
    text += "waiting \(Report.fixed(1e6 * profile.waitPerStep, 1)) µs per step), "
    text += "reduce \(percent(shares.reduce)), "
    if trainer.processes.isDistributed { text += "across ranks (MPI) \(percent(shares.ranks)), " }
    text += "update \(percent(shares.update)), other \(percent(shares.other))\n"
    for (worker, cpus) in cpuSummary(trainer).enumerated() {
      let planned = trainer.plan.units[worker].map { "CPU \($0)" } ?? "unbound"
      text += "profile: worker \(worker) (\(planned)): ran on \(cpus)\n"
    }
    return text
  }

  /// One line per convolution: the kernels of its three passes.
  static func convolutionKernels(_ spec: ModelSpec) -> [String] {
    spec.layers.indices.compactMap { index in
      guard let layer = spec.layers[index] as? Convolution else { return nil }
      let input = spec.shapes[index]
      let names = layer.kernelNames(input: input)
      return "layer \(index + 1) \(layer) (--convolution \(ConvolutionKernels.selected)): forward \(names.forward), "
        + "input gradient \(names.inputGradient), weight gradient \(names.parameterGradient)"
    }
  }

  /// The profile as JSON, for `--json --profile`.
  static func profileJSON(_ trainer: Trainer) -> JSONValue {
    let profile = trainer.profile
    let shares = profile.shares
    return .object([
      ("execution", .string(trainer.executionMode.description)), ("pinning", .string(trainer.plan.policy.rawValue)),
      ("gradient_strategy", .string(trainer.strategy.rawValue)),
      ("gradient_strategy_reason", .string(trainer.strategyReason)),
      ("workers", .integer(trainer.workerCount)),
      ("fewer_workers_reason", trainer.fewerWorkersReason.map { .string($0) } ?? .null),
      ("blas", .string(BLASKernelChoice.description)), ("blas_narrower_than_cpu", KernelWidthProbe.json),
      ("convolutions", .array(convolutionKernels(trainer.model.spec).map { .string($0) })),
      ("steps", .integer(profile.steps)),
      ("seconds_per_step", .number(profile.secondsPerStep)),
      ("data_share", .number(shares.data)), ("forward_backward_share", .number(shares.compute)),
      ("reduce_share", .number(shares.reduce)), ("update_share", .number(shares.update)),
      ("other_share", .number(shares.other)),
      ("ranks", .integer(trainer.processes.size)), ("mpi_share", .number(shares.ranks)),
      ("wait_seconds_per_step", .number(profile.waitPerStep)),
      ("planned_cpus", .array(trainer.plan.units.map { $0.map { .integer($0) } ?? .null })),
      ("worker_cpus", .array(cpuSummary(trainer).map { .string($0) })),
    ])
  }

  /// For each worker, the CPUs its shards ran on over the recorded steps, as
  /// `CPU 3 (100% of 469 steps)`.
  static func cpuSummary(_ trainer: Trainer) -> [String] {
    let log = trainer.recordedCPUs()
    return (0..<trainer.workerCount).map { worker in
      var counts: [Int: Int] = [:]
      for step in log where step[worker] >= 0 { counts[step[worker], default: 0] += 1 }
      let total = counts.values.reduce(0, +)
      guard total > 0 else { return "no steps" }
      return counts.sorted { $0.value > $1.value }.prefix(4).map { cpu, count in
        "CPU \(cpu) (\(Report.fixed(100 * Double(count) / Double(total), 1))% of \(total) steps)"
      }.joined(separator: ", ")
    }
  }
}
