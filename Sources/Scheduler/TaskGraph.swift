/// A task graph under construction: closures with names and dependencies.
///
/// Build it once, `compile()` it, and run the compiled graph as often as needed, concurrently if
/// you like. Tasks get an optional cost estimate (for profilers and planners) and a priority:
/// among tasks that become ready together, higher priorities run first.
///
/// ```swift
/// let graph = TaskGraph()
/// let load = graph.addTask("load") { try readInput() }
/// let use = graph.addTask("use", cost: 2.0, priority: 1) { process() }
/// load.precede(use)
/// let compiled = try graph.compile()
/// try Executor().run(compiled)
/// ```
///
/// - Note: A `TaskGraph` is built from one thread at a time; the compiled graph is what is shared.
public final class TaskGraph {
    /// The work of one task; it may throw to fail its run.
    public typealias Body = @Sendable () throws -> Void

    // Unchecked exclusivity: a TaskGraph is used from one thread at a time (documented), and the
    // dynamic checks on these class properties cost more than the appends themselves.
    // Bodies (hot when running) are apart from names, costs and priorities (cold).
    @exclusivity(unchecked) var bodies: [TaskBody] = []
    @exclusivity(unchecked) var info: [TaskInfo] = []
    @exclusivity(unchecked) var edges: [Edge] = []
    var hasPriorities = false   // any task with a priority other than 0
    var foreignEdge: SchedulerError? = nil   // the first bad edge, thrown by compile()
    /// Where this graph is registered, and the generation its handles carry (Note [Handles that
    /// cannot dangle]).
    private(set) var slot: Int32 = -1
    private(set) var generation: UInt32 = 0

    public init() {
        (slot, generation) = TaskGraphRegistry.shared.register(self)
    }

    deinit { TaskGraphRegistry.shared.unregister(slot: slot) }

    /// Number of tasks added so far.
    public var taskCount: Int { bodies.count }
    /// Number of edges added so far (duplicates count).
    public var edgeCount: Int { edges.count }

    /// Adds a task. `cost` is an estimate in arbitrary units (profilers and planners read it);
    /// `priority` orders tasks that are ready at the same time (higher first): the roots, and
    /// the successors one task releases together. It is a hint between workers, not a global
    /// order: a worker that steals takes the oldest ready task of its victim.
    @discardableResult
    public func addTask(_ name: String, cost: Double = 1, priority: Int = 0,
                        _ body: @escaping Body) -> TaskHandle {
        precondition(bodies.count < Int(Int32.max), "TaskGraph: more than \(Int32.max) tasks")
        bodies.append(TaskBody(call: body))
        info.append(TaskInfo(name: name, cost: cost, priority: priority))
        if priority != 0 { hasPriorities = true }
        return TaskHandle(slot: slot, generation: generation, index: bodies.count - 1)
    }

    /// Reserves room for `tasks` tasks and `edges` edges (avoids regrowth when building big graphs).
    public func reserve(tasks: Int, edges: Int) {
        bodies.reserveCapacity(tasks)
        info.reserveCapacity(tasks)
        self.edges.reserveCapacity(edges)
    }

    /// Makes task `to` run after task `from`, by index (as `TaskHandle.index` and `addTask`
    /// order give them): for programs that build graphs from their own arrays. An index out of
    /// range makes `compile()` throw.
    @inline(__always)
    public func addEdge(from: Int, to: Int) {
        guard from >= 0, from < bodies.count, to >= 0, to < bodies.count else {
            if foreignEdge == nil {
                foreignEdge = .invalidArgument("addEdge: task index \(from) -> \(to) out of range 0..<\(bodies.count)")
            }
            return
        }
        edges.append(Edge(from: Int32(truncatingIfNeeded: from), to: Int32(truncatingIfNeeded: to)))
    }

    /// Whether `handle` is a task of this graph.
    @inline(__always)
    func owns(_ handle: TaskHandle) -> Bool { handle.slot == slot && handle.generation == generation }

    @inline(__always)
    func addEdge(from: TaskHandle, to: TaskHandle) {
        guard owns(from), owns(to) else {
            if foreignEdge == nil {
                let other = owns(from) ? to : from
                foreignEdge = .foreignTask(operation: "precede", task: other.name)
            }
            return
        }
        edges.append(Edge(from: Int32(truncatingIfNeeded: from.index), to: Int32(truncatingIfNeeded: to.index)))
    }
}

/// A task in a `TaskGraph`, used to add dependencies.
///
/// ```swift
/// let graph = TaskGraph()
/// let a = graph.addTask("a") {}, b = graph.addTask("b") {}
/// a.precede(b)
/// ```
///
/// A handle is a plain value (it names its graph without keeping it alive, like an index) that
/// cannot dangle: one used after its graph was deinitialized traps with "TaskHandle: ... after its
/// TaskGraph was deinitialized", and an edge between tasks of two graphs makes `compile()` throw
/// `SchedulerError.foreignTask`. (Note [Handles that cannot dangle] in `TaskGraphRegistry`.)
public struct TaskHandle {
    let slot: Int32
    let generation: UInt32
    /// The task's index in its graph (and in the compiled graph).
    public let index: Int

    init(slot: Int32, generation: UInt32, index: Int) {
        self.slot = slot
        self.generation = generation
        self.index = index
    }

    /// Calls `body` with this handle's graph; traps if the graph is gone.
    @inline(__always)
    func withGraph<R>(_ use: StaticString, _ body: (TaskGraph) -> R) -> R {
        TaskGraphRegistry.shared.withGraph(slot: slot, generation: generation, for: "\(use) on task #\(index)", body)
    }

    /// The task's name.
    public var name: String { withGraph("name") { $0.info[index].name } }

    /// Makes `other` run after this task.
    @inline(__always)
    public func precede(_ other: TaskHandle) { withGraph("precede") { $0.addEdge(from: self, to: other) } }

    /// Makes every task in `others` run after this task.
    public func precede(_ others: TaskHandle...) {
        withGraph("precede") { g in for o in others { g.addEdge(from: self, to: o) } }
    }

    /// Makes this task run after `other`.
    @inline(__always)
    public func succeed(_ other: TaskHandle) { withGraph("succeed") { $0.addEdge(from: other, to: self) } }

    /// Makes this task run after every task in `others`.
    public func succeed(_ others: TaskHandle...) {
        withGraph("succeed") { g in for o in others { g.addEdge(from: o, to: self) } }
    }
}

/// A task's closure in a struct field.
///
/// Stored directly in an `Array` (or any generic container) a closure is reabstracted to the
/// generic calling convention: every element becomes a thunk with its own heap context, which
/// costs an allocation per task when building and a cache miss per task when running. A struct
/// field keeps the closure as it is.
struct TaskBody {
    let call: TaskGraph.Body
}

/// What a task is called and how it is ranked: read by `compile` and by profilers, never by the
/// executor's hot loop.
struct TaskInfo {
    var name: String
    var cost: Double
    var priority: Int
}

/// One dependency: `to` waits for `from`.
struct Edge {
    var from: Int32
    var to: Int32
}
