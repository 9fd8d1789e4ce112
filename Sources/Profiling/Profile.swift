import Scheduler

/// Where the time of a graph run went: per-operation and per-worker tables, the critical path,
/// the parallelism achieved, and writers for a Chrome trace, summaries, Graphviz and an HTML report.
///
/// Profiling any scheduler graph takes two lines after the runs:
///
///     let recorder = TraceRecorder()
///     for _ in 0..<steps { try executor.run(compiled, observer: recorder) }
///     let profile = try Profile(graph: compiled, events: recorder.events)   // tasks: [ProfileTask] adds labels
///     try profile.write(to: URL(fileURLWithPath: "profile"))  // trace.json, summary.*, graph.dot, report.html
///
/// A profile is plain data built from a task list (what each task is), dependency edges and
/// measured events, so it can also be built by hand, e.g. from another executor's log:
///
///     let tasks = [ProfileTask(name: "load"), ProfileTask(name: "left"),
///                  ProfileTask(name: "right"), ProfileTask(name: "join")]
///     let profile = try Profile(tasks: tasks, edges: [(0, 1), (0, 2), (1, 3), (2, 3)], events: events)
///     print(profile.summaryText())
///     try profile.write(to: URL(fileURLWithPath: "profile"))   // trace.json, summary.*, graph.dot, report.html
///
/// Several runs of the same graph (a training loop) go in one profile: give each event its run
/// index (or collect runs of one or more graphs with a `ProfileSession`). Tables aggregate all runs; the critical path is computed per run, and the one shown is
/// the median run's. Writers bound their output (see `ProfileOutputLimits`) and say so when they
/// sample or aggregate.
///
/// - Note: All statistics are computed once, in `init`; a profile is an immutable value.
public struct Profile: Sendable {
    /// What each task is, indexed like the graph.
    public let tasks: [ProfileTask]
    /// Edges `(from, to)`: `to` starts only after `from` ended, within each run.
    public let edges: [(from: Int, to: Int)]
    /// The measured events, sorted by worker, then begin time, enclosing events before nested ones.
    public let events: [ProfileEvent]
    /// For each event (same index as `events`): how many events of its worker enclose it.
    public let eventDepths: [Int]
    /// For each event: its duration minus that of the events directly nested in it on its worker.
    public let eventSelfNanos: [UInt64]
    /// Workers that appear in the events or the labels, ascending.
    public let workers: [Int]
    /// A label per worker, e.g. "worker 1 (core 3)".
    public let workerLabels: [Int: String]

    /// The earliest begin and latest end of any event (0 when there are none).
    public let originNanos: UInt64
    /// The latest end of any event.
    public let lastEndNanos: UInt64
    /// Time covered by runs: the union of each run's span from its first begin to its last end.
    /// Gaps between runs (work outside the graph) do not count.
    public let makespanNanos: UInt64
    /// Time workers were busy, summed over workers (nested events not counted twice); equals the
    /// sum of all events' self times.
    public let busyNanos: UInt64
    /// The sum of top-level task durations (pieces of nested loops are inside them).
    public let taskNanos: UInt64
    /// `busyNanos / makespanNanos`: how many workers were busy on average.
    public let averageParallelism: Double
    /// `parallelismHistogram[k]`: time, within runs, during which exactly k workers were busy.
    public let parallelismHistogram: [UInt64]

    /// One entry per run, by run index.
    public let runs: [RunStats]
    /// The operation table, by self time (largest first).
    public let operations: [OperationStats]
    /// Totals per category, forward, backward, update, other first.
    public let categories: [CategoryStats]
    /// One row per worker, in `workers` order.
    public let workerStats: [WorkerStats]
    /// Sum over runs of each run's critical path length.
    public let criticalPathNanos: UInt64
    /// The longest path by measured durations through the median run (by critical path length).
    public let criticalPath: TaskPath
    /// The chain that set the median run's makespan: from the task that ended last, back through
    /// the predecessor that ended last, with the wait before each step.
    public let bindingChain: TaskPath

    let successorStart: [Int]
    let successorList: [Int]

    /// Builds a profile and computes its statistics.
    /// - Parameters:
    ///   - tasks: what each task is, indexed like the graph.
    ///   - edges: dependencies `(from, to)` between task indices; they must not form a cycle.
    ///   - events: measured intervals; each task at most once per run (pieces any number of times).
    ///   - workerLabels: names for worker tracks; missing ones become "worker N (core C)".
    /// - Throws: `ProfileError` naming the task or worker when the input is inconsistent.
    public init(tasks: [ProfileTask], edges: [(Int, Int)] = [], events: [ProfileEvent],
                workerLabels: [Int: String] = [:]) throws(ProfileError) {
        let n = tasks.count
        self.tasks = tasks
        self.edges = edges.map { (from: $0.0, to: $0.1) }

        // Dependency graph as compressed successor/predecessor lists.
        var outDegree = [Int](repeating: 0, count: n), inDegree = [Int](repeating: 0, count: n)
        for (a, b) in edges {
            guard a >= 0, a < n else { throw .unknownTask(index: a, taskCount: n, context: "an edge") }
            guard b >= 0, b < n else { throw .unknownTask(index: b, taskCount: n, context: "an edge") }
            outDegree[a] += 1
            inDegree[b] += 1
        }
        let succ = Profile.compress(edges, degrees: outDegree, key: { $0.0 }, value: { $0.1 })
        let pred = Profile.compress(edges, degrees: inDegree, key: { $0.1 }, value: { $0.0 })
        successorStart = succ.start
        successorList = succ.list
        let order = try Profile.topologicalOrder(tasks: tasks, successors: succ, inDegree: inDegree,
                                                 predecessors: pred)

        // Events: validate, sort per worker, find nesting depth and self time.
        for e in events {
            guard e.task >= 0, e.task < n else {
                throw .unknownTask(index: e.task, taskCount: n, context: "an event on worker \(e.worker)")
            }
            guard e.endNanos >= e.beginNanos else {
                throw .negativeDuration(task: tasks[e.task].name, run: e.run,
                                        beginNanos: e.beginNanos, endNanos: e.endNanos)
            }
        }
        let sorted = events.sorted { a, b in
            if a.worker != b.worker { return a.worker < b.worker }
            if a.beginNanos != b.beginNanos { return a.beginNanos < b.beginNanos }
            if a.endNanos != b.endNanos { return a.endNanos > b.endNanos }
            return !a.isPiece && b.isPiece
        }
        self.events = sorted
        let nesting = try Profile.nest(sorted, tasks: tasks)
        eventDepths = nesting.depth
        eventSelfNanos = nesting.selfNanos

        var workerSet = Set(sorted.map(\.worker))
        workerSet.formUnion(workerLabels.keys)
        let workerList = workerSet.sorted()
        workers = workerList
        var labels = workerLabels
        for w in workerList where labels[w] == nil {
            labels[w] = Profile.defaultLabel(worker: w, cpus: Set(sorted.lazy.filter { $0.worker == w }.map(\.cpu)))
        }
        self.workerLabels = labels

        originNanos = sorted.map(\.beginNanos).min() ?? 0
        lastEndNanos = sorted.map(\.endNanos).max() ?? 0
        var busy: UInt64 = 0, taskTime: UInt64 = 0
        for (i, e) in sorted.enumerated() {
            if nesting.depth[i] == 0 { busy += e.durationNanos }
            if !e.isPiece { taskTime += e.durationNanos }
        }
        busyNanos = busy
        taskNanos = taskTime

        // Runs: spans, critical paths and binding chains.
        let analysis = try Profile.analyzeRuns(events: sorted, depth: nesting.depth, tasks: tasks, order: order,
                                               successors: succ, predecessors: pred)
        runs = analysis.runs
        criticalPath = analysis.criticalPath
        bindingChain = analysis.bindingChain
        criticalPathNanos = analysis.runs.reduce(0) { $0 + $1.criticalPathNanos }
        let makespan = Profile.unionLength(analysis.runs.map { ($0.beginNanos, $0.endNanos) })
        makespanNanos = makespan
        averageParallelism = makespan == 0 ? 0 : Double(busy) / Double(makespan)
        parallelismHistogram = Profile.histogram(events: sorted, depth: nesting.depth,
                                                 workers: workerSet.count, makespan: makespan)

        operations = Profile.operationTable(events: sorted, selfNanos: nesting.selfNanos, tasks: tasks, busy: busy)
        categories = Profile.categoryTable(events: sorted, selfNanos: nesting.selfNanos, tasks: tasks, busy: busy)
        workerStats = workerList.map { w in
            Profile.workerRow(worker: w, label: labels[w]!, events: sorted, depth: nesting.depth, makespan: makespan)
        }
    }

    /// The successors of a task, from the edges.
    public func successors(of task: Int) -> ArraySlice<Int> {
        successorList[successorStart[task]..<successorStart[task + 1]]
    }

    /// The name of a task's operation, with " [piece]" for pieces of its nested loop.
    func eventName(_ e: ProfileEvent) -> String {
        e.isPiece ? tasks[e.task].name + " [piece]" : tasks[e.task].name
    }
}

// MARK: - Building blocks of init (iterative, linear or n log n)

extension Profile {
    struct Adjacency: Sendable {
        var start: [Int]
        var list: [Int]
        subscript(_ t: Int) -> ArraySlice<Int> { list[start[t]..<start[t + 1]] }
    }

    static func compress(_ edges: [(Int, Int)], degrees: [Int], key: ((Int, Int)) -> Int,
                         value: ((Int, Int)) -> Int) -> Adjacency {
        var start = [Int](repeating: 0, count: degrees.count + 1)
        for i in 0..<degrees.count { start[i + 1] = start[i] + degrees[i] }
        var fill = start
        var list = [Int](repeating: 0, count: edges.count)
        for e in edges {
            list[fill[key(e)]] = value(e)
            fill[key(e)] += 1
        }
        return Adjacency(start: start, list: list)
    }

    /// Kahn's algorithm; on a cycle, walks predecessors among the unfinished tasks until one
    /// repeats, so the task named is on the cycle (not merely downstream of it).
    static func topologicalOrder(tasks: [ProfileTask], successors: Adjacency, inDegree: [Int],
                                 predecessors: Adjacency) throws(ProfileError) -> [Int] {
        var remaining = inDegree
        var order = [Int]()
        order.reserveCapacity(tasks.count)
        for t in 0..<tasks.count where remaining[t] == 0 { order.append(t) }
        var head = 0
        while head < order.count {
            let t = order[head]
            head += 1
            for s in successors[t] {
                remaining[s] -= 1
                if remaining[s] == 0 { order.append(s) }
            }
        }
        if order.count == tasks.count { return order }
        var seen = [Bool](repeating: false, count: tasks.count)
        var t = remaining.firstIndex { $0 > 0 }!
        while !seen[t] {
            seen[t] = true
            t = predecessors[t].first { remaining[$0] > 0 }!
        }
        throw .cycle(task: "\(tasks[t].name) (#\(t))")
    }

    /// Events sorted by worker, begin, end descending: a stack of open events per worker gives
    /// each event's depth and subtracts nested time from the enclosing event's self time.
    static func nest(_ events: [ProfileEvent], tasks: [ProfileTask]) throws(ProfileError)
        -> (depth: [Int], selfNanos: [UInt64]) {
        var depth = [Int](repeating: 0, count: events.count)
        var selfNanos = events.map(\.durationNanos)
        var open = [Int]()
        for (i, e) in events.enumerated() {
            if let top = open.last, events[top].worker != e.worker { open.removeAll(keepingCapacity: true) }
            while let top = open.last, events[top].endNanos <= e.beginNanos {
                open.removeLast()
            }
            if let top = open.last {
                guard e.endNanos <= events[top].endNanos else {
                    let a = events[top], name = { (x: ProfileEvent) in "\(tasks[x.task].name)\(x.isPiece ? " [piece]" : "") (task \(x.task), run \(x.run))" }
                    throw .overlappingEvents(worker: e.worker, first: name(a), second: name(e))
                }
                selfNanos[top] -= e.durationNanos
            }
            depth[i] = open.count
            open.append(i)
        }
        return (depth, selfNanos)
    }

    static func defaultLabel(worker: Int, cpus: Set<Int>) -> String {
        let known = cpus.filter { $0 >= 0 }.sorted()
        switch known.count {
        case 0: return "worker \(worker)"
        case 1: return "worker \(worker) (core \(known[0]))"
        case 2...4: return "worker \(worker) (cores \(known.map(String.init).joined(separator: ",")))"
        default: return "worker \(worker) (unpinned)"
        }
    }

    /// Length of the union of intervals.
    static func unionLength(_ intervals: [(UInt64, UInt64)]) -> UInt64 {
        var total: UInt64 = 0
        var current: (UInt64, UInt64)? = nil
        for (b, e) in intervals.sorted(by: { $0.0 < $1.0 }) {
            if let c = current, b <= c.1 {
                current = (c.0, max(c.1, e))
            } else {
                if let c = current { total += c.1 - c.0 }
                current = (b, e)
            }
        }
        if let c = current { total += c.1 - c.0 }
        return total
    }
}
