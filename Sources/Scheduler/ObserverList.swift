/// The observers of one run, fixed when it starts: the executor's (in the order added), then the
/// run's own. A run without observers has none of these (`RunState.observers` is nil), which is
/// the one branch the workers pay per task.
final class ObserverList: @unchecked Sendable {
    // @unchecked Sendable: `items` is written once in init and only read afterwards; the
    // observers themselves are Sendable.
    /// The observers in raw memory: calls borrow them, where iterating an array would retain
    /// each one, a reference count shared by every worker.
    private let items: UnsafeMutablePointer<any TaskObserver>
    private let count: Int
    /// The run's graph, as the tasks report it.
    let graph: ObjectIdentifier

    /// nil when there is nobody to tell.
    init?(_ observers: [any TaskObserver], graph: CompiledGraph) {
        if observers.isEmpty { return nil }
        count = observers.count
        items = .allocate(capacity: count)
        items.initialize(from: observers, count: count)
        self.graph = ObjectIdentifier(graph)
    }

    deinit {
        items.deinitialize(count: count)
        items.deallocate()
    }

    func runWillStart(_ graph: CompiledGraph, workers: Int) {
        for i in 0..<count { items[i].runWillStart(graph, workers: workers) }
    }

    @inline(never)
    func taskWillStart(_ task: ObservedTask, worker: Int) {
        for i in 0..<count { items[i].taskWillStart(task, worker: worker) }
    }

    /// In reverse: the first observer's start and end bracket the others' calls.
    @inline(never)
    func taskDidEnd(_ task: ObservedTask, worker: Int) {
        var i = count
        while i > 0 { i -= 1; items[i].taskDidEnd(task, worker: worker) }
    }

    func runDidEnd(_ graph: CompiledGraph, error: (any Error)?) {
        var i = count
        while i > 0 { i -= 1; items[i].runDidEnd(graph, error: error) }
    }
}
