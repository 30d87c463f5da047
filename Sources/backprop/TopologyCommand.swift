import ArgumentParser
import Backprop

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `backprop topology`: the machine as hwloc sees it and the binding plan.
struct TopologyCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "topology",
    abstract: "Show the machine's topology (as hwloc sees it) and where workers would run.",
    discussion: """
      Examples:
        backprop topology
        backprop topology --threads 8 --pin spread --json
      """)

  @OptionGroup var threads: ThreadOptions
  @Option(help: "Worker placement: compact, spread or none.")
  var pin: PinningPolicy = .compact
  @Flag(help: "Print one JSON object.")
  var json = false

  func run() throws {
    let topology = Topology.shared
    let workers = threads.count
    let plan = BindingPlan(workers: workers, policy: pin, topology: topology)
    if json {
      let object = JSONValue.object([
        ("packages", .integer(topology.packages)), ("numa_nodes", .integer(topology.numaNodes)),
        ("cores", .integer(topology.cores)), ("processing_units", .integer(topology.processingUnits)),
        ("allowed_cores", .integer(topology.allowedCores)),
        (
          "allowed_processing_units",
          .array(
            topology.allowedUnits.map { unit in
              .object([
                ("os_index", .integer(unit.osIndex)), ("core", .integer(unit.core)),
                ("package", .integer(unit.package)), ("numa_node", .integer(unit.numaNode)),
              ])
            })
        ),
        (
          "caches",
          .array(
            topology.caches.map { cache in
              .object([
                ("level", .integer(cache.level)), ("size", .integer(cache.size)), ("count", .integer(cache.count)),
              ])
            })
        ),
        ("threads", .integer(workers)), ("pin", .string(pin.rawValue)),
        ("oversubscribed", .bool(plan.isOversubscribed)),
        ("plan", .array(plan.units.map { $0.map { .integer($0) } ?? .null })),
        ("ranks", .array(rankBindings(topology, plan).map { .string($0) })),
        (
          "blas",
          .object([
            ("configuration", .string(BLASKernels.current.configuration)),
            ("kernels", .string(BLASKernels.current.core)),
            ("faster_kernels", BLASKernels.current.fasterCoreType.map { .string($0) } ?? .null),
            ("narrower_than_cpu", KernelWidthProbe.json),
          ])
        ),
      ])
      writeStandardOutput(object.serialized() + "\n")
      return
    }
    var text = "machine: \(topology.packages) package(s), \(topology.numaNodes) NUMA node(s), "
    text += "\(topology.cores) core(s), \(topology.processingUnits) processing unit(s)\n"
    for cache in topology.caches {
      text += "cache: L\(cache.level) \(cache.size / 1024) KiB × \(cache.count)\n"
    }
    text += "allowed: \(topology.allowedUnits.count) processing unit(s) on \(topology.allowedCores) core(s): "
    text +=
      topology.allowedUnits.map { "CPU \($0.osIndex) (core \($0.core), package \($0.package), node \($0.numaNode))" }
      .joined(separator: ", ") + "\n"
    text += "blas: \(BLASKernelChoice.description)\n"
    if let note = KernelWidthProbe.note { text += "blas: \(note)\n" }
    if Ranks.group.isDistributed {
      for line in rankBindings(topology, plan) { text += "\(line)\n" }
    }
    text += "plan: \(workers) worker(s), pinning \(pin.rawValue)"
    text += plan.isOversubscribed ? " (oversubscribed: more workers than allowed CPUs)\n" : "\n"
    for (worker, unit) in plan.units.enumerated() {
      text += "  worker \(worker) → \(unit.map { "CPU \($0)" } ?? "unbound")\n"
    }
    writeStandardOutput(text)
  }

  /// Under `mpirun`, one line per rank (gathered on rank 0): its host, the
  /// CPUs `mpirun` bound it to, and where its workers would run.
  func rankBindings(_ topology: Topology, _ plan: BindingPlan) -> [String] {
    guard Ranks.group.isDistributed else { return [] }
    var host = [CChar](repeating: 0, count: 256)
    gethostname(&host, host.count - 1)
    let cpus = topology.allowedUnits.map { String($0.osIndex) }.joined(separator: ",")
    let workers = plan.units.map { $0.map { "CPU \($0)" } ?? "unbound" }.joined(separator: ", ")
    return Ranks.group.gather(
      "rank \(Ranks.group.rank) on \(String(cString: host)): bound to CPUs \(cpus); workers → \(workers)")
  }
}
