import Scheduler

/// One measured interval: a task (or a piece of a task's nested parallel loop) ran on a worker.
///
/// Timestamps are monotonic nanoseconds from any common origin. Events of one worker must nest
/// properly (disjoint, or one inside the other), which is what a worker thread running one thing
/// at a time, or a piece inside the task that waits for it, produces.
///
///     let e = ProfileEvent(task: 3, worker: 0, cpu: 2, beginNanos: 1_000, endNanos: 5_000)
public struct ProfileEvent: Sendable, Hashable {
    /// Index of the task in the profile's task list; for a piece, the task whose loop it belongs to.
    public var task: Int
    /// Whether this is a piece of `task`'s nested parallel loop rather than the task itself.
    public var isPiece: Bool
    /// Which run of the graph this belongs to (0 for a single run). Each task runs at most once per run.
    public var run: Int
    public var worker: Int
    /// The CPU the worker ran on (-1 when unknown).
    public var cpu: Int
    public var beginNanos: UInt64
    public var endNanos: UInt64

    public init(task: Int, isPiece: Bool = false, run: Int = 0, worker: Int, cpu: Int = -1,
                beginNanos: UInt64, endNanos: UInt64) {
        self.task = task
        self.isPiece = isPiece
        self.run = run
        self.worker = worker
        self.cpu = cpu
        self.beginNanos = beginNanos
        self.endNanos = endNanos
    }

    /// End minus begin.
    public var durationNanos: UInt64 { endNanos &- beginNanos }
}
