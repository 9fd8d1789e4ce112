import Scheduler
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// Note [Observed inline runs]: a plan whose estimated work is small runs its tasks in order on the
// calling thread (`Plan.runsInline`): handing them to the workers costs more than they save. A run
// with an observer (a `TraceRecorder` for a profile, or an observer installed on the executor) used
// to go to the workers regardless, so the profile showed a different execution from the one it
// profiled and paid the hand-over: the digits training step (about 28 µs inline) ran at 0.72M
// samples/s with `--profile` against 1.04M without (0.99M against 1.10M once it stayed inline).
// An observed inline run stays on the calling thread and reports its tasks as worker
// `executor.workerCount`, one past the pool's workers (`Plan.callingThreadWorker`): observers are
// told the run has `workerCount + 1` workers. Two observed inline runs at the same moment (two
// plans run from two threads) would report under that one index, which a `TraceRecorder` keeps
// one buffer for, so observed inline runs take a process-wide lock; unobserved runs never touch
// it. A run nested in a task of such a run (an update that runs another plan) is on the thread
// that holds the lock and goes on without it; its events nest in the task's. A `parallelFor`
// that a task's kernel hands to the workers from the calling thread records its pieces as called
// outside any task.

/// Serializes observed inline runs (Note [Observed inline runs]); a pthread mutex (`Lock`), which
/// ThreadSanitizer sees, so a sanitized run checks the recorders' buffers behind it.
private let observedInlineRuns = Lock<Void>(())
/// The thread inside `observedInlineRuns` (`pthread_self`), 0 when none: a run nested in one of
/// its tasks (a parameter update that runs another plan) is on the same thread and must not wait
/// for the lock it already holds.
private let observedInlineHolder = Atomic<UInt>(0)

extension Plan {
    /// The worker index under which an observed run on the calling thread reports its tasks
    /// (Note [Observed inline runs]): one past the executor's workers; nil without an executor.
    public var callingThreadWorker: Int? { executor?.workerCount }

    /// Runs every task in order on the calling thread, telling `observers` as the executor's
    /// workers would, with the calling thread as worker `callingThreadWorker`.
    func runInlineObserved(executor: Executor, compiled: CompiledGraph, observers: [any TaskObserver]) throws {
        let me: UInt = pthread_self()
        if observedInlineHolder.load(ordering: .relaxed) == me {
            // Nested in a task of an observed inline run on this thread: its events nest too.
            try runTasksObserved(compiled: compiled, observers: observers, worker: executor.workerCount)
            return
        }
        try observedInlineRuns.withLock { _ in
            observedInlineHolder.store(me, ordering: .relaxed)
            defer { observedInlineHolder.store(0, ordering: .relaxed) }
            try runTasksObserved(compiled: compiled, observers: observers, worker: executor.workerCount)
        }
    }

    /// The tasks in order on this thread, reported to `observers` as worker `worker`.
    private func runTasksObserved(compiled: CompiledGraph, observers: [any TaskObserver], worker: Int) throws {
        let graph = ObjectIdentifier(compiled)
        for o in observers { o.runWillStart(compiled, workers: worker + 1) }
        var failure: (any Error)?
        for (t, body) in program.bodies.enumerated() {
            let task = ObservedTask(index: t, isPiece: false, graph: graph)
            for o in observers { o.taskWillStart(task, worker: worker) }
            do { try body() } catch { failure = error }
            for o in observers.reversed() { o.taskDidEnd(task, worker: worker) }
            if failure != nil { break }
        }
        for o in observers.reversed() { o.runDidEnd(compiled, error: failure) }
        if let failure { throw failure }
    }
}
