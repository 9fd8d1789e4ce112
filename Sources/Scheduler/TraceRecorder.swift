import CHwloc
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One task execution recorded by a `TraceRecorder`.
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

/// A `TaskObserver` that records the begin and end of every task (and `parallelFor` piece) of the
/// runs it observes, as `TaskEvent`s: what `Profile` (module Profiling) reads.
///
/// Each worker appends to its own buffer (no locks, amortized no allocation). Read `events` after
/// the runs have finished.
///
/// ```swift
/// let recorder = TraceRecorder()
/// try executor.run(compiled, observer: recorder)    // or executor.addObserver(recorder)
/// for e in recorder.events { print(compiled.name(of: e.task), e.endNanos - e.beginNanos) }
/// ```
///
/// - Note: Use one recorder with one executor at a time (buffers are per worker index), and read
///   `events` only when no recorded run is in progress.
public final class TraceRecorder: TaskObserver, @unchecked Sendable {
    // @unchecked Sendable: `buffers[i]` is written once, under `lock`, before any run using this
    // recorder starts (`runWillStart` runs before the run is published, which happens-before its
    // workers see it); afterwards buffer `i` is touched only by the worker with index `i` of the
    // one executor recording into it, and read by `events` after the runs finished (their
    // completion orders the appends before it).
    static let maxWorkers = 1024
    /// Worker `i`'s buffer, retained (`Unmanaged`), or nil: the workers borrow their buffer
    /// without touching its reference count.
    private let buffers: UnsafeMutablePointer<UnsafeMutableRawPointer?>
    private let lock = Lock<Void>(())
    /// Where the workers' timestamps come from (Note [Trace timestamps]).
    private let clock = TraceClock.shared
    /// The clock read when the recorder was made or last reset (under `lock`): buffered ticks
    /// become nanoseconds from it.
    private var anchor: TraceClock.Reading

    public init() {
        buffers = .allocate(capacity: TraceRecorder.maxWorkers)
        buffers.initialize(repeating: nil, count: TraceRecorder.maxWorkers)
        anchor = clock.read()
    }

    deinit {
        for i in 0..<TraceRecorder.maxWorkers {
            if let b = buffers[i] { Unmanaged<TraceBuffer>.fromOpaque(b).release() }
        }
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

    /// Makes sure workers `0..<workers` have buffers.
    public func runWillStart(_ graph: CompiledGraph, workers: Int) {
        precondition(workers <= TraceRecorder.maxWorkers, "TraceRecorder: more than \(TraceRecorder.maxWorkers) workers")
        lock.withLock { _ in
            for i in 0..<workers where buffers[i] == nil { buffers[i] = Unmanaged.passRetained(TraceBuffer()).toOpaque() }
        }
    }

    /// Makes room for `count` events on each of workers `0..<workers` and touches it, so that
    /// recording that many allocates nothing and takes no page faults: for a recording whose
    /// length is known (a profiled benchmark of a fixed number of runs). Call it while no
    /// recorded run is in progress.
    public func reserveCapacity(eventsPerWorker count: Int, workers: Int) {
        precondition(workers <= TraceRecorder.maxWorkers, "TraceRecorder: more than \(TraceRecorder.maxWorkers) workers")
        lock.withLock { _ in
            for i in 0..<workers {
                if buffers[i] == nil { buffers[i] = Unmanaged.passRetained(TraceBuffer()).toOpaque() }
                buffer(i).takeUnretainedValue().reserve(count)
            }
        }
    }

    /// Notes the CPU and the time.
    public func taskWillStart(_ task: ObservedTask, worker: Int) {
        let cpu = Affinity.currentCPU(), begin = clock.ticks()
        buffer(worker)._withUnsafeGuaranteedRef { $0.open(cpu: cpu, begin: begin) }
    }

    /// Records the event that `taskWillStart` opened.
    public func taskDidEnd(_ task: ObservedTask, worker: Int) {
        let end = clock.ticks()
        buffer(worker)._withUnsafeGuaranteedRef { $0.close(task: task, worker: worker, end: end) }
    }

    @inline(__always)
    private func buffer(_ worker: Int) -> Unmanaged<TraceBuffer> {
        Unmanaged<TraceBuffer>.fromOpaque(buffers[worker].unsafelyUnwrapped)
    }

    /// All events recorded so far, ordered by begin time (then worker).
    public var events: [TaskEvent] {
        var all: [TaskEvent] = []
        lock.withLock { _ in
            let nanoseconds = clock.converter(from: anchor, to: clock.read())
            for i in 0..<TraceRecorder.maxWorkers where buffers[i] != nil {
                all.append(contentsOf: buffer(i).takeUnretainedValue().snapshot(nanoseconds))
            }
        }
        all.sort { ($0.beginNanos, $0.worker) < ($1.beginNanos, $1.worker) }
        return all
    }

    /// Forgets all events (keeps the buffers' memory). Only between runs.
    public func reset() {
        lock.withLock { _ in
            for i in 0..<TraceRecorder.maxWorkers where buffers[i] != nil { buffer(i).takeUnretainedValue().count = 0 }
            anchor = clock.read()
        }
    }
}

/// One worker's events, and a stack of the ones begun but not ended (tasks nest on a worker that
/// waits inside one): growable arrays in raw memory (doubling, so pushes are amortized free).
final class TraceBuffer {
    var storage: UnsafeMutablePointer<TaskEvent>
    var capacity = 1024
    var count = 0
    private var openStack: UnsafeMutablePointer<(cpu: Int, begin: UInt64)>
    private var openCapacity = 16
    private var openCount = 0

    init() {
        storage = .allocate(capacity: capacity)
        openStack = .allocate(capacity: openCapacity)
    }
    deinit {   // the elements are trivial: nothing to deinitialize
        storage.deallocate()
        openStack.deallocate()
    }

    /// Events hold the clock's ticks (Note [Trace timestamps]) until `snapshot` converts them.
    @inline(__always)
    func open(cpu: Int, begin: UInt64) {
        if openCount == openCapacity { openStack = TraceBuffer.grow(openStack, count: openCount, capacity: &openCapacity) }
        (openStack + openCount).initialize(to: (cpu, begin))
        openCount += 1
    }

    @inline(__always)
    func close(task: ObservedTask, worker: Int, end: UInt64) {
        precondition(openCount > 0, "TraceRecorder: a task ended that did not start on worker \(worker)")
        openCount -= 1
        let (cpu, begin) = openStack[openCount]
        if count == capacity { storage = TraceBuffer.grow(storage, count: count, capacity: &capacity) }
        (storage + count).initialize(to: TaskEvent(task: task.isPiece ? -1 : task.index,
                                                   parent: task.isPiece ? task.index : -1,
                                                   worker: worker, cpu: cpu, beginNanos: begin, endNanos: end))
        count += 1
    }

    private static func grow<T>(_ old: UnsafeMutablePointer<T>, count: Int, capacity: inout Int) -> UnsafeMutablePointer<T> {
        let bigger = UnsafeMutablePointer<T>.allocate(capacity: capacity * 2)
        bigger.moveInitialize(from: old, count: count)
        old.deallocate()
        capacity *= 2
        return bigger
    }

    /// Room for `wanted` events, every page of it touched.
    func reserve(_ wanted: Int) {
        guard wanted > capacity else { return }
        let bigger = UnsafeMutablePointer<TaskEvent>.allocate(capacity: wanted)
        bigger.moveInitialize(from: storage, count: count)
        storage.deallocate()
        storage = bigger
        capacity = wanted
        let bytes = UnsafeMutableRawPointer(storage + count), length = (wanted - count) * MemoryLayout<TaskEvent>.stride
        var offset = 0
        while offset < length { bytes.storeBytes(of: 0, toByteOffset: offset, as: UInt8.self); offset += 4096 }
    }

    /// The events, their ticks turned into nanoseconds by `nanoseconds`.
    func snapshot(_ nanoseconds: TraceClock.Converter) -> [TaskEvent] {
        UnsafeBufferPointer(start: storage, count: count).map { e in
            var e = e
            e.beginNanos = nanoseconds(e.beginNanos)
            e.endNanos = nanoseconds(e.endNanos)
            return e
        }
    }
}
