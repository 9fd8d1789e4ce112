import Scheduler

/// A plan's tasks: bodies and metadata in a topological order (every dependency has a smaller
/// index), and their dependencies as the scheduler's compiled graph, the one representation of
/// them that executors run and profiles read. `run` executes the bodies in order on the calling
/// thread.
final class PlanProgram: @unchecked Sendable {
    // `@unchecked Sendable`: immutable after init; the bodies are `@Sendable`.
    typealias Body = @Sendable () throws -> Void

    let bodies: [Body]
    let info: [TaskInfo]
    /// Task `i` is `bodies[i]`, with its dependencies as edges; each task's cost is its estimated
    /// microseconds and its priority the longest remaining path (estimated nanoseconds) from it to
    /// the end, critical path first; with ranks (see `ParameterUpdate.priority`), the highest rank
    /// a task leads to comes first.
    let graph: CompiledGraph
    /// The estimated microseconds of all tasks together (the cost model's, see `PlanBuilder.TaskCost`).
    let estimatedMicroseconds: Double

    /// - Parameters:
    ///   - dependencies: predecessor task indices of each task, each smaller than the task's own.
    ///   - costs: estimated cost of each task in microseconds.
    ///   - ranks: per task, a scheduling rank (empty or all zeros: critical path only).
    init(bodies: [Body], info: [TaskInfo], dependencies: [[Int]], costs: [Double], ranks: [Int] = []) throws {
        self.bodies = bodies
        self.info = info
        estimatedMicroseconds = costs.reduce(0, +)
        let priorities = PlanProgram.priorities(dependencies: dependencies, costs: costs, ranks: ranks)
        let tasks = TaskGraph()
        tasks.reserve(tasks: bodies.count, edges: dependencies.reduce(0) { $0 + $1.count })
        for t in bodies.indices {
            tasks.addTask(info[t].name, cost: costs[t], priority: priorities[t], bodies[t])
            for d in dependencies[t] { tasks.addEdge(from: d, to: t) }
        }
        graph = try tasks.compile()
    }

    /// Longest remaining path (estimated nanoseconds) from each task to the end, ranks first.
    private static func priorities(dependencies: [[Int]], costs: [Double], ranks: [Int]) -> [Int] {
        let count = costs.count
        // Reverse topological order: remaining[t] = cost[t] + max over successors.
        var remaining = costs
        for t in stride(from: count - 1, through: 0, by: -1) {
            for p in dependencies[t] { remaining[p] = Swift.max(remaining[p], costs[p] + remaining[t]) }
        }
        guard ranks.contains(where: { $0 != 0 }) else {
            return remaining.map { Int(Swift.min($0 * 1000, Double(Int.max / 2))) }
        }
        // A task's rank is the highest rank it leads to; the remaining path (at most 2^40 ns,
        // about 18 minutes) orders tasks of one rank.
        var rank = ranks
        for t in stride(from: count - 1, through: 0, by: -1) {
            for p in dependencies[t] { rank[p] = Swift.max(rank[p], rank[t]) }
        }
        let span = 1 << 40
        return zip(remaining, rank).map { r, k in
            Swift.max(-(1 << 20), Swift.min(k, 1 << 20)) * span + Int(Swift.min(r * 1000, Double(span - 1)))
        }
    }

    /// Runs every task in index order on the calling thread.
    func run() throws {
        for body in bodies { try body() }
    }
}
