import Synchronization

/// One worker of a pool: its deque and the state only its own thread touches.
final class Worker: @unchecked Sendable {
    // @unchecked Sendable: `deque` is thread-safe; every other var is touched only by this
    // worker's thread (after `start` hands the object to it).
    private let pad0 = CacheLinePad()   // the fields below are written by this worker's thread
    let index: Int
    unowned(unsafe) let pool: Pool   // the pool owns its workers and outlives their threads
    let deque = WorkStealingDeque(capacity: 1024)
    var rng: UInt64
    var scratch: UnsafeMutablePointer<Int32>
    var scratchCapacity = 64
    /// While an observed task runs on this worker: its run's observers (which name its graph) and
    /// its index, what the pieces of a `parallelFor` it calls report.
    var observers: ObserverList? = nil
    var currentTask = -1
    /// The CPUs this thread could run on before the worker bound it: what `Topology.current()`
    /// reports from inside a task (an executor created there must not see one CPU only).
    var originalCPUs: [Int] = []
    /// Ended units not yet subtracted from `creditRun.outstanding` (Note [Unit credit]). The run
    /// cannot finish while credit is held, so the pointer stays valid. A raw pointer, not a
    /// reference: reading a reference retains it, and that count is shared with other workers.
    var creditRun: UnsafeMutableRawPointer? = nil
    var credit = 0
    private let pad1 = CacheLinePad()   // keep the next object's fields off our last line

    init(index: Int, pool: Pool) {
        self.index = index
        self.pool = pool
        rng = 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)
        scratch = .allocate(capacity: scratchCapacity)
    }

    deinit { scratch.deallocate() }

    @inline(__always)
    func ensureScratch(_ n: Int) {
        if n > scratchCapacity {
            scratch.deallocate()
            scratchCapacity = max(n, scratchCapacity * 2)
            scratch = .allocate(capacity: scratchCapacity)
        }
    }

    /// One unit of `run` ended on this worker: keep it as credit (Note [Unit credit]).
    @inline(__always)
    func endUnit(_ run: RunState) {
        let id = Worker.identity(run)
        if creditRun != id {
            settleCredit()
            creditRun = id
        }
        credit += 1
    }

    @inline(__always)
    static func identity(_ run: RunState) -> UnsafeMutableRawPointer {
        Unmanaged.passUnretained(run).toOpaque()
    }

    /// Whether this worker holds credit for a run other than `run`.
    @inline(__always)
    func holdsCredit(otherThan run: RunState) -> Bool {
        creditRun != nil && creditRun != Worker.identity(run)
    }

    /// About to push `count` items of `run`: pay with credit, add only the shortfall. The add
    /// comes before the pushes, so no thief can end these units first.
    @inline(__always)
    func reserveUnits(_ count: Int, of run: RunState) {
        var missing = count
        if creditRun == Worker.identity(run) {
            let paid = min(credit, count)
            credit -= paid
            missing -= paid
        }
        // Relaxed is enough: the add is sequenced before the pushes that let other workers end
        // these units, so it precedes their subtractions in the counter's modification order.
        if missing > 0 { run.outstanding.wrappingAdd(missing, ordering: .relaxed) }
    }

    /// Gives back unspent credit; may finish the run. Called when this worker runs out of work
    /// and before it turns to another run or loop.
    @inline(__always)
    func settleCredit() {
        guard let id = creditRun else { return }
        let c = credit
        creditRun = nil
        credit = 0
        if c > 0 { Unmanaged<RunState>.fromOpaque(id)._withUnsafeGuaranteedRef { $0.endUnits(c) } }
    }

    @inline(__always)
    func nextRandom() -> Int {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
        return Int(truncatingIfNeeded: rng >> 1)
    }
}
