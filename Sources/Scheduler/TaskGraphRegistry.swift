import Synchronization

/// The task graphs alive in this process, so that a `TaskHandle` can be a plain value (a slot, a
/// generation and a task index) that never dangles.
///
/// Note [Handles that cannot dangle]
/// A handle used to hold an unowned(unsafe) reference to its graph: reading it after the graph was
/// deinitialized was undefined behaviour. A safe `unowned` reference costs an atomic reference
/// count operation when a handle is made and another when it is dropped (measured: +50% on
/// building a million-task graph). Instead every graph registers in a slot of this table when it
/// is created and bumps the slot's generation when it is deinitialized; a handle carries the slot
/// and the generation it was made in. Using a handle looks the slot up (two loads and a compare,
/// no reference counting) and traps with a message if the generation moved on: the graph is gone.
/// Slots are reused; the generation tells the old graph from the new one.
final class TaskGraphRegistry: @unchecked Sendable {
    // @unchecked Sendable: entries are atomics; chunks are allocated under the lock, published with
    // a release store, and never freed; the free list is behind the lock.
    static let shared = TaskGraphRegistry()

    static let chunkBits = 12
    static let chunkSize = 1 << chunkBits
    static let maxChunks = 1 << 12   // up to 16M graphs alive at once

    /// Per chunk: the address of `2 * chunkSize` atomics (generation, graph) pairs, or 0.
    private let chunks: UnsafeMutablePointer<Atomic<Int>>
    private let state = Lock<(free: [Int32], used: Int)>((free: [], used: 0))

    private init() {
        chunks = .allocate(capacity: TaskGraphRegistry.maxChunks)
        for i in 0..<TaskGraphRegistry.maxChunks { (chunks + i).initialize(to: Atomic(0)) }
    }

    @inline(__always)
    private func entry(_ slot: Int) -> UnsafeMutablePointer<Atomic<Int>> {
        // Acquire pairs with the release store that published the chunk.
        let chunk = chunks[slot >> TaskGraphRegistry.chunkBits].load(ordering: .acquiring)
        return UnsafeMutablePointer<Atomic<Int>>(bitPattern: chunk).unsafelyUnwrapped
            + 2 * (slot & (TaskGraphRegistry.chunkSize - 1))
    }

    /// Registers `graph` (without retaining it); returns its slot and generation.
    func register(_ graph: TaskGraph) -> (slot: Int32, generation: UInt32) {
        let slot: Int = state.withLock { s in
            if let slot = s.free.popLast() { return Int(slot) }
            let slot = s.used
            let c = slot >> TaskGraphRegistry.chunkBits
            precondition(c < TaskGraphRegistry.maxChunks,
                         "TaskGraph: more than \(TaskGraphRegistry.maxChunks * TaskGraphRegistry.chunkSize) graphs alive at once")
            if slot & (TaskGraphRegistry.chunkSize - 1) == 0 {
                let chunk = UnsafeMutablePointer<Atomic<Int>>.allocate(capacity: 2 * TaskGraphRegistry.chunkSize)
                for i in 0..<(2 * TaskGraphRegistry.chunkSize) { (chunk + i).initialize(to: Atomic(0)) }
                chunks[c].store(Int(bitPattern: chunk), ordering: .releasing)
            }
            s.used += 1
            return slot
        }
        let e = entry(slot)
        e[1].store(Int(bitPattern: Unmanaged.passUnretained(graph).toOpaque()), ordering: .relaxed)
        let generation = e[0].load(ordering: .relaxed)
        return (Int32(slot), UInt32(truncatingIfNeeded: generation))
    }

    /// Called by the graph's deinit: its handles stop resolving, and the slot can be reused.
    func unregister(slot: Int32) {
        let e = entry(Int(slot))
        e[0].wrappingAdd(1, ordering: .relaxed)
        e[1].store(0, ordering: .relaxed)
        state.withLock { $0.free.append(slot) }
    }

    /// Calls `body` with the graph in `slot` if it is still the one of `generation`, without
    /// retaining it; traps with a message naming `use` otherwise.
    @inline(__always)
    func withGraph<R>(slot: Int32, generation: UInt32, for use: @autoclosure () -> String,
                      _ body: (TaskGraph) -> R) -> R {
        let e = entry(Int(slot))
        // Relaxed: a graph and its handles are used from one thread at a time (documented), so
        // these words were written by this thread or handed over with the graph.
        guard UInt32(truncatingIfNeeded: e[0].load(ordering: .relaxed)) == generation,
              let p = UnsafeRawPointer(bitPattern: e[1].load(ordering: .relaxed)) else {
            fatalError("TaskHandle: \(use()) after its TaskGraph was deinitialized; keep the graph alive while you use its handles")
        }
        return Unmanaged<TaskGraph>.fromOpaque(p)._withUnsafeGuaranteedRef(body)
    }
}
