import Scheduler

extension Profile {
    /// Profiles runs of a compiled graph from a `TraceRecorder`'s events: two lines for any
    /// scheduler graph.
    ///
    ///     let recorder = TraceRecorder()
    ///     for _ in 0..<steps { try executor.run(compiled, observer: recorder) }
    ///     let profile = try Profile(graph: compiled, events: recorder.events)
    ///     try profile.write(to: URL(fileURLWithPath: "profile"))
    ///
    /// The events may span several runs that ran one after another (as a training loop does):
    /// the k-th execution of a task belongs to run k, and a `parallelFor` piece to the run of the
    /// execution of its task that encloses it in time. For runs that overlapped in time, record
    /// each into its own recorder and use `init(graph:runs:tasks:workerLabels:)`; for runs of
    /// several graphs, use a `ProfileSession`.
    /// - Parameters:
    ///   - graph: the compiled graph whose runs the events record.
    ///   - events: the recorded task events (a `TraceRecorder`'s).
    ///   - tasks: what each task is (operation, category, shapes, flops), indexed like the graph;
    ///     nil names each task after `graph.name(of:)` with category `.other`.
    ///   - workerLabels: track names; by default "worker N (core C)" from the CPUs in the events.
    public init(graph: CompiledGraph, events: [TaskEvent], tasks: [ProfileTask]? = nil,
                workerLabels: [Int: String] = [:]) throws(ProfileError) {
        try Profile.checkCount(tasks, graph)
        var session = ProfileSession()
        session.add(sequentialRuns: events, of: graph, tasks: tasks)
        self = try session.profile(workerLabels: workerLabels)
    }

    /// Profiles runs of a compiled graph given each run's events separately (runs may overlap).
    public init(graph: CompiledGraph, runs: [[TaskEvent]], tasks: [ProfileTask]? = nil,
                workerLabels: [Int: String] = [:]) throws(ProfileError) {
        try Profile.checkCount(tasks, graph)
        var session = ProfileSession()
        for run in runs { session.add(run: run, of: graph, tasks: tasks) }
        self = try session.profile(workerLabels: workerLabels)
    }

    private static func checkCount(_ tasks: [ProfileTask]?, _ graph: CompiledGraph) throws(ProfileError) {
        if let tasks, tasks.count != graph.taskCount {
            throw .unknownTask(index: tasks.count, taskCount: graph.taskCount,
                               context: "the task descriptions (one per graph task)")
        }
    }
}
