/// Something told when tasks start and end on an executor's workers: a tracer, a counter, a logger.
///
/// Install one for every run of an executor with `Executor.addObserver(_:)`, or for one run with
/// `run(_:observer:)` (also `start` and `runAsync`). The workers call `taskWillStart` right before a
/// task's closure and `taskDidEnd` right after it (also when it threw), on the worker's own thread,
/// with the worker's index, so an observer can keep per-worker state without locks. Pieces of a
/// `parallelFor` called inside an observed task are reported too (`ObservedTask.isPiece`).
///
/// On one worker the calls nest like brackets: a worker that waits inside a task (for a sub-graph
/// or its `parallelFor`) runs other work meanwhile, so further start/end pairs may come between a
/// task's start and end, but every end matches the latest unmatched start of that worker.
/// Several observers are called in the order they were added for starts and in reverse for ends.
/// With no observer the workers pay one predictable branch per task.
///
/// ```swift
/// final class TaskCounter: TaskObserver {
///     let started = Atomic<Int>(0)   // import Synchronization
///     func taskWillStart(_ task: ObservedTask, worker: Int) {
///         if !task.isPiece { started.wrappingAdd(1, ordering: .relaxed) }
///     }
///     func taskDidEnd(_ task: ObservedTask, worker: Int) {}
/// }
/// let counter = TaskCounter()
/// try executor.run(compiled, observer: counter)       // this run only, or for every run:
/// executor.addObserver(counter)
/// print(counter.started.load(ordering: .relaxed))     // compiled.taskCount per run
/// ```
///
/// - Note: The callbacks run on the hot path of every observed task: keep them short, never block
///   and never throw. Runs of several executors may call one observer concurrently with the same
///   worker index; an observer with per-worker state belongs to one executor at a time.
public protocol TaskObserver: AnyObject, Sendable {
    /// Called on the thread that starts a run, before any of its tasks starts: the graph and the
    /// executor's worker count (the worker indexes the run's calls will use are `0..<workers`).
    func runWillStart(_ graph: CompiledGraph, workers: Int)

    /// Called on worker `worker` right before the closure of `task` runs.
    func taskWillStart(_ task: ObservedTask, worker: Int)

    /// Called on worker `worker` right after the closure of `task` returned or threw.
    func taskDidEnd(_ task: ObservedTask, worker: Int)

    /// Called once the run's last task ended, on the thread that ends the run (usually a worker),
    /// before anyone waiting for the run wakes: `error` is the run's error (the first a task
    /// threw, `SchedulerError.cancelled`, ...) or nil.
    func runDidEnd(_ graph: CompiledGraph, error: (any Error)?)
}

extension TaskObserver {
    /// Does nothing (an observer need not care about runs).
    public func runWillStart(_ graph: CompiledGraph, workers: Int) {}
    /// Does nothing (an observer need not care about runs).
    public func runDidEnd(_ graph: CompiledGraph, error: (any Error)?) {}
}

/// The task a `TaskObserver` is told about: which task of which graph, or a piece of the
/// `parallelFor` a task called.
///
/// A plain value, safe to keep: the graph is named by identity, compare it with
/// `ObjectIdentifier(compiled)` (the graph itself is handed to `runWillStart`).
///
/// ```swift
/// func taskWillStart(_ task: ObservedTask, worker: Int) {
///     if task.graph == ObjectIdentifier(compiled), !task.isPiece { print(compiled.name(of: task.index)) }
/// }
/// ```
public struct ObservedTask: Sendable, Hashable {
    /// The task's index in its compiled graph; for a piece, the index of the task that called
    /// `parallelFor` (-1 when it was called outside any task).
    public let index: Int
    /// Whether this is a piece of a `parallelFor` (run by the task `index`, or by another worker
    /// on its behalf) rather than the task's own closure.
    public let isPiece: Bool
    /// The identity of the task's `CompiledGraph` (nil for a piece of a `parallelFor` called
    /// outside any task).
    public let graph: ObjectIdentifier?

    /// Describes a task (tests and adapters make these; the executor makes them when running).
    public init(index: Int, isPiece: Bool, graph: ObjectIdentifier?) {
        self.index = index
        self.isPiece = isPiece
        self.graph = graph
    }
}
