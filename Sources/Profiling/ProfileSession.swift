import Scheduler

/// Collects traced runs of one or more compiled graphs, run by run, into one `Profile`: the way
/// to profile a training loop whose batches run a few different plans (a last, smaller batch; an
/// evaluation plan), or any program that runs scheduler graphs one after another.
///
///     let recorder = TraceRecorder()
///     var session = ProfileSession()
///     for batch in batches {
///         try executor.run(compiled, observer: recorder)
///         session.add(run: recorder.events, of: compiled, tasks: describe(compiled))
///         recorder.reset()
///     }
///     try session.profile().write(to: URL(fileURLWithPath: "profile"))
///
/// Each graph's tasks appear once in the profile (the first `tasks` given for a graph are kept);
/// operations with the same name and category in several graphs share a row of the tables.
/// Memory grows with the number of events kept (about 56 bytes each).
public struct ProfileSession: Sendable {
    private var graphs: [(graph: CompiledGraph, offset: Int)] = []
    private var tasks: [ProfileTask] = []
    private var edges: [(Int, Int)] = []
    private var events: [ProfileEvent] = []
    private var outsideTask = -1
    /// Number of runs added so far.
    public private(set) var runCount = 0

    public init() {}

    /// Adds one run of `graph` from its recorded events (a `TraceRecorder`'s `events` after the
    /// run; reset the recorder before the next one).
    /// - Parameters:
    ///   - events: the run's recorded task events.
    ///   - graph: the compiled graph that ran.
    ///   - describe: what each task of `graph` is, indexed like the graph; read only the first
    ///     time `graph` is seen (nil: named after `graph.name(of:)`, category `.other`). A list of the
    ///     wrong length is replaced by the graph's names.
    public mutating func add(run events: [TaskEvent], of graph: CompiledGraph,
                             tasks describe: @autoclosure () -> [ProfileTask]? = nil) {
        let run = runCount
        add(events, runIndex: { _ in run }, of: graph, describe: describe)
        runCount += 1
    }

    /// Adds events of several runs of `graph` that ran one after another, recorded by one recorder:
    /// the k-th execution of each task belongs to the k-th of these runs, and a `parallelFor` piece
    /// to the run of the execution of its task that encloses it.
    public mutating func add(sequentialRuns events: [TaskEvent], of graph: CompiledGraph,
                             tasks describe: @autoclosure () -> [ProfileTask]? = nil) {
        let run = ProfileSession.inferRuns(events)
        let first = runCount
        add(events, runIndex: { first + run[$0] }, of: graph, describe: describe)
        runCount += (run.max() ?? -1) + 1
    }

    /// The profile of every run added.
    /// - Throws: `ProfileError` when the events are inconsistent (e.g. a task twice in one run).
    public func profile(workerLabels: [Int: String] = [:]) throws(ProfileError) -> Profile {
        try Profile(tasks: tasks, edges: edges, events: events, workerLabels: workerLabels)
    }

    private mutating func add(_ recorded: [TaskEvent], runIndex: (Int) -> Int, of graph: CompiledGraph,
                              describe: () -> [ProfileTask]?) {
        let offset: Int
        if let known = graphs.first(where: { $0.graph === graph }) {
            offset = known.offset
        } else {
            offset = tasks.count
            graphs.append((graph, offset))
            let given = describe()
            tasks += given?.count == graph.taskCount ? given! : (0..<graph.taskCount).map { ProfileTask(name: graph.name(of: $0)) }
            for t in 0..<graph.taskCount { for s in graph.successors(of: t) { edges.append((offset + t, offset + s)) } }
        }
        for (i, e) in recorded.enumerated() {
            var task = e.task >= 0 ? e.task : e.parent
            if task >= 0 {
                task += offset
            } else {
                // Pieces of a parallelFor called outside any task get a task of their own.
                if outsideTask < 0 {
                    outsideTask = tasks.count
                    tasks.append(ProfileTask(name: "parallelFor outside tasks"))
                }
                task = outsideTask
            }
            events.append(ProfileEvent(task: task, isPiece: e.task < 0, run: runIndex(i), worker: e.worker, cpu: e.cpu,
                                       beginNanos: e.beginNanos, endNanos: e.endNanos))
        }
    }

    /// Run of each event when runs followed one another: counts executions of each task in begin
    /// order; pieces take the run of the enclosing execution of their task, else of the latest run
    /// started before them.
    static func inferRuns(_ events: [TaskEvent]) -> [Int] {
        let order = events.indices.filter { events[$0].task >= 0 }.sorted {
            (events[$0].beginNanos, $0) < (events[$1].beginNanos, $1)
        }
        var seen = [Int: Int]()
        var run = [Int](repeating: 0, count: events.count)
        var executions = [Int: [(begin: UInt64, run: Int)]]()
        var runStarts = [UInt64]()
        for i in order {
            let t = events[i].task, k = seen[t, default: 0]
            seen[t] = k + 1
            run[i] = k
            executions[t, default: []].append((events[i].beginNanos, k))
            if runStarts.count == k { runStarts.append(events[i].beginNanos) }
        }
        for i in events.indices where events[i].task < 0 {
            let e = events[i]
            if e.parent >= 0, let enclosing = executions[e.parent]?.last(where: { $0.begin <= e.beginNanos }) {
                run[i] = enclosing.run
            } else {
                run[i] = max(0, (runStarts.lastIndex { $0 <= e.beginNanos }) ?? 0)
            }
        }
        return run
    }
}
