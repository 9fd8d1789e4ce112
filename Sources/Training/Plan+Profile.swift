import Profiling
import Scheduler
import Tensor

extension Plan {
    /// The plan's tasks described for a `Profile`: operation, category, shapes, flops and bytes,
    /// indexed like `compiled`, so traces of this plan read as operations rather than task numbers.
    public var profileTasks: [ProfileTask] {
        taskInfo.map { info in
            ProfileTask(
                name: info.name,
                category: ProfileCategory(info.category.rawValue),
                shape: info.shapes.map { $0.map(String.init).joined(separator: "x") }.joined(separator: ", "),
                flops: info.flops > 0 ? info.flops : nil,
                bytes: info.bytes > 0 ? info.bytes : nil,
                arguments: ["nodes": info.nodes.map(String.init).joined(separator: ",")])
        }
    }

    /// A profile of the runs recorded in `recorder` (runs of this plan, one after another).
    ///
    ///     let recorder = TraceRecorder()
    ///     for _ in 0..<10 { try plan.run(feeds: feeds, observer: recorder) }
    ///     try plan.profile(recorder).write(to: URL(fileURLWithPath: "profile"))
    public func profile(_ recorder: TraceRecorder) throws -> Profile {
        guard let compiled, let caller = callingThreadWorker else { throw PlanProfileError.serialPlan }
        // Runs small enough to stay on the calling thread report it as one more worker (Note
        // [Observed inline runs]): its track gets its own name.
        return try Profile(graph: compiled, events: recorder.events, tasks: profileTasks,
                           workerLabels: [caller: "calling thread"])
    }
}

/// A plan built without an executor runs its steps inline and records no scheduler trace.
public enum PlanProfileError: Error, CustomStringConvertible {
    case serialPlan
    public var description: String { "profile: the plan has no executor, so its runs record no trace" }
}
