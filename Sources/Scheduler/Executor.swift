import Synchronization

/// Runs compiled task graphs on a pool of worker threads, one per usable core by default, each
/// pinned to its core, with work stealing between them.
///
/// A run starts from the graph's roots; a task that finishes releases its successors, runs the
/// last one that became ready itself (no queue round trip) and pushes the others to its own
/// deque, where idle workers steal them. Several runs, of one or several graphs, can be in
/// progress at once. Tasks can split work with `parallelFor` onto the same pool, or run and wait
/// for sub-graphs: a worker that waits helps with other work instead of blocking.
///
/// ```swift
/// let executor = Executor()              // one pinned worker per usable core
/// try executor.run(compiled)             // blocks; rethrows the first task error
/// try await executor.run(compiled)       // in async code: suspends, never blocks a thread
/// let handle = executor.start(compiled)  // or start now, wait (or cancel) later
/// try handle.wait()
/// executor.parallelFor(0..<n, grain: 1024) { range in for i in range { out[i] = f(i) } }
/// ```
///
/// - Note: All methods are thread-safe, and every interleaving of `run`, `start`, `wait`,
///   `cancel` and `shutdown` from any threads ends: a run either completes, fails with its first
///   task error, or fails with `SchedulerError.cancelled`, `.shutDown` or `.tooManyRuns`.
///   Workers stop when the executor is deinitialized or `shutdown()` is called; either waits for
///   them to finish what is queued (unless called from a worker of this executor, which can not
///   wait for itself).
public final class Executor: Sendable {
    let pool: Pool
    /// True once shut down. Outside submissions push under this lock, and `shutdown` closes it
    /// before it stops the workers: Note [Shutting down without stranding a run].
    let closed = Lock<Bool>(false)
    let observerRegistry = ObserverRegistry()

    /// The machine as seen when this executor was created.
    public let topology: Topology

    /// Number of worker threads.
    public var workerCount: Int { pool.count }

    /// Creates the pool.
    /// - Parameters:
    ///   - workers: number of worker threads; default one per usable core (at least 1; values
    ///     below 1 are treated as 1).
    ///   - pinning: bind worker `i` to CPU `topology.workerCPUs[i % count]`. If hwloc is missing
    ///     or the system refuses, workers run unpinned and one warning goes to stderr.
    public convenience init(workers: Int? = nil, pinning: Bool = true) {
        self.init(workers: workers, pinning: pinning, runTable: .shared)
    }

    /// An executor with a run table of its own, of `runCapacity` slots (1...65,536), instead of
    /// the process-wide one: for tests that fill the table (Note [A full run table]).
    @_spi(Testing)
    public convenience init(workers: Int?, pinning: Bool, runCapacity: Int) {
        self.init(workers: workers, pinning: pinning, runTable: RunTable(capacity: runCapacity))
    }

    /// An executor whose runs register in `runTable`.
    init(workers: Int?, pinning: Bool, runTable: RunTable) {
        let topology = Topology.current()
        self.topology = topology
        let n = max(1, workers ?? topology.usableCores)
        pool = Pool(workers: n, cpus: pinning ? topology.workerCPUs : nil, table: runTable)
    }

    deinit { shutdown() }

    /// Stops the workers once they have drained what is queued, and waits for their threads to
    /// return to the system (unless called from one of them). Runs started before it finish;
    /// runs started after it (or racing it, on other threads) either finish too or fail with
    /// `SchedulerError.shutDown`, never hang. Called by deinit; calling it twice is harmless.
    ///
    /// Note [Shutting down without stranding a run]
    /// A run submitted from outside the pool goes to the shared queue; a worker leaves when it
    /// finds no work and sees `stopping`. Were a submission to land after the last worker looked,
    /// it would wait forever. So outside submissions push while holding `closed`, and `shutdown`
    /// sets `closed` under the same lock before `stopping`: a submission either pushed before the
    /// gate closed, and then a worker that sees `stopping` (ordered after the push through the
    /// lock and the seq_cst flag) also sees the work in its last look and stays to drain it, or it
    /// finds the gate closed and fails with `.shutDown`. Submissions from a worker's own task go
    /// to its deque, which that worker drains before it can leave.
    public func shutdown() {
        closed.withLock { $0 = true }
        pool.shutdown()
    }

    /// The CPU each worker is bound to, or nil for a worker that runs unpinned.
    public var workerCPUs: [Int?] {
        // Relaxed: written by each worker before `init` returned (ordered by the start-up wait).
        (0..<pool.count).map { i in
            let cpu = pool.boundCPUs[i].load(ordering: .relaxed)
            return cpu >= 0 ? cpu : nil
        }
    }

    /// Worker threads currently alive in this executor: `workerCount` until `shutdown()`, then 0
    /// (their threads have gone back to libdispatch with their CPU binding restored).
    public var runningWorkerCount: Int { pool.running.load(ordering: .acquiring) }

    /// Whether every worker is bound to a CPU.
    public var isPinned: Bool { workerCPUs.allSatisfy { $0 != nil } }

    /// Starts a run of `graph` and returns at once. `observer`, if given, is told about this run's
    /// tasks (besides the executor's observers, see `addObserver`).
    public func start(_ graph: CompiledGraph, observer: (any TaskObserver)? = nil) -> RunHandle {
        let run = makeRun(graph, observer: observer)
        submit(run)
        return RunHandle(run: run, executor: self)
    }

    /// Runs `graph` and waits for it: rethrows the first error a task threw (once), after the
    /// rest of the run drained. Called from inside a task of this executor, the calling worker
    /// helps with the work instead of blocking.
    ///
    /// Unavailable in async code, where waiting would block a thread of Swift's cooperative
    /// pool: there, `try await run(graph)` suspends instead.
    @available(*, noasync, message: "use the async form, `try await run(_:observer:)`, which does not block a thread")
    public func run(_ graph: CompiledGraph, observer: (any TaskObserver)? = nil) throws {
        try start(graph, observer: observer).wait()
    }

    /// Runs `graph`, suspending the calling task instead of blocking its thread (the workers run
    /// the tasks; the caller resumes when the run ended). Rethrows the first error a task threw.
    ///
    /// Cancelling the Swift task cancels the run: tasks not yet started are skipped, and this
    /// throws `CancellationError` (unless the run had already completed or failed).
    ///
    /// ```swift
    /// let work = Task { try await executor.run(compiled) }
    /// work.cancel()   // the run stops; `try await work.value` throws CancellationError
    /// ```
    public func run(_ graph: CompiledGraph, observer: (any TaskObserver)? = nil) async throws {
        let run = makeRun(graph, observer: observer)
        // Every exit acquires the run's end, as the blocking wait does (Note [Acquiring the end of
        // an async run]).
        defer { run.acquireFinish() }
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    run.whenFinished { continuation.resume(with: $0) }   // before the run is published
                    submit(run)
                }
            } onCancel: {
                run.cancel()
            }
        } catch SchedulerError.cancelled where Task.isCancelled {
            throw CancellationError()
        }
    }

    /// The async `run`, under its former name.
    @available(*, deprecated, renamed: "run(_:observer:)")
    public func runAsync(_ graph: CompiledGraph, observer: (any TaskObserver)? = nil) async throws {
        try await run(graph, observer: observer)
    }

    private func makeRun(_ graph: CompiledGraph, observer: (any TaskObserver)?) -> RunState {
        RunState(graph: graph, observers: startObserving(graph, with: observer), pool: pool)
    }

    /// Registers and publishes `run`, or finishes it at once with the reason it cannot start.
    private func submit(_ run: RunState) {
        guard let slot = pool.table.register(run) else {
            refuse(run, SchedulerError.tooManyRuns(limit: pool.table.capacity))
            return
        }
        run.slot = slot
        // Note [Shutting down without stranding a run]
        let accepted = closed.withLock { closed in
            if closed { return false }
            pool.submit(run)
            return true
        }
        if !accepted { refuse(run, SchedulerError.shutDown) }
    }

    private func refuse(_ run: RunState, _ error: SchedulerError) {
        run.fail(error)
        run.endUnits(1)   // the run's only unit: finishes it with the error
    }
}
