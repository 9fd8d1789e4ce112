import CMPI

#if canImport(Glibc)
import Glibc
#endif

extension Communicator {
    /// The ranks on this rank's node (`MPI_COMM_TYPE_SHARED`): this rank's index among them and
    /// their number.
    public func nodeRanks() throws -> (rank: Int, size: Int) {
        let node = try nodeCommunicator()
        defer { node.free() }
        return (node.rank, node.size)
    }

    /// The CPUs this rank's workers should use when MPI left every rank of a node free to run
    /// anywhere (`mpirun --bind-to none`): the node's CPUs split into equal contiguous slices,
    /// one per rank of the node, in node-rank order. nil when the ranks of the node were given
    /// different CPU sets (MPI's or the user's binding: keep it) or when this rank is alone on
    /// its node. A pool created with this affinity (`withThreadAffinity`) pins its workers
    /// inside the slice, so the pools of ranks sharing a node do not pin to the same cores.
    public func cpuShareOnNode() throws -> [Int]? {
        let node = try nodeCommunicator()
        defer { node.free() }
        guard node.size > 1 else { return nil }
        let cpus = ThreadAffinity.current()
        var f = Fingerprint()
        f.add(cpus)
        let all = try node.allgather(f.value, what: "the CPU sets of the ranks on this node")
        guard all.allSatisfy({ $0 == all[0] }), cpus.count >= node.size else { return nil }
        return Array(cpus[(node.rank * cpus.count / node.size)..<((node.rank + 1) * cpus.count / node.size)])
    }

    /// Runs `body` with the calling thread allowed only `cpus` (OS indexes), then restores its
    /// affinity: threads and pools created inside start from that set. Runs `body` unchanged if
    /// the system refuses.
    public static func withThreadAffinity<R>(_ cpus: [Int], _ body: () throws -> R) rethrows -> R {
        let saved = ThreadAffinity.current()
        guard ThreadAffinity.set(cpus) else { return try body() }
        defer { _ = ThreadAffinity.set(saved) }
        return try body()
    }

    /// Frees a communicator made by `nodeCommunicator` or a split (not the world's).
    func free() {
        var c: MPI_Comm? = comm
        MPI_Comm_free(&c)
    }

    /// This rank's node, as a communicator of its own (free it with `free()`).
    func nodeCommunicator() throws -> Communicator {
        var node: MPI_Comm? = nil
        try check(MPI_Comm_split_type(comm, Int32(MPI_COMM_TYPE_SHARED), Int32(rank), cmpi_info_null(), &node),
                  "MPI_Comm_split_type", "the ranks of this node")
        guard let node else { throw error(.unavailable, "MPI_Comm_split_type returned no communicator") }
        MPI_Comm_set_errhandler(node, cmpi_errors_return())
        return Communicator(sub: node, of: self)
    }
}

/// The calling thread's CPU affinity (glibc's `sched_getaffinity` / `sched_setaffinity`, looked up
/// with `dlsym`: Swift's Glibc module does not import these GNU extensions).
enum ThreadAffinity {
    private typealias Call = @convention(c) (Int32, Int, UnsafeMutableRawPointer) -> Int32
    private static let get: Call? = symbol("sched_getaffinity")
    private static let put: Call? = symbol("sched_setaffinity")

    private static func symbol<F>(_ name: String) -> F? {
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, name) else { return nil }
        return unsafeBitCast(sym, to: F.self)
    }

    /// OS indexes of the CPUs the calling thread may run on (empty if unknown).
    static func current() -> [Int] {
        guard let get else { return [] }
        var mask = [UInt8](repeating: 0, count: 128)   // 1024 CPUs, like cpu_set_t
        guard mask.withUnsafeMutableBytes({ get(0, $0.count, $0.baseAddress!) }) == 0 else { return [] }
        var cpus: [Int] = []
        for (i, byte) in mask.enumerated() where byte != 0 {
            for bit in 0..<8 where byte & (1 << bit) != 0 { cpus.append(i * 8 + bit) }
        }
        return cpus
    }

    /// Restricts the calling thread to `cpus`; false if refused (or `cpus` is empty).
    static func set(_ cpus: [Int]) -> Bool {
        guard let put, !cpus.isEmpty, cpus.allSatisfy({ $0 >= 0 && $0 < 1024 }) else { return false }
        var mask = [UInt8](repeating: 0, count: 128)
        for c in cpus { mask[c / 8] |= 1 << (c % 8) }
        return mask.withUnsafeMutableBytes { put(0, $0.count, $0.baseAddress!) } == 0
    }
}
