// The one file that talks to hwloc: the machine's topology and thread binding.
import CHwloc

/// The machine as hwloc sees it, restricted to what this process may use, and
/// thread binding to its processing units.
///
/// Loaded once per process (``Topology/shared``). "Allowed" means in hwloc's
/// allowed set (cgroup cpusets, container limits) and in the process's CPU
/// affinity (`taskset`), so a plan never binds to a disallowed unit.
public final class Topology: @unchecked Sendable {
  // @unchecked Sendable: the hwloc topology is read-only after loading, and
  // hwloc documents concurrent read-only use and binding calls as thread-safe.

  /// A processing unit (hardware thread) and where it sits.
  public struct ProcessingUnit: Sendable, Hashable {
    /// The operating system's number for it (what `taskset` and `sched_getcpu` use).
    public let osIndex: Int
    /// The logical index of its physical core.
    public let core: Int
    /// The logical index of its package (socket).
    public let package: Int
    /// The logical index of its NUMA node.
    public let numaNode: Int

    /// Describes a processing unit (for plans on other machines or subsets).
    public init(osIndex: Int, core: Int, package: Int, numaNode: Int) {
      self.osIndex = osIndex
      self.core = core
      self.package = package
      self.numaNode = numaNode
    }
  }

  /// A cache level and how many of it there are.
  public struct Cache: Sendable, Hashable {
    /// 1, 2, 3…
    public let level: Int
    /// Bytes per cache.
    public let size: Int
    /// How many caches of that level.
    public let count: Int
  }

  /// Every processing unit this process may use, in hwloc's order.
  public let allowedUnits: [ProcessingUnit]
  /// The number of packages, NUMA nodes, cores and processing units in the machine.
  public let packages: Int, numaNodes: Int, cores: Int, processingUnits: Int
  /// The data and unified caches, by level.
  public let caches: [Cache]

  private let handle: hwloc_topology_t

  /// The topology of this machine, loaded on first use.
  public static let shared: Topology = Topology()

  private init() {
    var topology: hwloc_topology_t? = nil
    // Not inside a precondition: -Ounchecked would drop the call.
    let initialized = hwloc_topology_init(&topology)
    let loaded = initialized == 0 ? hwloc_topology_load(topology) : -1
    precondition(initialized == 0 && loaded == 0, "hwloc could not load the machine's topology")
    let handle = topology!
    self.handle = handle

    let allowed = hwloc_bitmap_dup(hwloc_topology_get_allowed_cpuset(handle))!
    let process = hwloc_bitmap_alloc()!
    if hwloc_get_cpubind(handle, process, Int32(HWLOC_CPUBIND_PROCESS.rawValue)) == 0 {
      hwloc_bitmap_and(allowed, allowed, process)
    }
    defer {
      hwloc_bitmap_free(allowed)
      hwloc_bitmap_free(process)
    }

    func count(_ type: hwloc_obj_type_t) -> Int { Int(max(hwloc_get_nbobjs_by_type(handle, type), 0)) }
    packages = max(count(HWLOC_OBJ_PACKAGE), 1)
    numaNodes = max(count(HWLOC_OBJ_NUMANODE), 1)
    cores = count(HWLOC_OBJ_CORE)
    processingUnits = count(HWLOC_OBJ_PU)

    var units: [ProcessingUnit] = []
    for index in 0..<processingUnits {
      guard let pu = hwloc_get_obj_by_type(handle, HWLOC_OBJ_PU, UInt32(index)) else { continue }
      let osIndex = Int(pu.pointee.os_index)
      guard hwloc_bitmap_isset(allowed, UInt32(osIndex)) != 0 else { continue }
      var numa = 0
      for node in 0..<count(HWLOC_OBJ_NUMANODE) {
        if let object = hwloc_get_obj_by_type(handle, HWLOC_OBJ_NUMANODE, UInt32(node)),
          hwloc_bitmap_isset(object.pointee.cpuset, UInt32(osIndex)) != 0
        {
          numa = node
          break
        }
      }
      units.append(
        ProcessingUnit(
          osIndex: osIndex, core: Topology.ancestor(of: pu, type: HWLOC_OBJ_CORE) ?? index,
          package: Topology.ancestor(of: pu, type: HWLOC_OBJ_PACKAGE) ?? 0, numaNode: numa))
    }
    allowedUnits = units

    var caches: [Cache] = []
    for (level, type) in [(1, HWLOC_OBJ_L1CACHE), (2, HWLOC_OBJ_L2CACHE), (3, HWLOC_OBJ_L3CACHE)] {
      let number = count(type)
      guard number > 0, let first = hwloc_get_obj_by_type(handle, type, 0), let attributes = first.pointee.attr
      else { continue }
      caches.append(Cache(level: level, size: Int(attributes.pointee.cache.size), count: number))
    }
    self.caches = caches
  }

  deinit { hwloc_topology_destroy(handle) }

  private static func ancestor(of object: hwloc_obj_t, type: hwloc_obj_type_t) -> Int? {
    var current = object.pointee.parent
    while let node = current {
      if node.pointee.type == type { return Int(node.pointee.logical_index) }
      current = node.pointee.parent
    }
    return nil
  }

  /// The number of physical cores with at least one allowed processing unit.
  public var allowedCores: Int { Set(allowedUnits.map(\.core)).count }

  /// The CPU the calling thread is running on now (`sched_getcpu`).
  public static func currentCPU() -> Int { Int(sched_getcpu()) }

  /// A thread's CPU affinity, saved to be restored later.
  public final class Binding: @unchecked Sendable {
    // @unchecked Sendable: used by the one thread that saved it.
    fileprivate let set: hwloc_bitmap_t
    fileprivate init(_ set: hwloc_bitmap_t) { self.set = set }
    deinit { hwloc_bitmap_free(set) }
  }

  /// The calling thread's current CPU affinity.
  public func currentThreadBinding() -> Binding {
    let set = hwloc_bitmap_alloc()!
    if hwloc_get_cpubind(handle, set, Int32(HWLOC_CPUBIND_THREAD.rawValue)) != 0 {
      hwloc_bitmap_copy(set, hwloc_topology_get_allowed_cpuset(handle))
    }
    return Binding(set)
  }

  /// Binds the calling thread to the processing unit `osIndex`, unless it is
  /// bound there already (the check is cheaper than a move).
  ///
  /// - Parameter scratch: a binding object the call may overwrite (so that
  ///   the hot path allocates nothing).
  /// - Returns: whether the thread is now bound to that unit.
  @discardableResult
  public func bindCurrentThread(toUnit osIndex: Int, scratch: Binding) -> Bool {
    if hwloc_get_cpubind(handle, scratch.set, Int32(HWLOC_CPUBIND_THREAD.rawValue)) == 0,
      hwloc_bitmap_weight(scratch.set) == 1, hwloc_bitmap_isset(scratch.set, UInt32(osIndex)) != 0
    {
      return true
    }
    hwloc_bitmap_only(scratch.set, UInt32(osIndex))
    return hwloc_set_cpubind(handle, scratch.set, Int32(HWLOC_CPUBIND_THREAD.rawValue)) == 0
  }

  /// The OS indexes of the processing units the calling thread may run on.
  public func currentThreadUnits() -> [Int] {
    let binding = currentThreadBinding()
    var units: [Int] = []
    var index = hwloc_bitmap_first(binding.set)
    while index >= 0 {
      units.append(Int(index))
      index = hwloc_bitmap_next(binding.set, index)
    }
    return units
  }

  /// Gives the calling thread back an affinity saved by ``currentThreadBinding()``.
  public func restoreCurrentThread(_ binding: Binding) {
    _ = hwloc_set_cpubind(handle, binding.set, Int32(HWLOC_CPUBIND_THREAD.rawValue))
  }
}
