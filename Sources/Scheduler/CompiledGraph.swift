/// A validated task graph in flat arrays: successor lists in compressed-row form, a join counter
/// slot for every task with two or more predecessors, and the roots in priority order.
///
/// Immutable and `Sendable`: run it any number of times, on several executors or concurrently on
/// one; every run keeps its own counters (see `RunState`).
///
/// ```swift
/// let compiled = try graph.compile()
/// for _ in 0..<100 { try executor.run(compiled) }
/// print(compiled.name(of: 0), compiled.successors(of: 0))
/// ```
public final class CompiledGraph: @unchecked Sendable {
    // @unchecked Sendable: everything is written once in `init` and only read afterwards; the
    // unsafe buffers are owned by this object and freed in deinit.

    /// Number of tasks.
    public let taskCount: Int
    /// Number of edges.
    public let edgeCount: Int
    /// Number of tasks without predecessors.
    public var rootCount: Int { rootTotal }

    let succOffsets: UnsafeMutablePointer<Int32>   // taskCount + 1
    let successorList: UnsafeMutablePointer<Int32> // edgeCount; each row by descending priority
    let successorJoin: UnsafeMutablePointer<Int32> // edgeCount; the join slot of that successor, or -1
    let joinInit: UnsafeMutablePointer<Int32>      // joinTotal; the in-degree of each join
    let roots: UnsafeMutablePointer<Int32>         // rootTotal; descending priority
    let bodies: UnsafePointer<TaskBody>            // taskCount; points into `bodyStorage`
    let joinTotal: Int
    let rootTotal: Int
    let maxOutDegree: Int
    /// The graph's bodies array, shared copy-on-write with the TaskGraph (no per-task copy). A
    /// `let` array is never mutated, so its buffer never moves and `bodies` stays valid.
    private let bodyStorage: [TaskBody]
    private let info: [TaskInfo]
    private let inDegree: [Int32]

    /// The name given to task `index`.
    public func name(of index: Int) -> String { info[index].name }
    /// The cost estimate given to task `index`.
    public func cost(of index: Int) -> Double { info[index].cost }
    /// The priority given to task `index`.
    public func priority(of index: Int) -> Int { info[index].priority }
    /// Indexes of the tasks that wait for task `index`.
    public func successors(of index: Int) -> [Int] {
        (Int(succOffsets[index])..<Int(succOffsets[index + 1])).map { Int(successorList[$0]) }
    }
    /// Number of predecessors of task `index`.
    public func predecessorCount(of index: Int) -> Int { Int(inDegree[index]) }

    init(_ graph: TaskGraph) throws {
        if let error = graph.foreignEdge { throw error }
        let n = graph.bodies.count
        let e = graph.edges.count
        precondition(e < Int(Int32.max), "TaskGraph: more than \(Int32.max) edges")
        taskCount = n
        edgeCount = e

        // Every buffer this object will own comes from `owned`, which frees them all if `init`
        // leaves by an error (whichever step throws); on success `deinit` frees them instead.
        var owned = OwnedBuffers()
        defer { owned.releaseUnlessKept() }

        // Compressed rows: count, prefix-sum, scatter (keeps insertion order within a row).
        let offsets = owned.allocate(n + 1)
        offsets.initialize(repeating: 0, count: n + 1)
        var inDegree = [Int32](repeating: 0, count: n)
        let succ = owned.allocate(max(e, 1))
        var maxOut: Int32 = 0
        var allForward = true   // every edge from a lower to a higher index: acyclic for sure
        graph.edges.withUnsafeBufferPointer { edges in
            inDegree.withUnsafeMutableBufferPointer { inDegree in
                for edge in edges {
                    offsets[Int(edge.from) + 1] += 1
                    inDegree[Int(edge.to)] += 1
                    allForward = allForward && edge.from < edge.to
                }
            }
            for i in 0..<n {
                maxOut = max(maxOut, offsets[i + 1])
                offsets[i + 1] += offsets[i]
            }
            let cursor = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
            defer { cursor.deallocate() }
            cursor.initialize(from: offsets, count: n)
            for edge in edges {
                let f = Int(edge.from)
                succ[Int(cursor[f])] = edge.to
                cursor[f] += 1
            }
        }
        succOffsets = offsets
        successorList = succ
        maxOutDegree = Int(maxOut)

        // Graphs built in dependency order (the common case) have only forward edges and need
        // no check; otherwise Kahn's algorithm, iteratively, must order every task.
        if !allForward {
            try inDegree.withUnsafeBufferPointer { inDegree in
                try CompiledGraph.checkAcyclic(n: n, offsets: offsets, succ: succ, inDegree: inDegree.baseAddress!,
                                               names: graph.info)
            }
        }

        // Priorities: successor rows and roots by descending priority (the first ready successor
        // runs inline, the others are pushed so that they pop in row order; roots are claimed
        // in order).
        let info = graph.info
        let hasPriorities = graph.hasPriorities
        if hasPriorities {
            for i in 0..<n {
                let row = UnsafeMutableBufferPointer(start: succ + Int(offsets[i]),
                                                     count: Int(offsets[i + 1] - offsets[i]))
                if row.count > 1 { CompiledGraph.stableSort(row) { info[Int($0)].priority > info[Int($1)].priority } }
            }
        }
        // Join slots: only tasks with two or more predecessors need a counter per run. Two
        // passes over raw memory (count, then fill): no per-task array appends.
        var rootTotal = 0
        var slots = 0
        for d in inDegree {
            if d == 0 { rootTotal += 1 } else if d >= 2 { slots += 1 }
        }
        let roots = owned.allocate(max(rootTotal, 1))
        let joinInit = owned.allocate(max(slots, 1))
        let slotOf = UnsafeMutablePointer<Int32>.allocate(capacity: max(n, 1))
        defer { slotOf.deallocate() }
        var r = 0, j: Int32 = 0
        for i in 0..<n {
            let d = inDegree[i]
            if d == 0 { roots[r] = Int32(i); r += 1 }
            if d >= 2 {
                joinInit[Int(j)] = d
                slotOf[i] = j
                j += 1
            } else {
                slotOf[i] = -1
            }
        }
        let successorJoin = owned.allocate(max(e, 1))
        for k in 0..<e { successorJoin[k] = slotOf[Int(succ[k])] }
        if hasPriorities {
            CompiledGraph.stableSort(UnsafeMutableBufferPointer(start: roots, count: rootTotal)) {
                info[Int($0)].priority > info[Int($1)].priority
            }
        }
        self.roots = roots
        self.rootTotal = rootTotal
        self.successorJoin = successorJoin
        self.joinInit = joinInit
        self.joinTotal = slots
        self.inDegree = inDegree
        self.info = info
        bodyStorage = graph.bodies
        bodies = bodyStorage.withUnsafeBufferPointer { $0.baseAddress ?? UnsafePointer(bitPattern: 16)! }
        owned.keep()   // from here on, deinit frees them
    }

    deinit {
        succOffsets.deallocate()
        successorList.deallocate()
        successorJoin.deallocate()
        joinInit.deallocate()
        roots.deallocate()
    }

    /// Throws `SchedulerError.cycle` naming a task on a cycle if not every task can be ordered.
    private static func checkAcyclic(n: Int, offsets: UnsafePointer<Int32>, succ: UnsafePointer<Int32>,
                                     inDegree: UnsafePointer<Int32>, names: [TaskInfo]) throws {
        guard n > 0 else { return }
        let remaining = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        defer { remaining.deallocate() }
        remaining.initialize(from: inDegree, count: n)
        let queue = UnsafeMutablePointer<Int32>.allocate(capacity: n)
        defer { queue.deallocate() }
        var tail = 0
        for i in 0..<n where remaining[i] == 0 { queue[tail] = Int32(i); tail += 1 }
        var head = 0
        while head < tail {
            let t = Int(queue[head]); head += 1
            for k in Int(offsets[t])..<Int(offsets[t + 1]) {
                let s = Int(succ[k])
                remaining[s] -= 1
                if remaining[s] == 0 { queue[tail] = Int32(s); tail += 1 }
            }
        }
        guard tail < n else { return }
        // Every unordered task has an unordered predecessor; walking predecessors n times from
        // any of them must end on a cycle (pigeonhole).
        var pred = [Int32](repeating: -1, count: n)
        for t in 0..<n where remaining[t] > 0 {
            for k in Int(offsets[t])..<Int(offsets[t + 1]) where remaining[Int(succ[k])] > 0 {
                pred[Int(succ[k])] = Int32(t)
            }
        }
        var node = (0..<n).first { remaining[$0] > 0 }!
        for _ in 0..<n { node = Int(pred[node]) }
        throw SchedulerError.cycle(task: names[node].name, index: node)
    }

    /// Insertion sort for short rows, merge sort otherwise; stable, so equal priorities keep the
    /// order the edges were added in.
    private static func stableSort(_ buf: UnsafeMutableBufferPointer<Int32>, by less: (Int32, Int32) -> Bool) {
        if buf.count <= 16 {
            for i in 1..<buf.count {
                let x = buf[i]
                var j = i - 1
                while j >= 0 && less(x, buf[j]) { buf[j + 1] = buf[j]; j -= 1 }
                buf[j + 1] = x
            }
            return
        }
        let sorted = Array(buf).enumerated().sorted { a, b in
            less(a.element, b.element) || (!less(b.element, a.element) && a.offset < b.offset)
        }
        for (i, x) in sorted.enumerated() { buf[i] = x.element }
    }
}

extension TaskGraph {
    /// Validates the graph and freezes it into a `CompiledGraph`.
    ///
    /// Throws `SchedulerError.cycle` naming a task on a cycle, or `.foreignTask` if an edge joins
    /// a task of another graph. Later changes to this graph do not affect the compiled one.
    public func compile() throws -> CompiledGraph { try CompiledGraph(self) }
}

/// The raw buffers `CompiledGraph.init` allocates, freed together unless `keep()` hands them to
/// the finished object: so that no error path (today a cycle; tomorrow any new check) leaks them.
private struct OwnedBuffers {
    private var buffers: [UnsafeMutablePointer<Int32>] = []
    private var kept = false

    /// An uninitialized buffer of `count` Int32s, freed by `releaseUnlessKept()` unless kept.
    mutating func allocate(_ count: Int) -> UnsafeMutablePointer<Int32> {
        let buffer = UnsafeMutablePointer<Int32>.allocate(capacity: count)
        buffers.append(buffer)
        return buffer
    }

    /// The object owns the buffers now (its deinit frees them).
    mutating func keep() { kept = true }

    mutating func releaseUnlessKept() {
        if !kept { for buffer in buffers { buffer.deallocate() } }
        buffers = []
    }
}
