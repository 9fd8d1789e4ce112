/// The observers of one run, fixed when it starts: the executor's (in the order added), then the
/// run's own. A run without observers has none of these (`RunState.observers` is nil), which is
/// the one branch the workers pay per task.
final class ObserverList: Sendable {
    /// The first observer, in a `let` of its own: calls borrow it, where a load from an array
    /// retains and releases it per call, a reference count every worker would share.
    private let first: any TaskObserver
    /// Any further observers (usually none), called after `first` (before it, for ends).
    private let others: [any TaskObserver]
    /// The run's graph, as the tasks report it.
    let graph: ObjectIdentifier

    /// nil when there is nobody to tell.
    init?(_ observers: [any TaskObserver], graph: CompiledGraph) {
        guard let first = observers.first else { return nil }
        self.first = first
        others = Array(observers.dropFirst())
        self.graph = ObjectIdentifier(graph)
    }

    func runWillStart(_ graph: CompiledGraph, workers: Int) {
        first.runWillStart(graph, workers: workers)
        for o in others { o.runWillStart(graph, workers: workers) }
    }

    @inline(never)
    func taskWillStart(_ task: ObservedTask, worker: Int) {
        first.taskWillStart(task, worker: worker)
        if !others.isEmpty { for o in others { o.taskWillStart(task, worker: worker) } }
    }

    /// In reverse: the first observer's start and end bracket the others' calls.
    @inline(never)
    func taskDidEnd(_ task: ObservedTask, worker: Int) {
        if !others.isEmpty { for o in others.reversed() { o.taskDidEnd(task, worker: worker) } }
        first.taskDidEnd(task, worker: worker)
    }

    func runDidEnd(_ graph: CompiledGraph, error: (any Error)?) {
        for o in others.reversed() { o.runDidEnd(graph, error: error) }
        first.runDidEnd(graph, error: error)
    }
}
