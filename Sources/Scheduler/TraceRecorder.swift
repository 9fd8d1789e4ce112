import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One task execution seen by a `TraceRecorder`.
public struct TaskEvent: Sendable, Equatable {
    /// Index of the task in its compiled graph, or -1 for a piece of a `parallelFor`.
    public var task: Int
    /// For a `parallelFor` piece, the task that called `parallelFor` (-1 if none); else -1.
    public var parent: Int
    /// Index of the worker that ran it.
    public var worker: Int
    /// The CPU it started on (-1 if unknown).
    public var cpu: Int
    /// Monotonic clock (`TraceRecorder.now()`) at start and end, in nanoseconds.
    public var beginNanos: UInt64
    public var endNanos: UInt64

    public init(task: Int, parent: Int, worker: Int, cpu: Int, beginNanos: UInt64, endNanos: UInt64) {
        self.task = task; self.parent = parent; self.worker = worker; self.cpu = cpu
        self.beginNanos = beginNanos; self.endNanos = endNanos
    }
}

/// Records the begin and end of every task (and `parallelFor` piece) of the runs it is passed to.
///
/// Each worker appends to its own buffer (no locks, amortized no allocation); a run without a
/// recorder pays one predictable branch per task. Read `events` after the runs have finished.
///
/// ```swift
/// let recorder = TraceRecorder()
/// try executor.run(compiled, trace: recorder)
/// for e in recorder.events { print(compiled.name(of: e.task), e.endNanos - e.beginNanos) }
/// ```
///
/// - Note: Use one recorder with one executor at a time (buffers are per worker index), and read
///   `events` only when no traced run is in progress.
public final class TraceRecorder: @unchecked Sendable {
    // @unchecked Sendable: `buffers[i]` is written once, under `lock`, before any run using this
    // recorder starts (the run's start happens-before its workers see it); afterwards buffer `i`
    // is appended to only by the worker with index `i` of the one executor recording into it, and
    // read by `events` after the runs finished (their completion orders the appends before it).
    static let maxWorkers = 1024
    private let buffers: UnsafeMutablePointer<TraceBuffer?>
    private let lock = Lock<Void>(())

    public init() {
        buffers = .allocate(capacity: TraceRecorder.maxWorkers)
        buffers.initialize(repeating: nil, count: TraceRecorder.maxWorkers)
    }

    deinit {
        buffers.deinitialize(count: TraceRecorder.maxWorkers)
        buffers.deallocate()
    }

    /// Monotonic nanoseconds, the clock of `TaskEvent`.
    @inline(__always)
    public static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Makes sure workers `0..<count` have buffers; called before a traced run starts.
    func prepare(workers count: Int) {
        precondition(count <= TraceRecorder.maxWorkers, "TraceRecorder: more than \(TraceRecorder.maxWorkers) workers")
        lock.withLock { _ in
            for i in 0..<count where buffers[i] == nil { buffers[i] = TraceBuffer() }
        }
    }

    @inline(__always)
    func record(worker: Int, task: Int, parent: Int, cpu: Int, begin: UInt64, end: UInt64) {
        buffers[worker].unsafelyUnwrapped.append(
            TaskEvent(task: task, parent: parent, worker: worker, cpu: cpu, beginNanos: begin, endNanos: end))
    }

    /// All events recorded so far, ordered by begin time (then worker).
    public var events: [TaskEvent] {
        var all: [TaskEvent] = []
        lock.withLock { _ in
            for i in 0..<TraceRecorder.maxWorkers { if let b = buffers[i] { all.append(contentsOf: b.snapshot()) } }
        }
        all.sort { ($0.beginNanos, $0.worker) < ($1.beginNanos, $1.worker) }
        return all
    }

    /// Forgets all events (keeps the buffers' memory). Only between runs.
    public func reset() {
        lock.withLock { _ in
            for i in 0..<TraceRecorder.maxWorkers { buffers[i]?.count = 0 }
        }
    }
}

/// One worker's events: a growable array in raw memory (doubling, so appends are amortized free).
final class TraceBuffer {
    var storage: UnsafeMutablePointer<TaskEvent>
    var capacity = 1024
    var count = 0

    init() { storage = .allocate(capacity: capacity) }
    deinit { storage.deallocate() }   // TaskEvent is trivial: nothing to deinitialize

    @inline(__always)
    func append(_ e: TaskEvent) {
        if count == capacity { grow() }
        (storage + count).initialize(to: e)
        count += 1
    }

    private func grow() {
        let bigger = UnsafeMutablePointer<TaskEvent>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity *= 2
    }

    func snapshot() -> [TaskEvent] { Array(UnsafeBufferPointer(start: storage, count: count)) }
}
