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
    /// Longest remaining path (estimated nanoseconds) from each task to the end: critical path first.
    let priorities: [Int]

    init(bodies: [Body], info: [TaskInfo], dependencies: [[Int]], costs: [Double]) {
        self.bodies = bodies
        self.info = info
        self.dependencies = dependencies
        self.costs = costs
        // Reverse topological order: remaining[t] = cost[t] + max over successors.
        var remaining = costs
        for t in stride(from: bodies.count - 1, through: 0, by: -1) {
            for p in dependencies[t] { remaining[p] = Swift.max(remaining[p], costs[p] + remaining[t]) }
        }
        priorities = remaining.map { Int(Swift.min($0 * 1000, Double(Int.max / 2))) }
    }

    /// Runs every task in index order on the calling thread.
    func run() throws {
        for body in bodies { try body() }
    }
}
