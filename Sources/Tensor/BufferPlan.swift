/// Phase 4 of `PlanBuilder`: where in the plan's arena each value lives. Placeholders and outputs
/// keep their buffers for the whole run; any other value's buffer is free after its last reader
/// and may be taken by a later value (Note [Buffer reuse under parallel execution]).
///
/// Note [Buffer reuse under parallel execution]: a buffer freed after its last consumer may be given
/// to a later task only if every consumer of the old value is an ancestor of that task in the task
/// graph; then no ordering edge has to be added and reuse never costs parallelism. Ancestry is
/// checked by a bounded backward search (`AncestorSearch.limit` tasks); when the search cannot
/// prove it, the buffer is not reused (safe, costs memory). Chains reuse well (the consumers are
/// near); independent branches keep their own buffers, which is what lets them run at the same time.
///
/// Inside a fused group a second free list applies: the group runs its members chunk by chunk, and
/// chunk c of a member is read by later members before any later member writes chunk c (chunks are
/// disjoint), so a member that only the group reads frees its buffer to the members after its last
/// reader in the group, with no ancestry to prove.
struct BufferPlan<Scalar: TensorScalar> {
    /// Buffer alignment and granularity in bytes: one cache line, and the widest vector (AVX-512)
    /// loads aligned, so no two buffers share a line (no false sharing between tasks).
    static var alignment: Int { 64 }
    /// A free block is taken only by a value that needs more than 1/`maxWaste` of it: a small
    /// value would otherwise hold a large block that a later large value needed (fragmentation).
    static var maxWaste: Int { 2 }
    /// How many free blocks that fit but fail the cheap reuse test (all old readers are direct
    /// inputs) get the ancestor search before the value takes fresh memory: bounds planning time
    /// to O(steps · 16) on graphs with long free lists; the nearest (most recently freed) come first.
    static var candidateLimit: Int { 16 }

    /// Per node id, the byte offset of its buffer in the arena (-1: none; parameters and constants
    /// live in the graph, views in their root's buffer, and unneeded nodes nowhere).
    private(set) var offset: [Int]
    /// The arena's size: the plan's peak bytes.
    private(set) var arenaBytes = 0
    /// What the values would take with one buffer each.
    private(set) var unplannedBytes = 0
    /// The needed placeholders, by node id, with their names.
    private(set) var placeholders: [Int: String] = [:]

    /// A free region of the arena and the steps that last read it (a later value may take it
    /// once they are all its step's ancestors).
    struct Block { var offset: Int; var size: Int; var releasers: [Int] }

    /// Bytes of node `i`'s buffer (at least one element's worth rounded up to `alignment`).
    static func bytes(_ shape: [Int]) -> Int {
        let b = Swift.max(shape.reduce(1, *) * MemoryLayout<Scalar>.stride, 1)
        return (b + alignment - 1) / alignment * alignment
    }

    init(_ records: [Graph<Scalar>.Record], needed: [Bool], outputs: [Int], steps: PlanSteps<Scalar>, order: PlanOrder) {
        let n = records.count, m = steps.count
        let members = steps.members, root = steps.root
        let consumers = order.consumers, deps = order.dependencies
        func bytes(_ i: Int) -> Int { Self.bytes(records[i].shape) }
        offset = [Int](repeating: -1, count: n)

        // Placeholders first, for the whole run.
        for i in 0..<n where needed[i] {
            if case let .placeholder(name) = records[i].operation {
                offset[i] = arenaBytes
                arenaBytes += bytes(i)
                unplannedBytes += bytes(i)
                placeholders[i] = name
            }
        }
        // Outputs are never freed; group members only their group reads free inside it.
        var pinned = [Bool](repeating: false, count: n)
        for o in outputs { pinned[root[o]] = true }
        var internalOnly = [Bool](repeating: false, count: n)
        for s in 0..<m where members[s].count > 1 {
            for i in members[s] where !pinned[i] && consumers[i].isEmpty { internalOnly[i] = true }
            // A column sum reads its value's blocks after every member ran on them (Note [Bias
            // gradients from the product's blocks]): that value keeps its buffer to the step's end.
            for i in steps.columnSums[s] { internalOnly[root[records[i].inputs[0]]] = false }
        }
        // Values freed at each position of the sequence (after their last reader there).
        var releaseAt = [[Int]](repeating: [], count: order.sequence.count)
        for s in 0..<m {
            for i in members[s] where !pinned[i] && !internalOnly[i] {
                let last = consumers[i].map { order.position[$0] }.max() ?? order.position[s]
                releaseAt[last].append(i)
            }
        }

        var free: [Block] = []
        var ancestors = AncestorSearch(count: order.sequence.count)
        for (p, s) in order.sequence.enumerated() {
            if s < m {
                var searched = false
                // Each internal-only value's last reader in the group; it frees the value to `groupFree`.
                var lastReader: [Int: Int] = [:]
                if members[s].count > 1 {
                    for i in members[s] { for j in records[i].inputs where internalOnly[root[j]] { lastReader[root[j]] = i } }
                }
                var groupFree: [Block] = []
                for i in members[s] {
                    let need = bytes(i)
                    unplannedBytes += need
                    if let g = groupFree.lastIndex(where: { Self.fits($0, need) }) {
                        offset[i] = groupFree[g].offset
                        groupFree.remove(at: g)
                    } else if let b = Self.reusable(free, need: need, step: s, deps: deps, ancestors: &ancestors, searched: &searched) {
                        offset[i] = free[b].offset
                        free.remove(at: b)
                    } else {
                        offset[i] = arenaBytes
                        arenaBytes += need
                    }
                    for j in records[i].inputs where lastReader[root[j]] == i {
                        groupFree.append(Block(offset: offset[root[j]], size: bytes(root[j]), releasers: [s]))
                        lastReader[root[j]] = nil
                    }
                }
                free.append(contentsOf: groupFree)
            }
            // A value no other step reads (read only inside its own step) is free once that step is done.
            for r in releaseAt[p] {
                free.append(Block(offset: offset[r], size: bytes(r), releasers: consumers[r].isEmpty ? [steps.stepOf[r]] : consumers[r]))
            }
        }
    }

    /// Whether a value of `need` bytes may take `block` (large enough, and not wastefully so).
    static func fits(_ block: Block, _ need: Int) -> Bool {
        block.size >= need && block.size <= maxWaste * need
    }

    /// The most recently freed block of `free` that fits `need` bytes and whose old readers all come
    /// before `step` in the task graph, looking at most `candidateLimit` blocks past the cheap test.
    static func reusable(_ free: [Block], need: Int, step s: Int, deps: [[Int]], ancestors: inout AncestorSearch,
                         searched: inout Bool) -> Int? {
        var examined = 0
        for b in free.indices.reversed() where fits(free[b], need) {
            // Cheap first: the old value's readers are all direct inputs of this task.
            if free[b].releasers.allSatisfy({ deps[s].contains($0) }) { return b }
            if !searched { ancestors.search(from: s, deps: deps); searched = true }
            if free[b].releasers.allSatisfy({ ancestors.contains($0) }) { return b }
            examined += 1
            if examined == candidateLimit { return nil }
        }
        return nil
    }
}

/// Bounded backward search over task dependencies (see Note [Buffer reuse under parallel execution]).
struct AncestorSearch {
    private var stamp: [Int]
    private var current = 0
    private var queue: [Int] = []
    /// Tasks the search may collect: enough to reach back over a chain's recent steps and a few
    /// branches (where reuse pays), few enough that planning stays linear in the task count.
    static var limit: Int { 64 }

    init(count: Int) { stamp = [Int](repeating: -1, count: count) }

    /// Marks ancestors of `task`, nearest first, until `limit` tasks are collected.
    mutating func search(from task: Int, deps: [[Int]]) {
        current = task
        queue.removeAll(keepingCapacity: true)
        queue.append(task)
        var head = 0
        while head < queue.count && queue.count < Self.limit {
            let t = queue[head]
            head += 1
            for d in deps[t] where stamp[d] != current {
                stamp[d] = current
                queue.append(d)
            }
        }
    }

    func contains(_ task: Int) -> Bool { stamp[task] == current }
}
