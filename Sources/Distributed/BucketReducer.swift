import Foundation
import Scheduler
import Synchronization
import Tensor
import Training

/// DDP's reducer: gradient buckets summed across ranks by a dedicated communication thread, in
/// bucket order, while the training plan keeps computing.
///
/// Each step: the plan's hook for a parameter copies its gradient (times this rank's share of
/// the batch) into its bucket; the hook that completes a bucket hands it over; the communication
/// thread all-reduces buckets 0, 1, ... as each becomes ready (every rank in the same order, so
/// the collectives match); after the plan run, `finish` waits for each bucket in turn and applies
/// the optimizer's update to its parameters from the summed gradients, so the updates of early
/// buckets overlap the reduction of later ones.
///
/// Open MPI progresses a collective only while a thread is inside an MPI call: a dedicated thread
/// that tests it until done keeps the reduction moving while workers compute (measured faster
/// than `MPI_Iallreduce` left to progress on its own).
final class BucketReducer<Scalar: TensorScalar>: @unchecked Sendable {
    // @unchecked Sendable (Note [Reducer ownership]): a bucket's buffer is written by the hooks of
    // its parameters (disjoint ranges) until its counter reaches zero, then only by the
    // communication thread until `reduced` is set under the monitor, then read by `finish` on the
    // training thread; `storage[p]` is written by parameter p's hook during the plan run and read
    // by `finish` after it. With a node sum the buffers are this rank's segment of the node's
    // window and the sums (read by `finish`) are in node rank 0's part of it; other processes
    // touch them only between the barriers of Note [Node sums]. `weight` is written by `begin`
    // before the run starts (the executor's run submission orders it before the hooks' reads).
    // Flags live under `monitor`.

    let communicator: Communicator
    let layout: BucketLayout
    let datatype: MPIDatatype
    /// Per bucket: where this rank's gradients go, and where the sum over the ranks comes back
    /// (the same memory without a node sum).
    private let buffers: [UnsafeMutableBufferPointer<Scalar>]
    private let sums: [UnsafeMutablePointer<Scalar>]
    /// With ranks sharing a node: the shared-memory window the buckets live in (Note [Node sums]).
    let nodeSum: NodeSum<Scalar>?
    /// Per bucket, its first element in the window's segments.
    private let starts: [Int]
    private let counters: [Counter]
    private let storage: UnsafeMutablePointer<UnsafeMutablePointer<Scalar>?>
    private let sizes: [Int]
    private let updates: [@Sendable (UnsafeMutableBufferPointer<Scalar>, UnsafeBufferPointer<Scalar>) -> Void]
    /// Gradient clipping: the factor for the summed gradient's global L2 norm (nil: no clipping).
    private let clipFactor: (@Sendable (Double) -> Double)?
    /// A parameter's scaled gradient when clipping (as long as the largest parameter once used;
    /// only `finish`, on the training thread, touches it).
    private var clipScratch = UnsafeMutableBufferPointer<Scalar>(start: nil, count: 0)
    /// This rank's share of the step's batch (set by `begin`): the factor its gradients count for.
    private(set) var weight: Scalar = 1
    /// Steps begun (numbers the buckets in error messages).
    private(set) var step = 0

    private let monitor = Monitor()
    private var ready: [Bool]
    private var reduced: [Bool]
    private var failure: Error?
    private var stopping = false
    private var inCollective = false
    private var thread: Thread?
    private let exited = DispatchSemaphore(value: 0)

    /// Seconds the communication thread spent in all-reduces, and the training thread waiting for
    /// them after its plan run (the part not hidden behind computation), since the last reset.
    private var reduceSeconds = 0.0
    private(set) var exposedSeconds = 0.0
    private var reducedBytes = 0
    /// When tracing: one interval per all-reduce (monotonic nanoseconds).
    private var events: [CommunicationEvent] = []
    private var tracing = false

    /// Whether to record an event per all-reduce (for traces).
    func setTracing(_ on: Bool) { monitor.locked { tracing = on } }

    final class Counter: Sendable {
        let value = Atomic<Int>(0)
    }

    /// - Parameter updates: per parameter, the optimizer's update (values, summed gradient).
    /// - Parameter pollMicroseconds: sleep between tests of a reduction while the training
    ///   thread computes (busy polling takes a core from the workers; see Note [Polling]).
    /// - Parameter nodeSums: sum the buckets of ranks that share a node through a shared-memory
    ///   window (Note [Node sums]); false: MPI's all-reduce alone. Collective: every rank passes
    ///   the same.
    init(communicator: Communicator, layout: BucketLayout, parameterSizes: [Int],
         updates: [@Sendable (UnsafeMutableBufferPointer<Scalar>, UnsafeBufferPointer<Scalar>) -> Void],
         pollMicroseconds: Int, nodeSums: Bool = true, clipFactor: (@Sendable (Double) -> Double)? = nil) throws {
        self.pollMicroseconds = UInt32(clamping: max(0, pollMicroseconds))
        self.clipFactor = clipFactor
        guard let datatype = MPIDatatype.of(Scalar.self) else {
            throw communicator.error(.unavailable, "no MPI datatype for \(Scalar.self)")
        }
        self.communicator = communicator
        self.layout = layout
        self.datatype = datatype
        sizes = parameterSizes
        self.updates = updates
        var starts: [Int] = [], total = 0
        for b in layout.buckets {
            starts.append(total)
            total += (b.count + 15) & ~15   // buckets on 64-byte boundaries
        }
        self.starts = starts
        let nodeSum = nodeSums ? try NodeSum<Scalar>.make(world: communicator, count: total, datatype: datatype) : nil
        self.nodeSum = nodeSum
        if let nodeSum {
            buffers = zip(layout.buckets, starts).map { UnsafeMutableBufferPointer(start: nodeSum.mine + $1, count: $0.count) }
            sums = starts.map { nodeSum.sums + $0 }
        } else {
            buffers = layout.buckets.map { b in
                let buffer = UnsafeMutableBufferPointer<Scalar>.allocate(capacity: max(b.count, 1))
                buffer.initialize(repeating: 0)
                return buffer
            }
            sums = buffers.map { $0.baseAddress! }
        }
        counters = layout.buckets.map { b in
            let c = Counter()
            c.value.store(b.parameters.count, ordering: .relaxed)
            return c
        }
        storage = .allocate(capacity: max(parameterSizes.count, 1))
        storage.initialize(repeating: nil, count: max(parameterSizes.count, 1))
        ready = [Bool](repeating: false, count: layout.buckets.count)
        reduced = ready
        // The thread holds the reducer until it exits (`stop`).
        let thread = Thread { self.communicate() }
        thread.name = "allreduce"
        self.thread = thread
        thread.start()
    }

    deinit {
        clipScratch.deallocate()
        if nodeSum == nil { for b in buffers { b.deallocate() } }
        storage.deallocate()
    }

    /// Ends the communication thread (after the last step; idempotent). Waits for it unless it
    /// is inside an all-reduce (after an error, one that may never complete): then it exits when
    /// that returns, or with the process.
    func stop() {
        guard thread != nil else { return }
        let busy = monitor.locked {
            stopping = true
            monitor.broadcast()
            return inCollective
        }
        if !busy { exited.wait() }
        thread = nil
    }

    /// After `stop` at a normal end, on every rank: frees the shared-memory window (collective
    /// over the node). After an error it is left to `MPI_Abort`, or `MPI_Finalize`.
    func release() throws {
        let healthy = monitor.locked { failure == nil && !inCollective }
        guard healthy, let nodeSum, !released else { return }
        released = true
        try nodeSum.free()
    }
    private var released = false

    // MARK: - Training thread

    /// Before a step's plan run: this rank's gradient counts for `localRows / batchRows` of the sum.
    func begin(localRows: Int, batchRows: Int) throws {
        try monitor.locked { if let failure { throw failure } }
        weight = Scalar(Double(localRows) / Double(batchRows))
        step += 1
    }

    /// Where parameter `p`'s weighted gradient goes in its bucket: a plan that computes the
    /// gradient by a product writes it there itself (`ParameterUpdate.gradientStorage`, scaled by
    /// `weight`), so `deposit` has nothing to copy.
    func slot(of p: Int) -> UnsafeMutablePointer<Scalar> {
        let (b, offset) = layout.location[p]
        return buffers[b].baseAddress! + offset
    }

    /// The plan's hook for parameter `p`: deposit its weighted gradient (unless the plan already
    /// wrote it into its slot), hand over a full bucket.
    func deposit(_ p: Int, _ values: UnsafeMutableBufferPointer<Scalar>, _ gradients: UnsafeBufferPointer<Scalar>) {
        storage[p] = values.baseAddress
        let (b, offset) = layout.location[p]
        let n = gradients.count
        let dst = buffers[b].baseAddress! + offset
        let src = gradients.baseAddress!
        if src != UnsafePointer(dst) { Self.scaledCopy(src, into: dst, count: n, by: weight) }
        if counters[b].value.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
            monitor.locked { ready[b] = true; monitor.broadcast() }
        }
    }

    /// `dst[j] = src[j] * w`; specialized, so the loop vectorizes (generic code called from another
    /// module would go through the scalar type's witness table for every element).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    static func scaledCopy(_ src: UnsafePointer<Scalar>, into dst: UnsafeMutablePointer<Scalar>, count n: Int, by w: Scalar) {
        if w == 1 {
            dst.update(from: src, count: n)
        } else {
            for j in 0..<n { dst[j] = src[j] * w }
        }
    }

    /// After a step's plan run: waits for each bucket's sum in turn and updates its parameters.
    /// With gradient clipping (`clipFactor`), waits for every bucket first: the factor depends on
    /// the norm of the whole summed gradient (Note [Gradient clipping] in Training).
    func finish() throws {
        // Twice the collective timeout: a reduction that hangs is reported by the communication
        // thread (which says which collective); this only catches a bucket that never started.
        let deadline = monotonicSeconds() + 2 * communicator.timeout
        guard let clipFactor else {
            for b in layout.buckets.indices {
                try waitForSum(of: b, deadline: deadline)
                try update(bucket: b, factor: 1)
            }
            return
        }
        for b in layout.buckets.indices { try waitForSum(of: b, deadline: deadline) }
        var squares = 0.0
        for (b, bucket) in layout.buckets.enumerated() {
            for (p, offset) in zip(bucket.parameters, bucket.offsets) {
                let g = sums[b] + offset
                for j in 0..<sizes[p] { let x = Double(g[j]); squares += x * x }
            }
        }
        let factor = Scalar(clipFactor(squares.squareRoot()))
        for b in layout.buckets.indices { try update(bucket: b, factor: factor) }
    }

    /// Waits until bucket `b`'s sum is complete (the time counts as exposed communication).
    private func waitForSum(of b: Int, deadline: Double) throws {
        let waitStart = monotonicSeconds()
        urgent.store(true, ordering: .relaxed)
        defer { urgent.store(false, ordering: .relaxed) }
        try monitor.locked {
            while !reduced[b] && failure == nil {
                if !monitor.wait(until: deadline) && !reduced[b] && failure == nil {
                    throw communicator.error(.timeout, "gradient bucket \(b) of step \(step) was not reduced within \(Communicator.seconds(2 * communicator.timeout)): its all-reduce never started (a gradient never reached it) or a peer rank is stuck; ending the run")
                }
            }
            if let failure { throw failure }
            reduced[b] = false
        }
        exposedSeconds += monotonicSeconds() - waitStart
    }

    /// Updates bucket `b`'s parameters from their summed gradients times `factor` (1: as summed;
    /// otherwise a scaled copy, the sums being shared with the node's other ranks), and rearms
    /// its counter for the next step.
    private func update(bucket b: Int, factor: Scalar) throws {
        let bucket = layout.buckets[b]
        let sum = sums[b]
        for (p, offset) in zip(bucket.parameters, bucket.offsets) {
            guard let values = storage[p] else {
                throw communicator.error(.unavailable, "parameter \(p)'s gradient never reached its bucket")
            }
            let n = sizes[p]
            let target = UnsafeMutableBufferPointer(start: values, count: n)
            if factor == 1 {
                updates[p](target, UnsafeBufferPointer(start: sum + offset, count: n))
            } else {
                if clipScratch.count < n {
                    clipScratch.deallocate()
                    clipScratch = .allocate(capacity: sizes.max() ?? n)
                }
                Self.scaledCopy(sum + offset, into: clipScratch.baseAddress!, count: n, by: factor)
                updates[p](target, UnsafeBufferPointer(rebasing: clipScratch[0..<n]))
            }
        }
        counters[b].value.store(bucket.parameters.count, ordering: .releasing)
    }

    /// Communication time since the last call, and resets it: (all-reduce seconds, seconds the
    /// training thread waited for them, bytes reduced, trace events).
    func takeStatistics() -> (reduce: Double, exposed: Double, bytes: Int, events: [CommunicationEvent]) {
        monitor.locked {
            defer { reduceSeconds = 0; exposedSeconds = 0; reducedBytes = 0; events = [] }
            return (reduceSeconds, exposedSeconds, reducedBytes, events)
        }
    }

    // MARK: - Communication thread

    /// Microseconds the communication thread sleeps between tests of a reduction while the
    /// training thread computes (0: it only yields the CPU now and then).
    let pollMicroseconds: UInt32
    /// Whether the training thread is waiting for a reduction (then polling goes full speed).
    private let urgent = Atomic<Bool>(false)

    // Note [Polling]: Open MPI moves a non-blocking collective forward only inside MPI calls, so
    // the communication thread tests it in a loop. Testing flat out takes a whole core away from
    // the workers while backprop runs (on a 2-core machine, 2 ranks of 1 worker each ran at half
    // speed); sleeping 30-100 µs between tests still moves a shared-memory or TCP reduction along
    // (each test copies what has arrived) and gave twice the throughput. Once the training thread
    // waits for a bucket there is nothing left to compute, and the thread tests without sleeping.
    private var pollPause: (() -> Void)? {
        guard pollMicroseconds > 0 else { return nil }
        let us = pollMicroseconds
        return { [unowned self] in if !self.urgent.load(ordering: .relaxed) { usleep(us) } }
    }

    private func communicate() {
        defer { exited.signal() }
        var next = 0, step = 1
        let count = layout.buckets.count
        while true {
            let proceed: Bool = monitor.locked {
                while !ready[next] && !stopping { _ = monitor.wait(until: .infinity) }
                if stopping { return false }
                ready[next] = false
                inCollective = true
                return true
            }
            guard proceed else { return }
            let elements = layout.buckets[next].count
            let begin = TraceRecorder.now()
            do {
                let what = "gradient bucket \(next) of step \(step)"
                if let nodeSum {
                    try nodeSum.sum(offset: starts[next], count: elements, datatype: datatype, what: what, pause: pollPause)
                } else {
                    try communicator.allreduce(UnsafeMutableRawPointer(buffers[next].baseAddress), count: elements,
                                               datatype: datatype, op: .sum, what: what, pause: pollPause)
                }
            } catch {
                monitor.locked { failure = error; inCollective = false; monitor.broadcast() }
                return
            }
            let end = TraceRecorder.now()
            let bytes = elements * datatype.size
            monitor.locked {
                inCollective = false
                reduced[next] = true
                reduceSeconds += Double(end - begin) * 1e-9
                reducedBytes += bytes
                if tracing { events.append(CommunicationEvent(bucket: next, bytes: bytes, begin: begin, end: end)) }
                monitor.broadcast()
            }
            next += 1
            if next == count { next = 0; step += 1 }
        }
    }
}

/// One all-reduce of a gradient bucket, as the communication thread ran it.
public struct CommunicationEvent: Sendable, Equatable {
    /// The bucket (0: the last layers'), and the bytes it holds.
    public let bucket: Int
    public let bytes: Int
    /// Monotonic nanoseconds (`TraceRecorder.now()`), comparable with trace events.
    public let begin: UInt64
    public let end: UInt64
}
