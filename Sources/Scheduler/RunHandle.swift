/// A run started with `Executor.start`: wait for it, or cancel it.
///
/// ```swift
/// let handle = executor.start(compiled)
/// if userGaveUp { handle.cancel() }
/// try handle.wait()   // throws SchedulerError.cancelled if it was cancelled in time
/// try await handle.wait()   // the same from async code, without blocking a thread
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

    /// Whether the run was cancelled (by `cancel()` or its awaiting task) before it completed or
    /// failed; it may still be draining tasks that had started.
    public var isCancelled: Bool { run.status.load(ordering: .acquiring) == RunState.cancelled }

    /// Whether the run has finished (successfully or not).
    public var isFinished: Bool { run.finished.load(ordering: .acquiring) }

    /// Waits until the run finished; rethrows the first error a task threw, or
    /// `SchedulerError.cancelled`. On a worker thread of the same executor (inside a task) it
    /// runs other work while waiting instead of blocking, so it cannot deadlock the pool.
    /// Unavailable in async code: use `try await wait()` there.
    @available(*, noasync, message: "use the async form, `try await wait()`, which does not block a thread")
    public func wait() throws {
        if let w = executor.pool.currentWorker() {
            executor.pool.help(w) { run.finished.load(ordering: .acquiring) }
        } else {
            run.block()
        }
        try run.result.get()
    }

    /// Suspends the calling task until the run finished, without blocking its thread; rethrows
    /// the first error a task threw, or `SchedulerError.cancelled` if `cancel()` stopped it.
    /// Cancelling the waiting Swift task cancels the run, and this then throws `CancellationError`.
    public func wait() async throws {
        defer { run.acquireFinish() }   // Note [Acquiring the end of an async run]
        do {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                    run.whenFinished { continuation.resume(with: $0) }
                }
            } onCancel: {
                run.cancel()
            }
        } catch SchedulerError.cancelled where Task.isCancelled {
            throw CancellationError()
        }
    }
}
