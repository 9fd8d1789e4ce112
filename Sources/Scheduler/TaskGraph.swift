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
    @exclusivity(unchecked) var bodies: [Body] = []
    @exclusivity(unchecked) var names: [String] = []
    @exclusivity(unchecked) var costs: [Double] = []
    @exclusivity(unchecked) var priorities: [Int] = []
    @exclusivity(unchecked) var edgeFrom: [Int32] = []
    @exclusivity(unchecked) var edgeTo: [Int32] = []
    var foreignEdge: SchedulerError? = nil   // the first bad edge, thrown by compile()

    public init() {}

    /// Number of tasks added so far.
    public var taskCount: Int { bodies.count }
    /// Number of edges added so far (duplicates count).
    public var edgeCount: Int { edgeFrom.count }

    /// Adds a task. `cost` is an estimate in arbitrary units (profilers and planners read it);
    /// `priority` orders tasks that are ready at the same time (higher first).
    @discardableResult
    public func addTask(_ name: String, cost: Double = 1, priority: Int = 0,
                        _ body: @escaping Body) -> TaskHandle {
        precondition(bodies.count < Int(Int32.max), "TaskGraph: more than \(Int32.max) tasks")
        bodies.append(body)
        names.append(name)
        costs.append(cost)
        priorities.append(priority)
        return TaskHandle(graph: self, index: bodies.count - 1)
    }

    /// Reserves room for `tasks` tasks and `edges` edges (avoids regrowth when building big graphs).
    public func reserve(tasks: Int, edges: Int) {
        bodies.reserveCapacity(tasks); names.reserveCapacity(tasks)
        costs.reserveCapacity(tasks); priorities.reserveCapacity(tasks)
        edgeFrom.reserveCapacity(edges); edgeTo.reserveCapacity(edges)
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
        edgeFrom.append(Int32(truncatingIfNeeded: from))
        edgeTo.append(Int32(truncatingIfNeeded: to))
    }

    @inline(__always)
    func addEdge(from: TaskHandle, to: TaskHandle) {
        guard from.graph === self, to.graph === self else {
            if foreignEdge == nil {
                let other = from.graph === self ? to : from
                foreignEdge = .foreignTask(operation: "precede", task: other.graph.names[other.index])
            }
            return
        }
        edgeFrom.append(Int32(truncatingIfNeeded: from.index))
        edgeTo.append(Int32(truncatingIfNeeded: to.index))
    }
}

/// A task in a `TaskGraph`, used to add dependencies.
public struct TaskHandle {
    let graph: TaskGraph
    /// The task's index in its graph (and in the compiled graph).
    public let index: Int

    /// The task's name.
    public var name: String { graph.names[index] }

    /// Makes `other` run after this task.
    @inline(__always)
    public func precede(_ other: TaskHandle) { graph.addEdge(from: self, to: other) }

    /// Makes every task in `others` run after this task.
    public func precede(_ others: TaskHandle...) { for o in others { graph.addEdge(from: self, to: o) } }

    /// Makes this task run after `other`.
    @inline(__always)
    public func succeed(_ other: TaskHandle) { graph.addEdge(from: other, to: self) }

    /// Makes this task run after every task in `others`.
    public func succeed(_ others: TaskHandle...) { for o in others { graph.addEdge(from: o, to: self) } }
}
