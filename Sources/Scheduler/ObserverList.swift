/// The observers of one run, fixed when it starts: the executor's (in the order added), then the
/// run's own. A run without observers has none of these (`RunState.observers` is nil), which is
/// the one branch the workers pay per task.
final class ObserverList: Sendable {
    let observers: [any TaskObserver]

    /// nil when there is nobody to tell.
    init?(_ observers: [any TaskObserver]) {
        if observers.isEmpty { return nil }
        self.observers = observers
    }

    func runWillStart(_ graph: CompiledGraph, workers: Int) {
        for o in observers { o.runWillStart(graph, workers: workers) }
    }

    @inline(never)
    func taskWillStart(_ task: ObservedTask, worker: Int) {
        for o in observers { o.taskWillStart(task, worker: worker) }
    }

    /// In reverse: the first observer's start and end bracket the others' calls.
    @inline(never)
    func taskDidEnd(_ task: ObservedTask, worker: Int) {
        var i = observers.count
        while i > 0 { i -= 1; observers[i].taskDidEnd(task, worker: worker) }
    }

    func runDidEnd(_ graph: CompiledGraph, error: (any Error)?) {
        var i = observers.count
        while i > 0 { i -= 1; observers[i].runDidEnd(graph, error: error) }
    }
}
