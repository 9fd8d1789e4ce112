import Scheduler
import Synchronization

// Note [Observed inline runs]: a plan whose estimated work is small runs its tasks in order on the
// calling thread (`Plan.runsInline`): handing them to the workers costs more than they save. A run
// with an observer (a `TraceRecorder` for a profile, or an observer installed on the executor) used
// to go to the workers regardless, so the profile showed a different execution from the one it
// profiled and paid the hand-over: the digits training step (about 28 µs inline) ran at 0.72M
// samples/s with `--profile` against 1.04M without (now 0.99M against 1.10M). An observed inline
// run now stays on the calling
// thread and reports its tasks as worker `executor.workerCount`, one past the pool's workers
// (`Plan.callingThreadWorker`): observers are told the run has `workerCount + 1` workers. Two
// observed inline runs at the same moment (two plans run from two threads) would report under that
// one index, which a `TraceRecorder` keeps one buffer for, so observed inline runs take a
// process-wide lock; unobserved runs never touch it. A `parallelFor` that a task's kernel hands to
// the workers from the calling thread records its pieces as called outside any task.

/// Serializes observed inline runs (Note [Observed inline runs]).
private let observedInlineRuns = Mutex<Void>(())

extension Plan {
    /// The worker index under which an observed run on the calling thread reports its tasks
    /// (Note [Observed inline runs]): one past the executor's workers; nil without an executor.
    public var callingThreadWorker: Int? { executor?.workerCount }

    /// Runs every task in order on the calling thread, telling `observers` as the executor's
    /// workers would, with the calling thread as worker `callingThreadWorker`.
    func runInlineObserved(executor: Executor, compiled: CompiledGraph, observers: [any TaskObserver]) throws {
        let worker = executor.workerCount
        let graph = ObjectIdentifier(compiled)
        try observedInlineRuns.withLock { _ in
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
}
