import Synchronization

/// The table of runs in progress on a pool, so a work item can name its run in a few bits.
///
/// Work items are single machine words (the Chase-Lev deque stores words); a task item carries a
/// slot of this table and the task's index instead of a pointer plus an index, so the executor
/// never allocates per task. See `WorkItem`.
///
/// Note [A full run table]
/// The table has `capacity` slots (65,536 for `shared`, the one every executor uses). A run takes
/// a slot when it is submitted and gives it back when it ends, so the table is full only with
/// that many runs in progress at once. `register` then returns nil and the run fails at once with
/// `SchedulerError.tooManyRuns`: it neither spins nor blocks. (Blocking would need a waiter that
/// is not a worker, and a task that starts a nested run on a worker cannot wait for a slot that
/// only other runs on the same workers free; failing is what cannot hang.) A caller that starts
/// runs without bound limits how many it keeps in flight, or retries after some finished: a run
/// gives its slot back before its waiters wake, so a slot is free when a `wait()` returns.
final class RunTable: @unchecked Sendable {
    // @unchecked Sendable: slots are atomics; the free list is behind a Lock.
    static let shared = RunTable(capacity: 1 << WorkItem.slotBits)

    /// Number of slots: runs that can be in progress at once.
    let capacity: Int
    private let slots: UnsafeMutablePointer<Atomic<Int>>
    private let free: Lock<[Int32]>

    /// A table of `capacity` slots (at most `1 << WorkItem.slotBits`: a slot must fit a work item).
    init(capacity: Int) {
        precondition(capacity >= 1 && capacity <= 1 << WorkItem.slotBits, "RunTable: capacity \(capacity) out of range")
        self.capacity = capacity
        slots = .allocate(capacity: capacity)
        for i in 0..<capacity { (slots + i).initialize(to: Atomic(0)) }
        free = Lock(Array((0..<Int32(capacity)).reversed()))
    }

    deinit {
        slots.deinitialize(count: capacity)
        slots.deallocate()
    }

    /// Registers `run` (retaining it) and returns its slot, or nil if every slot is taken
    /// (Note [A full run table]).
    func register(_ run: RunState) -> Int? {
        guard let slot = free.withLock({ $0.popLast() }) else { return nil }
        let bits = Int(bitPattern: Unmanaged.passRetained(run).toOpaque())
        // Release: the run's fields are initialized before its slot can be read; readers also get
        // it through the work item's own publication (deque push / queue lock).
        slots[Int(slot)].store(bits, ordering: .releasing)
        return Int(slot)
    }

    /// The run in `slot`; valid while any of its work items exist.
    @inline(__always)
    func run(at slot: Int) -> Unmanaged<RunState> {
        // Acquire pairs with the release in `register` (free on x86-64).
        let bits = slots[slot].load(ordering: .acquiring)
        return Unmanaged.fromOpaque(UnsafeRawPointer(bitPattern: bits).unsafelyUnwrapped)
    }

    /// Frees `slot` and drops the table's reference to its run; after the run's last unit ended.
    func unregister(_ slot: Int) {
        let bits = slots[slot].exchange(0, ordering: .acquiringAndReleasing)
        free.withLock { $0.append(Int32(slot)) }
        Unmanaged<RunState>.fromOpaque(UnsafeRawPointer(bitPattern: bits).unsafelyUnwrapped).release()
    }
}

/// The encoding of work items, one machine word each.
///
/// - kind 0, a task: `index << 18 | slot << 2`
/// - kind 1, claim roots of a run: `slot << 2 | 1`
/// - kind 2, help with a `parallelFor`: a retained `ParallelForJob` pointer `| 2` (objects are
///   16-byte aligned, so the low bits are free)
enum WorkItem {
    static let slotBits = 16
    static let kindMask = 3
    static let taskKind = 0, rootsKind = 1, loopKind = 2

    @inline(__always) static func task(_ index: Int, slot: Int) -> Int { index << (slotBits + 2) | slot << 2 }
    @inline(__always) static func roots(slot: Int) -> Int { slot << 2 | rootsKind }
    @inline(__always) static func slot(_ item: Int) -> Int { (item >> 2) & ((1 << slotBits) - 1) }
    @inline(__always) static func taskIndex(_ item: Int) -> Int { item >> (slotBits + 2) }
}
