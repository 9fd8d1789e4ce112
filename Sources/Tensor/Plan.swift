import Kernels
import Scheduler
import Synchronization

/// A graph lowered to tasks: the nodes that the requested outputs, gradients and parameter updates
/// need, one task per operation (reshapes are free views), with buffers planned by liveness.
/// Build it once, run it many times with new feeds; parameters persist in the graph between runs.
///
/// ```swift
/// let plan = try Plan(outputs: [loss] + grads, updates: sgdSteps, executor: executor)
/// for batch in batches {
///     try plan.run(feeds: [x: batch.features, y: batch.labels])
///     print(try plan.value(of: loss).scalar)
/// }
/// ```
///
/// - Note: One plan runs one run at a time (a second concurrent `run` throws); different plans may
///   run concurrently on one executor. Their only shared state is the graph's parameter storage: do
///   not run a plan that updates a parameter concurrently with another that reads it.
public final class Plan<Scalar: TensorScalar>: @unchecked Sendable {
    // `@unchecked Sendable`: everything is immutable after init except the buffer contents (written by
    // tasks in an order the task graph fixes, and by `run`/`withFeed` only while `running` is held)
    // and `unfed` (touched only while `running` is held).

    /// What each task does (task `i` of the compiled scheduler graph), for profilers.
    public let taskInfo: [TaskInfo]
    /// Bytes of the plan's own buffers (intermediates, feeds, outputs) after liveness reuse: the
    /// plan's peak memory besides the graph's parameters and constants, which it reads in place.
    public let peakBytes: Int
    /// Bytes the same values would take with one buffer each (what liveness planning saved from).
    public let unplannedBytes: Int
    /// The forward and backward nodes the plan runs, and their data edges (for DOT writers).
    public let structure: PlanStructure

    let graphID: ObjectIdentifier
    /// The graph's parameter and constant storage this plan reads (kept alive by the plan).
    let boxes: [ValueBox<Scalar>]
    let arena: UnsafeMutableRawPointer
    /// Where each needed node's value lives.
    /// Where each node's value lives, by node id (nil: not needed by this plan).
    let storage: [UnsafeMutablePointer<Scalar>?]
    let outputs: Set<Int>
    let placeholders: [Int: String]
    let program: PlanProgram
    let running = Atomic<Bool>(false)
    /// Placeholders not fed yet (none after the first full feed: then checking costs nothing).
    var unfed: Set<Int>

    /// Lowers what `outputs` and `updates` need to one task graph.
    ///
    /// - Parameters:
    ///   - outputs: nodes whose values are read after a run (`value(of:)`); all from one graph.
    ///   - updates: parameter updates to run inside the plan (see `ParameterUpdate`).
    ///   - executor: the worker pool that runs the tasks (and the pieces large operations split into);
    ///     nil runs every task in order on the calling thread.
    ///   - fusion: fuse chains of elementwise operations into single tasks, run the elementwise
    ///     operations after a matrix product (bias, activation, an activation's derivative) as
    ///     its epilogue, and run a declared update (`ParameterUpdate.sgdRate`, `applyRange`) in its
    ///     gradient's product (on by default; off to compare, or to see every operation as its
    ///     own task in a profile). Results are bitwise the same either way, except an SGD update
    ///     folded into a product that sums k in several blocks (Note [Updates in the gradient's
    ///     product]).
    public init(outputs: [Node<Scalar>], updates: [ParameterUpdate<Scalar>] = [],
                executor: Executor? = nil, fusion: Bool = true) throws {
        guard let graph = outputs.first?.graph ?? updates.first?.parameter.graph else {
            throw GraphError(operation: "plan", shapes: [], message: "nothing to compute: no outputs and no updates")
        }
        for n in outputs + updates.flatMap({ [$0.parameter, $0.gradient] }) where n.graph !== graph || n.id >= graph.nodeCount {
            throw GraphError(operation: "plan", shapes: [], message: "node \(n.id) belongs to another graph")
        }
        for u in updates {
            guard case .parameter = u.parameter.operation else {
                throw GraphError(operation: "plan", shapes: [u.parameter.shape], location: u.parameter.location,
                                 message: "update target %\(u.parameter.id) is a \(u.parameter.operation.name), not a parameter")
            }
            guard u.gradient.shape == u.parameter.shape else {
                throw GraphError(operation: "plan", shapes: [u.parameter.shape, u.gradient.shape], location: u.gradient.location,
                                 message: "gradient shape differs from the parameter's")
            }
        }
        graphID = ObjectIdentifier(graph)
        let built = try PlanBuilder(graph: graph, outputs: outputs.map(\.id),
                                    updates: updates, loop: executor ?? SerialLoop(), fusion: fusion).build()
        taskInfo = built.program.info
        peakBytes = built.arenaBytes
        unplannedBytes = built.unplannedBytes
        structure = built.structure
        boxes = built.boxes
        arena = built.arena
        storage = built.storage
        self.outputs = Set(outputs.map(\.id))
        placeholders = built.placeholders
        unfed = Set(built.placeholders.keys)
        program = built.program
        self.executor = executor
        compiled = executor == nil ? nil : built.program.graph
    }

    /// The executor the plan runs on (nil: runs on the calling thread).
    public let executor: Executor?
    /// The scheduler graph a run executes (task `i` is `taskInfo[i]`); nil without an executor.
    public let compiled: CompiledGraph?

    deinit { arena.deallocate() }

    /// Number of tasks in one run.
    public var taskCount: Int { program.info.count }

    /// Runs every task once. `feeds` gives placeholders their values for this run (a placeholder not
    /// fed keeps its previous value; one never fed is an error). Throws on a bad feed or if a task
    /// throws (the first error); the plan stays usable.
    /// `observer` (a `TraceRecorder`, say) is told when each task (and each intra-op piece) begins
    /// and ends, besides the executor's own observers; a plan without an executor tells nobody. A
    /// plan that runs inline (`runsInline`) reports its tasks as worker `callingThreadWorker`.
    ///
    /// Unavailable in async code, where waiting for the workers would block a thread of Swift's
    /// cooperative pool: there, `try await run(feeds:observer:)` suspends instead.
    @available(*, noasync, message: "use the async form, `try await run(feeds:observer:)`, which does not block a thread")
    public func run(feeds: [Node<Scalar>: Tensor<Scalar>] = [:], observer: (any TaskObserver)? = nil) throws {
        try exclusive {
            try apply(feeds)
            if let executor, let compiled, !runsInline {
                try executor.run(compiled, observer: observer)
            } else if let executor, let compiled, observer != nil || !executor.observers.isEmpty {
                // Note [Observed inline runs]: on this thread, reported as one more worker.
                try runInlineObserved(executor: executor, compiled: compiled,
                                      observers: executor.observers + (observer.map { [$0] } ?? []))
            } else {
                try program.run()
            }
        }
    }

    /// Whether the blocking `run` executes the tasks in order on the calling thread although the
    /// plan has an executor: when the plan's estimated work is under `inlineLimitMicroseconds`,
    /// handing it to the workers and waiting for them costs more than they could save, and when
    /// the executor has one worker, which can only do what the waiting caller would (Note [Runs
    /// on one worker]). Results are the same either way (they never depend on the worker count).
    /// A run with an observer (the plan's or the executor's) stays inline too and reports its
    /// tasks as worker `callingThreadWorker` (Note [Observed inline runs]); the async `run` always
    /// uses the workers.
    public var runsInline: Bool {
        program.estimatedMicroseconds < Plan.inlineLimitMicroseconds || executor?.workerCount == 1
    }

    // Note [Runs on one worker]: a blocking run handed to a pool of one worker keeps the calling
    // thread asleep while the worker computes, so it adds two thread wake-ups (the worker's at the
    // start, the caller's at the end) and saves nothing. On this 2-vCPU VM each wake-up of an idle
    // vCPU costs tens of microseconds: a profile of the MLP step (784-1024-1024-10, SGD) on one
    // worker showed each `run` 173 µs (batch 64) and 158 µs (batch 256) longer than its tasks'
    // span, against 27-60 µs on two workers, whose second worker rarely sleeps. Steps alternated in
    // blocks of 8 within one process (the first 2 of each block left out, as the data moves to the
    // other core at each switch), batch 64: inline/handed-over 0.90-1.09, median 0.985 over 10
    // runs of 320 steps. `bench train` ran its one-thread plans without an executor for the same
    // reason; the plan now decides this itself, for every caller.

    // Note [Runtime metadata in a step]: generic code that runs unspecialized asks the runtime
    // for type metadata (`swift_getGenericMetadata`, a lookup in a locked cache) wherever it
    // touches a type built from `Scalar`. The trainer's feeds, loss and predictions went through
    // `withUnsafeFeed` and `withUnsafeValue` from the Training module: about 16 lookups per
    // training step (counted with a breakpoint on the lookup). Specialized for Float and Double
    // (`@_specialize` on both), they make none. With evaluation's row windows fixed alike
    // (`Dataset.withRowIndices`), the digits run's metadata work fell from 3.0-3.5% of its
    // samples to 0.9-1.3%.

    /// Plans estimated below this many microseconds of work run on the calling thread (see
    /// `runsInline`). Measured here: the digits MLP's training step (64-256-10, batch 32, under
    /// this limit) ran about 1.0M samples/s inline against 0.35-0.82M handed to two workers.
    public static var inlineLimitMicroseconds: Double { 250 }

    /// Runs every task once, as `run(feeds:observer:)` does, suspending the calling task while the
    /// executor's workers run the plan instead of blocking its thread.
    ///
    /// Cancelling the Swift task cancels the run (tasks not yet started are skipped) and this throws
    /// `CancellationError`; the plan stays usable, but outputs and parameters updated in the plan
    /// are then partly from this run (as after a task error). A plan without an executor computes
    /// on the calling task's thread, as any synchronous work does, and sees a cancellation only
    /// before it starts.
    ///
    /// ```swift
    /// try await plan.run(feeds: [x: batch])
    /// let loss = try plan.value(of: lossNode).scalar
    /// ```
    public func run(feeds: [Node<Scalar>: Tensor<Scalar>] = [:], observer: (any TaskObserver)? = nil) async throws {
        try acquire()
        defer { release() }
        try apply(feeds)
        if let executor, let compiled {
            try await executor.run(compiled, observer: observer)
        } else {
            try Task.checkCancellation()
            try program.run()
        }
    }

    /// Copies `feeds` into their placeholders and checks that every placeholder was fed once.
    /// Only while the plan is held (`exclusive` / `acquire`).
    private func apply(_ feeds: [Node<Scalar>: Tensor<Scalar>]) throws {
        for (node, value) in feeds {
            let target = try feedTarget(node, shape: value.shape)
            if let dst = target.baseAddress, target.count > 0 {
                value.withUnsafeBufferPointer { src in dst.update(from: src.baseAddress!, count: src.count) }
            }
            unfed.remove(node.id)
        }
        if !unfed.isEmpty, let missing = unfed.min() {
            throw GraphError(operation: "feed", shapes: [],
                             message: "placeholder '\(placeholders[missing]!)' (%\(missing)) was never fed")
        }
    }

    /// Writes a placeholder's value in place (no allocation), for loaders that fill batches directly;
    /// the value is used by the following runs. The buffer is valid only inside `body` (do not let
    /// it escape); a placeholder this plan does not read hands an empty buffer.
    ///
    /// ```swift
    /// try plan.withUnsafeFeed(x) { buffer in data.gather(rows: batch, into: buffer) }
    /// ```
    @_specialize(where Scalar == Float, R == Void)
    @_specialize(where Scalar == Double, R == Void)
    public func withUnsafeFeed<R>(_ node: Node<Scalar>, _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) throws -> R {
        try exclusive {
            let target = try feedTarget(node, shape: nil)
            unfed.remove(node.id)
            return try body(target)
        }
    }

    /// `withUnsafeFeed(_:_:)`, under its former name.
    @available(*, deprecated, renamed: "withUnsafeFeed(_:_:)")
    public func withFeed<R>(_ node: Node<Scalar>, _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) throws -> R {
        try withUnsafeFeed(node, body)
    }

    /// The value an output node had at the end of the last run (a copy).
    public func value(of node: Node<Scalar>) throws -> Tensor<Scalar> {
        try withUnsafeValue(of: node) { Tensor(shape: node.shape, scalars: Array($0)) }
    }

    /// Calls `body` with an output's value in place, without copying. The buffer is valid only inside
    /// `body` (do not let it escape), and no run of this plan may be in flight meanwhile.
    ///
    /// ```swift
    /// let first = try plan.withUnsafeValue(of: prediction) { $0[0] }
    /// ```
    @_specialize(where Scalar == Float, R == Void)
    @_specialize(where Scalar == Double, R == Void)
    @_specialize(where Scalar == Float, R == Float)
    @_specialize(where Scalar == Double, R == Double)
    public func withUnsafeValue<R>(of node: Node<Scalar>, _ body: (UnsafeBufferPointer<Scalar>) throws -> R) throws -> R {
        guard ObjectIdentifier(node.graph) == graphID, node.id < storage.count, let p = storage[node.id] else {
            throw GraphError(operation: "value", shapes: [node.shape], message: "node %\(node.id) is not part of this plan")
        }
        guard outputs.contains(node.id) || node.operation.isLeaf else {
            throw GraphError(operation: "value", shapes: [node.shape], location: node.location,
                             message: "node %\(node.id) (\(node.operation.name)) is not an output of this plan; its buffer is reused")
        }
        return try body(UnsafeBufferPointer(start: p, count: node.count))
    }

    /// `withUnsafeValue(of:_:)`, under its former name.
    @available(*, deprecated, renamed: "withUnsafeValue(of:_:)")
    public func withValue<R>(of node: Node<Scalar>, _ body: (UnsafeBufferPointer<Scalar>) throws -> R) throws -> R {
        try withUnsafeValue(of: node, body)
    }

    /// Whether this plan reads placeholder `node` (a placeholder its outputs do not need is not fed:
    /// `withUnsafeFeed` on it hands an empty buffer).
    public func reads(_ node: Node<Scalar>) -> Bool {
        ObjectIdentifier(node.graph) == graphID && placeholders[node.id] != nil
    }

    private func feedTarget(_ node: Node<Scalar>, shape: [Int]?) throws -> UnsafeMutableBufferPointer<Scalar> {
        guard ObjectIdentifier(node.graph) == graphID, node.id < node.graph.nodeCount else {
            throw GraphError(operation: "feed", shapes: shape.map { [$0] } ?? [], message: "node %\(node.id) belongs to another graph")
        }
        guard case let .placeholder(name) = node.operation else {
            throw GraphError(operation: "feed", shapes: [node.shape], location: node.location,
                             message: "node %\(node.id) is a \(node.operation.name), not a placeholder")
        }
        if let shape, shape != node.shape {
            throw GraphError(operation: "feed", shapes: [node.shape, shape], location: node.location,
                             message: "placeholder '\(name)' expects shape \(node.shape), was fed \(shape)")
        }
        guard node.id < storage.count, let p = storage[node.id], placeholders[node.id] != nil else {
            // Not needed by this plan: accept and ignore, so one feed dictionary serves several plans.
            return UnsafeMutableBufferPointer(start: nil, count: 0)
        }
        return UnsafeMutableBufferPointer(start: p, count: node.count)
    }

    private func exclusive<R>(_ body: () throws -> R) throws -> R {
        try acquire()
        defer { release() }
        return try body()
    }

    /// Takes the plan for one run or feed; throws if another holds it.
    private func acquire() throws {
        // Acquiring on success pairs with the releasing store in `release`: the previous run's feeds
        // and bookkeeping (`unfed`) happen-before this one's; a failed exchange means a run is in flight.
        guard running.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw GraphError(operation: "run", shapes: [], message: "this plan is already running (use one plan per concurrent run)")
        }
    }

    private func release() { running.store(false, ordering: .releasing) }
}

/// The nodes and data edges a plan runs, for drawing (`graph.dot`): each node with its operation,
/// shape, whether it belongs to the backward graph, and the task computing it (nil for leaves, views
/// and fused-away nodes are mapped to their task).
public struct PlanStructure: Sendable {
    public struct Node: Sendable, Hashable {
        public let id: Int
        public let operation: String
        public let shape: [Int]
        public let isGradient: Bool
        /// Index of the task that computes this node, if any.
        public let task: Int?
    }
    public struct Edge: Sendable, Hashable {
        public let from: Int
        public let to: Int
    }
    public let nodes: [Node]
    public let edges: [Edge]
}
