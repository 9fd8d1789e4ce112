extension Profile {
    /// Profiles runs of a compiled graph from a `TraceRecorder`'s events: two lines for any
    /// scheduler graph.
    ///
    ///     let recorder = TraceRecorder()
    ///     for _ in 0..<steps { try executor.run(compiled, trace: recorder) }
    ///     let profile = try Profile(graph: compiled, events: recorder.events)
    ///     try profile.write(to: URL(fileURLWithPath: "profile"))
    ///
    /// The events may span several runs that ran one after another (as a training loop does):
    /// the k-th execution of a task belongs to run k, and a `parallelFor` piece to the run of the
    /// execution of its task that encloses it in time. For runs that overlapped in time, record
    /// each into its own recorder and use `init(graph:runs:tasks:workerLabels:)`.
    /// - Parameters:
    ///   - tasks: what each task is (operation, category, shapes, flops), indexed like the graph;
    ///     nil names each task after `graph.name(of:)` with category `.other`.
    ///   - workerLabels: track names; by default "worker N (core C)" from the CPUs in the events.
    public init(graph: CompiledGraph, events: [TaskEvent], tasks: [ProfileTask]? = nil,
                workerLabels: [Int: String] = [:]) throws(ProfileError) {
        // Top-level executions in begin order; the k-th of a task is run k.
        let order = events.indices.filter { events[$0].task >= 0 }.sorted {
            (events[$0].beginNanos, $0) < (events[$1].beginNanos, $1)
        }
        var seen = [Int: Int]()
        var run = [Int](repeating: 0, count: events.count)
        var executions = [Int: [(begin: UInt64, end: UInt64, run: Int)]]()
        var runStarts = [(begin: UInt64, run: Int)]()
        for i in order {
            let t = events[i].task
            let k = seen[t, default: 0]
            seen[t] = k + 1
            run[i] = k
            executions[t, default: []].append((events[i].beginNanos, events[i].endNanos, k))
            if runStarts.count == k { runStarts.append((events[i].beginNanos, k)) }
        }
        for i in events.indices where events[i].task < 0 {
            let e = events[i]
            if e.parent >= 0, let list = executions[e.parent],
               let enclosing = list.last(where: { $0.begin <= e.beginNanos }) {
                run[i] = enclosing.run
            } else {
                run[i] = runStarts.last(where: { $0.begin <= e.beginNanos })?.run ?? 0
            }
        }
        try self.init(graph: graph, events: events, runIndex: run, tasks: tasks, workerLabels: workerLabels)
    }

    /// Profiles runs of a compiled graph given each run's events separately (runs may overlap).
    public init(graph: CompiledGraph, runs: [[TaskEvent]], tasks: [ProfileTask]? = nil,
                workerLabels: [Int: String] = [:]) throws(ProfileError) {
        let flat = runs.flatMap { $0 }
        let runIndex = runs.enumerated().flatMap { r, events in [Int](repeating: r, count: events.count) }
        try self.init(graph: graph, events: flat, runIndex: runIndex, tasks: tasks, workerLabels: workerLabels)
    }

    private init(graph: CompiledGraph, events: [TaskEvent], runIndex: [Int], tasks: [ProfileTask]?,
                 workerLabels: [Int: String]) throws(ProfileError) {
        var described = tasks ?? (0..<graph.taskCount).map { ProfileTask(name: graph.name(of: $0)) }
        guard described.count == graph.taskCount else {
            throw .unknownTask(index: described.count, taskCount: graph.taskCount,
                               context: "the task descriptions (one per graph task)")
        }
        // Pieces of a parallelFor called outside any task get a task of their own.
        let outside = described.count
        if events.contains(where: { $0.task < 0 && $0.parent < 0 }) {
            described.append(ProfileTask(name: "parallelFor outside tasks"))
        }
        var edges = [(Int, Int)]()
        edges.reserveCapacity(graph.edgeCount)
        for t in 0..<graph.taskCount { for s in graph.successors(of: t) { edges.append((t, s)) } }
        let converted = events.indices.map { i in
            let e = events[i]
            return ProfileEvent(task: e.task >= 0 ? e.task : e.parent >= 0 ? e.parent : outside, isPiece: e.task < 0,
                                run: runIndex[i], worker: e.worker, cpu: e.cpu,
                                beginNanos: e.beginNanos, endNanos: e.endNanos)
        }
        try self.init(tasks: described, edges: edges, events: converted, workerLabels: workerLabels)
    }
}
