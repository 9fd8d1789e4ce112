import CHwloc
#if canImport(Glibc)
import Glibc
#endif

/// The machine as the scheduler sees it: cores, processing units, NUMA nodes and cache sizes,
/// read once through hwloc, plus the CPUs this process may run on.
///
/// The usable CPUs come from the calling thread's affinity mask (which reflects `taskset` and the
/// cgroup cpuset; inside a task, the worker's mask before it was pinned), not from the host's total: a container limited to two CPUs gets two workers.
/// When hwloc cannot load the topology, the counts fall back to the usable CPUs and the cache sizes
/// to what glibc reports (or common defaults), and `hwlocLoaded` is false.
///
/// ```swift
/// let topology = Topology.current()
/// print(topology.usableCores, topology.l2Bytes)
/// ```
public struct Topology: Sendable, CustomStringConvertible {
    /// OS indexes of the CPUs (processing units) this process may run on, ascending.
    public let usableCPUs: [Int]
    /// Physical cores on the host.
    public let cores: Int
    /// Cores with at least one usable CPU: the default worker count.
    public let usableCores: Int
    /// Processing units (hardware threads) on the host.
    public let processingUnits: Int
    /// NUMA nodes on the host (1 when unknown).
    public let numaNodes: Int
    /// Size in bytes of the level-1 data cache of one core.
    public let l1dBytes: Int
    /// Size in bytes of the level-2 cache of one core.
    public let l2Bytes: Int
    /// Size in bytes of one level-3 cache (shared by several cores).
    public let l3Bytes: Int
    /// Whether hwloc loaded the topology (binding workers needs it).
    public let hwlocLoaded: Bool
    /// The CPUs workers are bound to, in order: the first usable CPU of each usable core, then
    /// the remaining usable CPUs (second hardware threads). Worker `i` gets entry `i % count`.
    public let workerCPUs: [Int]

    /// Reads the topology now, with the calling thread's affinity as the usable set (on a worker
    /// thread: the affinity it had before the worker bound it to one CPU).
    public static func current() -> Topology {
        let usable = Pool.currentThreadWorker()?.originalCPUs ?? Affinity.currentCPUs()
        guard let hw = Hwloc.shared else { return Topology(fallbackUsable: usable) }
        return Topology(hwloc: hw, usable: usable)
    }

    public var description: String {
        "\(usableCPUs.count) usable CPUs on \(usableCores) cores (host: \(cores) cores, \(processingUnits) PUs, "
            + "\(numaNodes) NUMA nodes); L1d \(l1dBytes / 1024) KiB, L2 \(l2Bytes / 1024) KiB, L3 \(l3Bytes / 1024) KiB"
            + (hwlocLoaded ? "" : " (hwloc unavailable)")
    }

    private init(fallbackUsable usable: [Int]) {
        usableCPUs = usable
        cores = usable.count
        usableCores = usable.count
        processingUnits = usable.count
        numaNodes = 1
        l1dBytes = Topology.sysconfCache(Int32(_SC_LEVEL1_DCACHE_SIZE), default: 32 << 10)
        l2Bytes = Topology.sysconfCache(Int32(_SC_LEVEL2_CACHE_SIZE), default: 512 << 10)
        l3Bytes = Topology.sysconfCache(Int32(_SC_LEVEL3_CACHE_SIZE), default: 8 << 20)
        hwlocLoaded = false
        workerCPUs = usable
    }

    private init(hwloc hw: Hwloc, usable: [Int]) {
        let topo = hw.topology
        let usableSet = Set(usable)
        usableCPUs = usable
        cores = max(1, Int(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE)))
        processingUnits = max(1, Int(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PU)))
        numaNodes = max(1, Int(hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE)))
        func cacheSize(_ type: hwloc_obj_type_t, _ fallback: Int32, _ defaultBytes: Int) -> Int {
            if let obj = hwloc_get_obj_by_type(topo, type, 0), let attr = obj.pointee.attr {
                let size = Int(attr.pointee.cache.size)
                if size > 0 { return size }
            }
            return Topology.sysconfCache(fallback, default: defaultBytes)
        }
        l1dBytes = cacheSize(HWLOC_OBJ_L1CACHE, Int32(_SC_LEVEL1_DCACHE_SIZE), 32 << 10)
        l2Bytes = cacheSize(HWLOC_OBJ_L2CACHE, Int32(_SC_LEVEL2_CACHE_SIZE), 512 << 10)
        l3Bytes = cacheSize(HWLOC_OBJ_L3CACHE, Int32(_SC_LEVEL3_CACHE_SIZE), 8 << 20)
        hwlocLoaded = true

        // One CPU per usable core first, so workers spread over cores before sharing one.
        var first: [Int] = []
        var rest: [Int] = []
        var seen = Set<Int>()
        let coreCount = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE)
        for c in 0..<max(0, coreCount) {
            guard let core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, UInt32(c)),
                  let cpuset = core.pointee.cpuset else { continue }
            var pus: [Int] = []
            var bit = hwloc_bitmap_first(cpuset)
            while bit >= 0 {
                if usableSet.contains(Int(bit)) { pus.append(Int(bit)) }
                bit = hwloc_bitmap_next(cpuset, bit)
            }
            guard let head = pus.first else { continue }
            first.append(head)
            rest.append(contentsOf: pus.dropFirst())
            seen.formUnion(pus)
        }
        // CPUs hwloc did not place in a core (should not happen) still count as usable.
        rest.append(contentsOf: usable.filter { !seen.contains($0) })
        usableCores = max(1, first.count)
        workerCPUs = first.isEmpty ? usable : first + rest
    }

    private static func sysconfCache(_ name: Int32, default value: Int) -> Int {
        let v = sysconf(name)
        return v > 0 ? v : value
    }
}

/// The process-wide hwloc topology, loaded once.
///
/// `@unchecked Sendable`: after `hwloc_topology_load` the topology is only read; hwloc documents
/// concurrent read-only use, including the binding calls, as thread-safe.
final class Hwloc: @unchecked Sendable {
    let topology: hwloc_topology_t

    /// nil when hwloc cannot load the topology (the scheduler then runs unpinned).
    static let shared: Hwloc? = {
        var topo: hwloc_topology_t? = nil
        guard hwloc_topology_init(&topo) == 0, let topo else { return nil }
        guard hwloc_topology_load(topo) == 0 else {
            hwloc_topology_destroy(topo)
            return nil
        }
        return Hwloc(topo)
    }()

    private init(_ topology: hwloc_topology_t) { self.topology = topology }

    private static let threadFlag = Int32(HWLOC_CPUBIND_THREAD.rawValue)

    /// The calling thread's current binding (to restore later), or nil if it cannot be read.
    func threadBinding() -> hwloc_cpuset_t? {
        guard let set = hwloc_bitmap_alloc() else { return nil }
        if hwloc_get_cpubind(topology, set, Hwloc.threadFlag) != 0 {
            hwloc_bitmap_free(set)
            return nil
        }
        return set
    }

    /// Binds the calling thread to one CPU (OS index); false if the system refuses.
    func bindThread(toCPU cpu: Int) -> Bool {
        guard let set = hwloc_bitmap_alloc() else { return false }
        defer { hwloc_bitmap_free(set) }
        hwloc_bitmap_only(set, UInt32(cpu))
        return hwloc_set_cpubind(topology, set, Hwloc.threadFlag) == 0
    }

    /// Restores a binding returned by `threadBinding()` and frees it.
    func restoreThreadBinding(_ set: hwloc_cpuset_t) {
        _ = hwloc_set_cpubind(topology, set, Hwloc.threadFlag)
        hwloc_bitmap_free(set)
    }
}

/// The calling thread's CPU affinity and current CPU, read without hwloc.
///
/// glibc's `sched_getaffinity` and `sched_getcpu` are GNU extensions that Swift's Glibc module
/// does not import, so they are looked up once with `dlsym` (they are always present in glibc).
enum Affinity {
    private typealias GetAffinity = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
    private typealias GetCPU = @convention(c) () -> Int32

    private static let getAffinity: GetAffinity? = symbol("sched_getaffinity")
    private static let getCPU: GetCPU? = symbol("sched_getcpu")

    private static func symbol<F>(_ name: String) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, name) else { return nil }
        return unsafeBitCast(sym, to: F.self)
    }

    /// OS indexes of the CPUs the calling thread may run on (all online CPUs if unknown).
    static func currentCPUs() -> [Int] {
        var cpus: [Int] = []
        if let getAffinity {
            var mask = [UInt8](repeating: 0, count: 1024 / 8)   // room for 1024 CPUs, like cpu_set_t
            let ok = mask.withUnsafeMutableBytes { getAffinity(0, $0.count, $0.baseAddress!) } == 0
            if ok {
                for (byteIndex, byte) in mask.enumerated() where byte != 0 {
                    for bit in 0..<8 where byte & (1 << bit) != 0 { cpus.append(byteIndex * 8 + bit) }
                }
            }
        }
        if cpus.isEmpty {
            let n = max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN)))
            cpus = Array(0..<n)
        }
        return cpus
    }

    /// The CPU the calling thread is running on now (-1 if unknown).
    @inline(__always) static func currentCPU() -> Int {
        guard let getCPU else { return -1 }
        return Int(getCPU())
    }
}
