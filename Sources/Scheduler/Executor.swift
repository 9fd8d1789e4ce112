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
/// let handle = executor.start(compiled)  // or start now, wait (or cancel) later
/// try handle.wait()
/// executor.parallelFor(0..<n, grain: 1024) { range in for i in range { out[i] = f(i) } }
/// ```
///
/// - Note: All methods are thread-safe. Workers stop when the executor is deinitialized or
///   `shutdown()` is called; either waits for them to finish what is queued (unless called from a
///   worker of this executor, which can not wait for itself).
public final class Executor: Sendable {
    let pool: Pool
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
    public init(workers: Int? = nil, pinning: Bool = true) {
        let topology = Topology.current()
        self.topology = topology
        let n = max(1, workers ?? topology.usableCores)
        pool = Pool(workers: n, cpus: pinning ? topology.workerCPUs : nil)
    }

    deinit { pool.shutdown() }

    /// Stops the workers once they have drained what is queued, and waits for their threads to
    /// return to the system (unless called from one of them). Later runs fail with
    /// `SchedulerError.shutDown`. Called by deinit; calling it twice is harmless.
    /// - Note: Don't race `shutdown()` against a `run` or `start` on another thread: a run that
    ///   slips in while the last worker leaves would never start. (Deinit cannot race: a call in
    ///   progress holds a reference.)
    public func shutdown() { pool.shutdown() }

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
    /// helps with the work instead of blocking. `observer` as for `start`.
    public func run(_ graph: CompiledGraph, observer: (any TaskObserver)? = nil) throws {
        try start(graph, observer: observer).wait()
    }

    /// Runs `graph`, suspending the calling task instead of blocking its thread. Cancelling the
    /// Swift task cancels the run (it then throws `SchedulerError.cancelled`). `observer` as for `start`.
    public func runAsync(_ graph: CompiledGraph, observer: (any TaskObserver)? = nil) async throws {
        let run = makeRun(graph, observer: observer)
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                run.onFinish = { continuation.resume(with: $0) }   // before the run is published
                submit(run)
            }
        } onCancel: {
            run.cancel()
        }
    }

    private func makeRun(_ graph: CompiledGraph, observer: (any TaskObserver)?) -> RunState {
        RunState(graph: graph, observers: startObserving(graph, with: observer), pool: pool)
    }

    private func submit(_ run: RunState) {
        run.slot = RunTable.shared.register(run)
        if pool.stopping.load(ordering: .acquiring) {
            run.fail(SchedulerError.shutDown)
            run.endUnits(1)   // the run's only unit: finishes it with the error
            return
        }
        pool.submit(run)
    }
}
