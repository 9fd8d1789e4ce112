import Scheduler

extension Executor {
    /// Runs a compiled graph `runs` times, one after another, recording every task and
    /// `parallelFor` piece, and returns their profile: the one-line way to see where a graph's
    /// time goes.
    ///
    ///     let profile = try executor.profile(compiled, runs: 10)
    ///     print(profile.summaryText())
    ///     try profile.write(to: URL(fileURLWithPath: "profile"))
    ///
    /// - Parameter tasks: what each task is (operation, category, shapes, flops), indexed like
    ///   the graph; nil names tasks after the graph's names.
    /// - Throws: the first error of a run (the runs after it do not start), or a `ProfileError`.
    public func profile(_ graph: CompiledGraph, runs: Int = 1, tasks: [ProfileTask]? = nil) throws -> Profile {
        let recorder = TraceRecorder()
        var recorded = [[TaskEvent]]()
        for _ in 0..<max(runs, 0) {
            try run(graph, observer: recorder)
            recorded.append(recorder.events)
            recorder.reset()
        }
        return try Profile(graph: graph, runs: recorded, tasks: tasks)
    }
}
