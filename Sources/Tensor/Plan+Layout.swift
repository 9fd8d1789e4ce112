/// What a plan decided, for tests and tools that check its structure: which tasks wait for which,
/// and where each value lives in the plan's buffers.
///
/// ```swift
/// let plan = try Plan(outputs: [y])
/// plan.taskDependencies[2]        // [1]: task 2 waits for task 1
/// plan.bufferOffsets[y.id]        // 128: y's bytes start 128 bytes into the plan's buffers
/// ```
extension Plan {
    /// Per task (indices as in `taskInfo`), the tasks it waits for, in increasing order; every one
    /// has a smaller index. Derived from the plan's one task graph (the compiled scheduler graph).
    public var taskDependencies: [[Int]] {
        let graph = program.graph
        var dependencies = [[Int]](repeating: [], count: graph.taskCount)
        for t in 0..<graph.taskCount { for s in graph.successors(of: t) { dependencies[s].append(t) } }
        return dependencies
    }

    /// For each node whose value lives in the plan's own buffers (placeholders, intermediates and
    /// outputs; reshapes share their input's), the byte offset of that value from the start of the
    /// buffers, by node id. Parameters and constants live in the graph and are not listed. Two
    /// nodes at one offset share a buffer: the later took it after every reader of the earlier.
    /// Offsets are multiples of 64 and end within `peakBytes`.
    public var bufferOffsets: [Int: Int] {
        let start = UnsafeRawPointer(arena), end = start + peakBytes
        var offsets: [Int: Int] = [:]
        for (id, address) in storage.enumerated() {
            guard let address else { continue }
            let p = UnsafeRawPointer(address)
            if p >= start && p < end { offsets[id] = p - start }
        }
        return offsets
    }
}
