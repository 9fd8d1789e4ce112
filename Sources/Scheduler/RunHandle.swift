/// A run started with `Executor.start`: wait for it, or cancel it.
///
/// ```swift
/// let handle = executor.start(compiled)
/// if userGaveUp { handle.cancel() }
/// try handle.wait()   // throws SchedulerError.cancelled if it was cancelled in time
/// ```
public final class RunHandle: Sendable {
    let run: RunState
    let executor: Executor   // keeps the workers alive until the run is done

    init(run: RunState, executor: Executor) {
        self.run = run
        self.executor = executor
    }

    /// Asks the run to stop: no task starts after the workers observe it (tasks already running
    /// finish). `wait()` then throws `SchedulerError.cancelled`, unless the run had already
    /// finished or failed.
    public func cancel() { run.cancel() }

    /// Whether the run has finished (successfully or not).
    public var isFinished: Bool { run.finished.load(ordering: .acquiring) }

    /// Waits until the run finished; rethrows the first error a task threw, or
    /// `SchedulerError.cancelled`. On a worker thread of the same executor (inside a task) it
    /// runs other work while waiting instead of blocking, so it cannot deadlock the pool.
    public func wait() throws {
        if let w = executor.pool.currentWorker() {
            executor.pool.help(w) { run.finished.load(ordering: .acquiring) }
        } else {
            run.block()
        }
        try run.result.get()
    }
}
