import CMPI
import Tensor

// Note [Node sums]: Open MPI's all-reduce between ranks of one node copies each bucket into its
// shared-memory transport, sums there and copies the sum back: 0.84-1.05 ms of CPU per 7.1 MB
// step here (a probe in an earlier session), on cores the workers need (2 ranks on 2 cores have
// none to spare). Through a window of shared memory the copies go away:
// - the plan's products write each rank's gradients straight into its segment (Note [Gradients
//   into the update's memory]);
// - at the bucket's first barrier every rank's gradients are written; each rank then sums its
//   slice (16-element aligned, so no cache line is written by two processes) over the segments
//   in node-rank order, so every element has one summation order whatever the timing;
// - at the second barrier the sums are complete, and every rank's updates read them in place.
// Per rank that is one pass over half the bucket instead of Open MPI's copies: the MLP's 2-rank
// step went from 35.4-35.9k to 42.2-43.2k samples/s at a per-rank batch of 256 (RESULTS.md).
// Reuse is safe without more barriers: a rank writes its segment again only in its next step,
// after its `finish` of this one, which waited for this bucket's second barrier, which every
// rank passed after summing its slice; the sums of a bucket are written again only after the
// next step's first barrier, which every rank reaches after reading them.
// With two ranks each element is `a + b` as MPI's all-reduce computes it, so results are bitwise
// those of `--node-sum allreduce` and of two hosts over TCP; with more ranks the order may differ
// from MPI's (within the documented tolerance, the same every run). Across nodes, rank 0 of each
// node all-reduces the node's sums with MPI (TCP, InfiniBand: whatever MPI uses between hosts).
// The barriers are tested like every collective (`Communicator.wait`: the poll pause, the
// timeout), so a dead or stopped peer ends the run with an error as before.

/// Sums gradient buckets over the ranks of one node through an MPI-3 shared-memory window
/// (`MPI_Win_allocate_shared`), and over nodes with MPI's all-reduce between one rank per node.
///
/// Every rank of the node owns a segment of the window that holds all of its buckets (its plan's
/// products write their gradients there); rank 0 of the node also holds the sums. To sum a bucket
/// the ranks meet at a barrier, each adds up its slice of the bucket over every rank's segment
/// (in node-rank order) into the sums, and they meet again; with several nodes, rank 0 of each
/// node then all-reduces the node's sums with the other nodes' before the second barrier. Every
/// rank reads the result where it is, in the sums. See Note [Node sums].
final class NodeSum<Scalar: TensorScalar>: @unchecked Sendable {
    // @unchecked Sendable: the pointers are fixed after init; what they point to is ordered by
    // the barriers (Note [Node sums]) and, within this process, by the reducer's monitor.

    /// This node's ranks, and (on rank 0 of each node, with several nodes) one rank per node.
    let node: Communicator
    let leaders: Communicator?
    /// Whether some ranks are on other nodes (then every rank of the node waits for the leaders).
    let severalNodes: Bool
    /// Each node rank's segment, and the sums (rank 0's, after its segment).
    let segments: [UnsafeMutablePointer<Scalar>]
    let sums: UnsafeMutablePointer<Scalar>
    /// Elements per segment.
    let count: Int
    private let window: MPI_Win

    /// This rank's segment: where its gradients go.
    var mine: UnsafeMutablePointer<Scalar> { segments[node.rank] }

    /// A window of `count` elements per rank of this rank's node, or nil when every rank is alone
    /// on its node (then MPI's all-reduce has nothing to copy through shared memory). Collective
    /// over `world`.
    static func make(world: Communicator, count: Int, datatype: MPIDatatype) throws -> NodeSum? {
        let node = try world.nodeCommunicator()
        // Every rank must take the same path: a rank alone on its node while others share one
        // still joins the leaders' all-reduce.
        let sharing = try world.allgather(Int32(node.size > 1 ? 1 : 0), what: "which ranks share a node")
        guard sharing.contains(1) else { node.free(); return nil }
        return try NodeSum(world: world, node: node, count: count, datatype: datatype)
    }

    private init(world: Communicator, node: Communicator, count: Int, datatype: MPIDatatype) throws {
        self.node = node
        self.count = count
        // One rank per node joins the leaders (only when some ranks are on other nodes).
        severalNodes = node.size < world.size
        if severalNodes {
            var split: MPI_Comm? = nil
            try world.check(MPI_Comm_split(world.comm, node.rank == 0 ? 0 : Int32(MPI_UNDEFINED), Int32(world.rank), &split),
                            "MPI_Comm_split", "one rank per node")
            if node.rank == 0, let split {
                MPI_Comm_set_errhandler(split, cmpi_errors_return())
                leaders = Communicator(sub: split, of: world)
            } else {
                leaders = nil
            }
        } else {
            leaders = nil
        }
        // Segments a whole number of pages apart, so no cache line is written by two processes.
        let unit = MemoryLayout<Scalar>.stride
        let padded = (count * unit + 4095) / 4096 * 4096
        let bytes = node.rank == 0 ? 2 * padded : padded
        var base: UnsafeMutableRawPointer? = nil
        var win: MPI_Win? = nil
        try withUnsafeMutablePointer(to: &base) { out in
            try node.check(MPI_Win_allocate_shared(MPI_Aint(bytes), Int32(unit), cmpi_info_null(), node.comm, out, &win),
                           "MPI_Win_allocate_shared", "a shared-memory window of \(Communicator.bytes(bytes)) for the gradient buckets")
        }
        guard let win else {
            throw node.error(.unavailable, "MPI_Win_allocate_shared returned no window (sum through MPI's all-reduce instead: nodeSums false, `--node-sum allreduce`)")
        }
        window = win
        MPI_Win_set_errhandler(win, cmpi_errors_return())
        var segments: [UnsafeMutablePointer<Scalar>] = []
        for r in 0..<node.size {
            var size: MPI_Aint = 0
            var disp: Int32 = 0
            var pointer: UnsafeMutableRawPointer? = nil
            try withUnsafeMutablePointer(to: &pointer) { out in
                try node.check(MPI_Win_shared_query(win, Int32(r), &size, &disp, out), "MPI_Win_shared_query", "node rank \(r)'s segment")
            }
            guard let pointer, Int(size) >= padded else {
                throw node.error(.unavailable, "node rank \(r)'s segment of the shared window is missing or short (\(size) bytes)")
            }
            segments.append(pointer.bindMemory(to: Scalar.self, capacity: padded / unit * (r == 0 ? 2 : 1)))
        }
        self.segments = segments
        sums = (UnsafeMutableRawPointer(segments[0]) + padded).assumingMemoryBound(to: Scalar.self)
        zero()
        // A passive-target epoch for the window's life: loads and stores, ordered by MPI_Win_sync
        // and the barriers.
        try node.check(MPI_Win_lock_all(Int32(MPI_MODE_NOCHECK), win), "MPI_Win_lock_all", "the gradient window")
    }

    /// Zeroes this rank's segment (and the sums on node rank 0).
    private func zero() {
        mine.initialize(repeating: 0, count: count)
        if node.rank == 0 { sums.initialize(repeating: 0, count: count) }
    }

    /// Sums elements `offset..<offset+count` of every rank's segment into `sums` (same range), on
    /// every rank of every node. Collective: every rank calls it for the same ranges in the same
    /// order. `pause` runs between tests of a barrier (see `Communicator.wait`).
    func sum(offset: Int, count: Int, datatype: MPIDatatype, what: String, pause: (() -> Void)?) throws {
        MPI_Win_sync(window)
        try node.barrier(what: "\(what): every rank's gradients written", pause: pause)
        MPI_Win_sync(window)
        let slice = Self.slice(count, part: node.rank, of: node.size)
        if !slice.isEmpty {
            Self.add(segments, from: offset + slice.lowerBound, count: slice.count, into: sums)
        }
        if severalNodes {
            // Rank 0 of each node all-reduces the node's sums with the other nodes' (the other
            // ranks of the node wait for it at the next barrier).
            MPI_Win_sync(window)
            try node.barrier(what: "\(what): the node's slices summed", pause: pause)
            MPI_Win_sync(window)
            try leaders?.allreduce(UnsafeMutableRawPointer(sums + offset), count: count, datatype: datatype, op: .sum,
                                   what: "\(what) between nodes", pause: pause)
        }
        MPI_Win_sync(window)
        try node.barrier(what: "\(what): summed", pause: pause)
        MPI_Win_sync(window)
    }

    /// Part `part` of `n` elements split `parts` ways, on 16-element (64-byte) boundaries.
    static func slice(_ n: Int, part: Int, of parts: Int) -> Range<Int> {
        func edge(_ p: Int) -> Int { p == parts ? n : min(n, (p * n / parts) & ~15) }
        return edge(part)..<edge(part + 1)
    }

    /// `into[j] = s₀[j] + s₁[j] + …` in segment order, for `count` elements from `start`;
    /// specialized so the loop vectorizes.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func add(_ segments: [UnsafeMutablePointer<Scalar>], from start: Int, count: Int, into sums: UnsafeMutablePointer<Scalar>) {
        let out = sums + start
        let first = segments[0] + start
        if segments.count == 1 {
            out.update(from: first, count: count)
            return
        }
        let second = segments[1] + start
        for j in 0..<count { out[j] = first[j] + second[j] }
        for s in segments.dropFirst(2) {
            let next = s + start
            for j in 0..<count { out[j] = out[j] + next[j] }
        }
    }

    /// Ends the window's epoch and frees it (collective over the node) and the communicators.
    /// Only when every rank of the node gets here (a normal end): a rank that stopped with an
    /// error leaves it to `MPI_Finalize` or to `MPI_Abort`.
    func free() throws {
        try node.barrier(what: "freeing the gradient window")
        MPI_Win_unlock_all(window)
        var w: MPI_Win? = window
        MPI_Win_free(&w)
        leaders?.free()
        node.free()
    }
}
