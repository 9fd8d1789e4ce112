import Synchronization

extension Executor {
    /// Tells `observer` about every task of every run started from now on (runs already in
    /// progress keep the observers they started with). Adding the same observer twice makes it
    /// hear everything twice.
    ///
    /// ```swift
    /// let recorder = TraceRecorder()
    /// executor.addObserver(recorder)
    /// try executor.run(compiled)                 // recorded
    /// executor.removeObserver(recorder)
    /// ```
    public func addObserver(_ observer: any TaskObserver) { observerRegistry.add(observer) }

    /// Stops telling `observer` (one installation of it) about runs started from now on; false if
    /// it was not installed.
    @discardableResult
    public func removeObserver(_ observer: any TaskObserver) -> Bool { observerRegistry.remove(observer) }

    /// The observers told about every run, in the order they were added.
    public var observers: [any TaskObserver] { observerRegistry.all }

    /// The observers of a run about to start (nil if none), told that it starts.
    func startObserving(_ graph: CompiledGraph, with observer: (any TaskObserver)?) -> ObserverList? {
        var all = observerRegistry.all
        if let observer { all.append(observer) }
        let list = ObserverList(all, graph: graph)
        list?.runWillStart(graph, workers: pool.count)
        return list
    }
}

/// An executor's observers: changed under a lock, and a count that lets a run skip the lock
/// when there are none (the usual case).
final class ObserverRegistry: Sendable {
    private let list = Lock<[any TaskObserver]>([])
    private let count = Atomic<Int>(0)

    func add(_ observer: any TaskObserver) {
        list.withLock { list in
            list.append(observer)
            count.store(list.count, ordering: .releasing)
        }
    }

    func remove(_ observer: any TaskObserver) -> Bool {
        list.withLock { list in
            guard let i = list.firstIndex(where: { $0 === observer }) else { return false }
            list.remove(at: i)
            count.store(list.count, ordering: .releasing)
            return true
        }
    }

    var all: [any TaskObserver] {
        // Acquire pairs with the store in add: a run started after addObserver returned sees it.
        count.load(ordering: .acquiring) == 0 ? [] : list.withLock { $0 }
    }
}
