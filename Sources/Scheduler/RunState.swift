import Dispatch
import Synchronization

/// The state of one run of a compiled graph: join counters, the count of live work units, the
/// first error, the cancel flag and the waiter. The graph itself stays immutable, so the same
/// compiled graph can run again, or concurrently, each run with its own `RunState`.
///
/// Note [Counting live units]
/// A *unit* is one work item being executed: a task popped or stolen (it then runs a strand:
/// the task, then inline the last successor it made ready, and so on) or a claim of roots.
/// `outstanding` counts units not yet finished: items in deques and queues plus units running.
/// A unit that makes k more successors ready pushes them and adds k to `outstanding` *before*
/// pushing (so a thief can never finish one and see the count reach zero early); a unit that
/// ends subtracts one. Chains never touch it; fan-outs touch it once per fan-out, not per task.
/// The subtraction that reaches zero is the end of the run: it is acquire-release, so the
/// finisher has seen every task's writes, and it publishes the result with a release store of
/// `finished` (and a semaphore signal) to the waiter.
///
/// Note [Unit credit]
/// Touching `outstanding` for every push and every unit end would make it a hot shared counter
/// (tree and wavefront graphs push about once per two tasks). Instead a worker keeps the ends of
/// its units for one run as local *credit* and spends that credit on its next pushes for the same
/// run; only a shortfall is added to `outstanding`, and leftover credit is subtracted when the
/// worker runs out of work or turns to another run or loop. So `outstanding` = live units +
/// unspent credit >= live units, and it reaches zero only when both are zero: never early, and
/// at the latest when the last worker holding credit goes idle. See `Worker.endUnit`.
final class RunState: @unchecked Sendable {
    // @unchecked Sendable: shared fields are atomics or behind Locks; `slot` and the pointers are
    // written before the run is published (its first item pushed) and only read afterwards; the
    // join counters are atomics.
    static let running = 0, failed = 1, cancelled = 2, completed = 3

    let graph: CompiledGraph
    let joins: UnsafeMutablePointer<Atomic<Int32>>
    // The graph's arrays, copied here so the hot loop reads them through this (unretained) run
    // instead of retaining the shared CompiledGraph per strand: that reference count would be a
    // contended cache line between workers.
    let succOffsets: UnsafePointer<Int32>
    let successors: UnsafePointer<Int32>
    let successorJoin: UnsafePointer<Int32>
    let bodies: UnsafePointer<TaskBody>
    let roots: UnsafePointer<Int32>
    let rootTotal: Int
    let maxOutDegree: Int
    /// Told about each task; nil when nobody observes (the workers' one branch per task).
    let observers: ObserverList?
    let pool: Pool
    var slot = -1   // -1: never registered (the table was full)

    let status = Atomic<Int>(RunState.running)
    private let pad0 = CacheLinePad()   // keep the counters off the line of status and pointers
    let outstanding = Atomic<Int>(1)   // the first claim-roots unit
    private let pad1 = CacheLinePad()
    let rootNext = Atomic<Int>(0)
    private let pad2 = CacheLinePad()
    let finished = Atomic<Bool>(false)
    private let error = Lock<(any Error)?>(nil)
    /// The result once finished, and until then the callbacks waiting for it (`whenFinished`).
    private let outcome = Lock<(result: Result<Void, any Error>?, callbacks: [@Sendable (Result<Void, any Error>) -> Void])>((nil, []))
    private let semaphore = DispatchSemaphore(value: 0)

    init(graph: CompiledGraph, observers: ObserverList?, pool: Pool) {
        self.graph = graph
        succOffsets = UnsafePointer(graph.succOffsets)
        successors = UnsafePointer(graph.successorList)
        successorJoin = UnsafePointer(graph.successorJoin)
        bodies = graph.bodies
        roots = UnsafePointer(graph.roots)
        rootTotal = graph.rootTotal
        maxOutDegree = graph.maxOutDegree
        self.observers = observers
        self.pool = pool
        let n = graph.joinTotal
        joins = .allocate(capacity: max(n, 1))
        let initial = graph.joinInit
        for i in 0..<n { (joins + i).initialize(to: Atomic(initial[i])) }
    }

    deinit {
        joins.deinitialize(count: graph.joinTotal)
        joins.deallocate()
    }

    /// Records the first error and stops the run from starting more tasks.
    func fail(_ e: any Error) {
        // The CAS decides the one first error; later errors (and a later cancel) are dropped.
        if status.compareExchange(expected: RunState.running, desired: RunState.failed,
                                  ordering: .acquiringAndReleasing).exchanged {
            error.withLock { $0 = e }
        }
    }

    /// Asks the run to stop: tasks not yet started are skipped. No effect once finished or failed.
    func cancel() {
        _ = status.compareExchange(expected: RunState.running, desired: RunState.cancelled,
                                   ordering: .acquiringAndReleasing)
    }

    /// Ends `count` units (see Note [Counting live units]).
    @inline(__always)
    func endUnits(_ count: Int) {
        // wrappingSubtract compiles to one `lock xadd`; the checked `subtract` is a CAS loop.
        if outstanding.wrappingSubtract(count, ordering: .acquiringAndReleasing).oldValue == count { complete() }
    }

    private func complete() {
        let previous = status.compareExchange(expected: RunState.running, desired: RunState.completed,
                                              ordering: .acquiringAndReleasing).original
        let result: Result<Void, any Error>
        switch previous {
        case RunState.running: result = .success(())
        case RunState.failed: result = .failure(error.withLock { $0 } ?? SchedulerError.cancelled)
        default: result = .failure(SchedulerError.cancelled)
        }
        if let observers {   // every task's end happened before (the acquire-release above)
            switch result {
            case .success: observers.runDidEnd(graph, error: nil)
            case .failure(let e): observers.runDidEnd(graph, error: e)
            }
        }
        // The table's reference may be the one keeping `self` alive: hold our own until the end.
        let keep = Unmanaged.passRetained(self)
        defer { keep.release() }
        // First the slot (no item of this run exists any more, so nobody looks it up again), so
        // that a caller whose wait returns finds it free: Note [A full run table].
        if slot >= 0 { pool.table.unregister(slot) }
        let callbacks = outcome.withLock { state in
            state.result = result
            defer { state.callbacks = [] }
            return state.callbacks
        }
        finished.store(true, ordering: .releasing)   // pairs with the waiter's acquire
        semaphore.signal()
        for callback in callbacks { callback(result) }
    }

    /// The result; only after `finished`.
    var result: Result<Void, any Error> { outcome.withLock { $0.result } ?? .failure(SchedulerError.cancelled) }

    /// Calls `callback` with the result once the run finished: at once (on the calling thread) if
    /// it has, else on the thread that finishes it. Never blocks; how async waits resume.
    func whenFinished(_ callback: @escaping @Sendable (Result<Void, any Error>) -> Void) {
        let done: Result<Void, any Error>? = outcome.withLock { state in
            if let result = state.result { return result }
            state.callbacks.append(callback)
            return nil
        }
        if let done { callback(done) }
    }

    // Note [Acquiring the end of an async run]: an async wait resumes through a continuation that
    // the finishing worker resumes after storing `finished` (release). The Swift runtime orders the
    // resumed code after the resume, but ThreadSanitizer does not see that ordering on every path
    // (probably the one where the run ends before the waiting task has suspended, which then goes
    // on without being enqueued): reading what the run's tasks wrote (an optimizer's step count
    // the trainer then advances) was reported as a race in about one run in three of the async
    // training tests. The waiter now loads `finished` with acquire once resumed, as the blocking
    // `block()` does: a synchronizes-with edge of our own, on every path, at one load per run.

    /// Makes everything the run's tasks did visible to the caller (and to ThreadSanitizer): an
    /// acquire of `finished`, which `complete()` stores before any callback runs. Call after the
    /// run finished (an async wait that resumed).
    func acquireFinish() {
        _ = finished.load(ordering: .acquiring)
    }

    /// Blocks the calling (non-worker) thread until the run finished: spins briefly (short runs
    /// end within microseconds), then sleeps on the semaphore.
    func block() {
        for _ in 0..<2000 {
            if finished.load(ordering: .acquiring) { return }
            Pool.cpuRelax()
        }
        semaphore.wait()
        semaphore.signal()   // let any other waiter through too
    }
}
