/// A plan's tasks as data: bodies, dependencies, metadata and priorities, in a topological order
/// (every dependency has a smaller index). `run` executes them.
final class PlanProgram: @unchecked Sendable {
    // `@unchecked Sendable`: immutable after init; the bodies are `@Sendable`.
    typealias Body = @Sendable () throws -> Void

    let bodies: [Body]
    let info: [TaskInfo]
    /// Predecessor task indices of each task.
    let dependencies: [[Int]]
    /// Estimated cost of each task in microseconds.
    let costs: [Double]
    /// Longest remaining path (estimated nanoseconds) from each task to the end: critical path first;
    /// with ranks (see `ParameterUpdate.priority`), the highest rank a task leads to comes first.
    let priorities: [Int]

    /// - Parameter ranks: per task, a scheduling rank (empty or all zeros: critical path only).
    init(bodies: [Body], info: [TaskInfo], dependencies: [[Int]], costs: [Double], ranks: [Int] = []) {
        self.bodies = bodies
        self.info = info
        self.dependencies = dependencies
        self.costs = costs
        // Reverse topological order: remaining[t] = cost[t] + max over successors.
        var remaining = costs
        for t in stride(from: bodies.count - 1, through: 0, by: -1) {
            for p in dependencies[t] { remaining[p] = Swift.max(remaining[p], costs[p] + remaining[t]) }
        }
        guard ranks.contains(where: { $0 != 0 }) else {
            priorities = remaining.map { Int(Swift.min($0 * 1000, Double(Int.max / 2))) }
            return
        }
        // A task's rank is the highest rank it leads to; the remaining path (at most 2^40 ns,
        // about 18 minutes) orders tasks of one rank.
        var rank = ranks
        for t in stride(from: bodies.count - 1, through: 0, by: -1) {
            for p in dependencies[t] { rank[p] = Swift.max(rank[p], rank[t]) }
        }
        let span = 1 << 40
        priorities = zip(remaining, rank).map { r, k in
            Swift.max(-(1 << 20), Swift.min(k, 1 << 20)) * span + Int(Swift.min(r * 1000, Double(span - 1)))
        }
    }

    /// Runs every task in index order on the calling thread.
    func run() throws {
        for body in bodies { try body() }
    }
}
