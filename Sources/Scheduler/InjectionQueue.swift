import Synchronization

/// The shared FIFO for work submitted from threads that are not workers of the pool.
///
/// A locked array is plenty here: outside submissions are one item per run or per
/// `parallelFor`, never one per task. `count` lets idle workers skip the lock when it is empty.
final class InjectionQueue: Sendable {
    // Lock (a pthread mutex) rather than Mutex: see `Lock` on ThreadSanitizer.
    private struct Storage {
        var items: [Int] = []
        var head = 0
    }
    private let storage = Lock(Storage())
    private let count = Atomic<Int>(0)

    func push(_ item: Int) {
        storage.withLock { $0.items.append(item) }
        // seq_cst so the parking protocol sees it (Note [Parking without lost wake-ups]).
        count.wrappingAdd(1, ordering: .sequentiallyConsistent)
    }

    func push(_ item: Int, times: Int) {
        guard times > 0 else { return }
        storage.withLock { s in for _ in 0..<times { s.items.append(item) } }
        count.wrappingAdd(times, ordering: .sequentiallyConsistent)
    }

    /// seq_cst: read by the parking re-check.
    var isEmpty: Bool { count.load(ordering: .sequentiallyConsistent) <= 0 }

    func pop() -> Int? {
        // Relaxed peek: a stale zero only delays this worker until its next look or a wake-up.
        guard count.load(ordering: .relaxed) > 0 else { return nil }
        let item: Int? = storage.withLock { s in
            guard s.head < s.items.count else { return nil }
            let x = s.items[s.head]
            s.head += 1
            if s.head == s.items.count {
                s.items.removeAll(keepingCapacity: true)
                s.head = 0
            } else if s.head >= 1024 && s.head * 2 >= s.items.count {
                s.items.removeFirst(s.head)
                s.head = 0
            }
            return x
        }
        if item != nil { count.wrappingSubtract(1, ordering: .relaxed) }
        return item
    }
}
