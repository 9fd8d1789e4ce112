#if canImport(Glibc)
import Glibc
#endif
import Kernels

/// Turns the part of a graph that a plan needs into a `PlanProgram`: prunes, makes one task per
/// operation (reshapes become views of their input's buffer), orders parameter updates after the
/// reads of their parameter, and plans buffers by liveness.
///
/// Note [Buffer reuse under parallel execution]: a buffer freed after its last consumer may be given
/// to a later task only if every consumer of the old value is an ancestor of that task in the task
/// graph; then no ordering edge has to be added and reuse never costs parallelism. Ancestry is
/// checked by a bounded backward search (64 tasks); when the search cannot prove it, the buffer is
/// not reused (safe, costs memory). Chains reuse well (the consumers are near); independent branches
/// keep their own buffers, which is what lets them run at the same time.
struct PlanBuilder<Scalar: TensorScalar> {
    let graph: Graph<Scalar>
    let outputs: [Int]
    let updates: [ParameterUpdate<Scalar>]
    let loop: any ParallelLoop
    /// Whether chains of elementwise operations fuse into one task.
    let fusion: Bool

    struct Built {
        let program: PlanProgram
        let arena: UnsafeMutableRawPointer
        let arenaBytes: Int
        let unplannedBytes: Int
        /// Where each node's value lives (nil for nodes the plan does not need), by node id.
        let storage: [UnsafeMutablePointer<Scalar>?]
        let placeholders: [Int: String]
        let boxes: [ValueBox<Scalar>]
        let structure: PlanStructure
    }

    static var alignment: Int { 64 }

    /// A free region of the arena and the tasks that last read it.
    struct Block { var offset: Int; var size: Int; var releasers: [Int] }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func build() throws -> Built {
        let records = graph.records
        let n = records.count

        // 1. Prune: what the outputs and updates need.
        var needed = [Bool](repeating: false, count: n)
        for o in outputs { needed[o] = true }
        for u in updates { needed[u.parameter.id] = true; needed[u.gradient.id] = true }
        for i in stride(from: n - 1, through: 0, by: -1) where needed[i] {
            for j in records[i].inputs { needed[j] = true }
        }

        // 2. One step per operation, or per group of fused elementwise operations (see Note [Fusion]);
        //    reshapes alias their input's storage (`root`).
        var root = Array(0..<n)
        var stepOf = [Int](repeating: -1, count: n)
        var members: [[Int]] = []
        var fusible: [Bool] = []          // per step: a group of elementwise nodes
        var rowLength: [Int] = []         // per step: the row length its row-broadcast members need (0: none)
        for i in 0..<n where needed[i] {
            let r = records[i]
            if case .reshape = r.operation { root[i] = root[r.inputs[0]]; continue }
            if r.operation.isLeaf { continue }
            let canFuse = fusion && Self.isFusible(r, records)
            let row = canFuse ? Self.rowLength(r, records) : 0
            if canFuse, let s = Self.fusionTarget(i, records, root: root, stepOf: stepOf, members: members,
                                                  fusible: fusible, rowLength: rowLength, row: row) {
                stepOf[i] = s
                members[s].append(i)
                if row > 0 { rowLength[s] = row }
                continue
            }
            stepOf[i] = members.count
            members.append([i])
            fusible.append(canFuse)
            rowLength.append(row)
        }
        let m = members.count
        let stepCount = m + updates.count

        // 3. Dependencies and the consumers of each stored value.
        var deps = [[Int]](repeating: [], count: stepCount)
        var consumers = [[Int]](repeating: [], count: n)
        for s in 0..<m {
            for i in members[s] {
                for j in records[i].inputs {
                    let r = root[j]
                    let p = stepOf[r]
                    if p >= 0 && p != s && !deps[s].contains(p) { deps[s].append(p) }
                    if p != s && consumers[r].last != s { consumers[r].append(s) }
                }
            }
        }
        var updated = Set<Int>()
        for (k, u) in updates.enumerated() {
            let s = m + k
            guard updated.insert(u.parameter.id).inserted else {
                throw GraphError(operation: "plan", shapes: [u.parameter.shape], location: u.parameter.location,
                                 message: "parameter %\(u.parameter.id) has two updates in one plan")
            }
            let g = root[u.gradient.id]
            if stepOf[g] >= 0 { deps[s].append(stepOf[g]) }
            // After every read of the parameter (its readers so far are all node steps), if it writes it.
            if u.writesParameter {
                for reader in consumers[root[u.parameter.id]] where !deps[s].contains(reader) { deps[s].append(reader) }
            }
            consumers[g].append(s)
        }

        // 4. A sequential order for liveness: node steps by id, each update right after its last dependency.
        var updatesAfter = [[Int]](repeating: [], count: m + 1)
        for k in 0..<updates.count { updatesAfter[(deps[m + k].max() ?? -1) + 1].append(m + k) }
        var sequence: [Int] = updatesAfter[0]
        sequence.reserveCapacity(stepCount)
        for s in 0..<m { sequence.append(s); sequence.append(contentsOf: updatesAfter[s + 1]) }
        var position = [Int](repeating: 0, count: stepCount)
        for (p, s) in sequence.enumerated() { position[s] = p }

        // 5. Buffers. Placeholders and outputs are pinned; other values free after their last consumer.
        let stride = MemoryLayout<Scalar>.stride
        func bytes(_ i: Int) -> Int {
            let b = Swift.max(records[i].shape.reduce(1, *) * stride, 1)
            return (b + Self.alignment - 1) / Self.alignment * Self.alignment
        }
        var pinned = [Bool](repeating: false, count: n)
        for o in outputs { pinned[root[o]] = true }
        var offset = [Int](repeating: -1, count: n)
        var top = 0
        var unplanned = 0
        var placeholders: [Int: String] = [:]
        for i in 0..<n where needed[i] {
            if case let .placeholder(name) = records[i].operation {
                offset[i] = top
                top += bytes(i)
                unplanned += bytes(i)
                placeholders[i] = name
            }
        }
        // Members of a fused group that only the group reads share buffers inside it (see below).
        var internalOnly = [Bool](repeating: false, count: n)
        for s in 0..<m where members[s].count > 1 {
            for i in members[s] where !pinned[i] && consumers[i].isEmpty { internalOnly[i] = true }
        }
        var releaseAt = [[Int]](repeating: [], count: stepCount)
        for s in 0..<m {
            for i in members[s] where !pinned[i] && !internalOnly[i] {
                let last = consumers[i].map { position[$0] }.max() ?? position[s]
                releaseAt[last].append(i)
            }
        }
        var free: [Block] = []
        var ancestors = AncestorSearch(count: stepCount)
        for (p, s) in sequence.enumerated() {
            if s < m {
                var searched = false
                // Inside a group, chunk c of a member is read by later members before any later
                // member writes chunk c, and chunks are disjoint, so a later member may take the
                // buffer of a member whose readers (all in the group) come no later than itself.
                var lastReader: [Int: Int] = [:]
                if members[s].count > 1 {
                    for i in members[s] { for j in records[i].inputs where internalOnly[root[j]] { lastReader[root[j]] = i } }
                }
                var groupFree: [Block] = []
                for i in members[s] {
                    let need = bytes(i)
                    unplanned += need
                    if let g = groupFree.lastIndex(where: { $0.size >= need && $0.size <= 2 * need }) {
                        offset[i] = groupFree[g].offset
                        groupFree.remove(at: g)
                        for j in records[i].inputs where lastReader[root[j]] == i {
                            groupFree.append(Block(offset: offset[root[j]], size: bytes(root[j]), releasers: [s]))
                            lastReader[root[j]] = nil
                        }
                        continue
                    }
                    defer {
                        for j in records[i].inputs where lastReader[root[j]] == i {
                            groupFree.append(Block(offset: offset[root[j]], size: bytes(root[j]), releasers: [s]))
                            lastReader[root[j]] = nil
                        }
                    }
                    var chosen: Int? = nil
                    var examined = 0
                    for b in free.indices.reversed() where free[b].size >= need && free[b].size <= 2 * need {
                        // Cheap first: the old value's readers are all direct inputs of this task.
                        if free[b].releasers.allSatisfy({ deps[s].contains($0) }) { chosen = b; break }
                        if !searched { ancestors.search(from: s, deps: deps); searched = true }
                        if free[b].releasers.allSatisfy({ ancestors.contains($0) }) { chosen = b; break }
                        examined += 1
                        if examined == 16 { break }
                    }
                    if let b = chosen {
                        offset[i] = free[b].offset
                        free.remove(at: b)
                    } else {
                        offset[i] = top
                        top += need
                    }
                }
                free.append(contentsOf: groupFree)
            }
            for r in releaseAt[p] { free.append(Block(offset: offset[r], size: bytes(r), releasers: consumers[r])) }
        }

        // 6. Storage addresses, once the buffers are known to fit in memory (a plan that cannot
        // fit is refused here, with what it needs, rather than dying in the allocator).
        let memory = PlanBuilder.physicalMemoryBytes
        if top > memory {
            throw GraphError(operation: "plan", shapes: [],
                             message: "its buffers need \(top) bytes (\(top >> 30) GiB), more than this machine's \(memory) bytes of memory")
        }
        let arena = UnsafeMutableRawPointer.allocate(byteCount: Swift.max(top, Self.alignment), alignment: Self.alignment)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(top, Self.alignment))
        var storage = [UnsafeMutablePointer<Scalar>?](repeating: nil, count: n)
        var boxes: [ValueBox<Scalar>] = []
        for i in 0..<n where needed[i] {
            let r = root[i]
            switch records[r].operation {
            case .parameter, .constant:
                let box = graph.boxes[r]!
                if r == i { boxes.append(box) }
                storage[i] = box.buffer.baseAddress!
            default:
                storage[i] = (arena + offset[r]).assumingMemoryBound(to: Scalar.self)
            }
        }

        // 7. Task bodies and metadata.
        var bodies: [PlanProgram.Body] = []
        var info: [TaskInfo] = []
        var costs: [Double] = []
        bodies.reserveCapacity(stepCount)
        info.reserveCapacity(stepCount)
        for s in 0..<m {
            var flops = 0.0, moved = 0.0
            var micro: [MicroOp<Scalar>] = []
            var body: PlanProgram.Body? = nil
            for i in members[s] {
                let r = records[i]
                let inputs = r.inputs.map { Operand<Scalar>(address: storage[$0]!, shape: records[$0].shape) }
                let output = Operand<Scalar>(address: storage[i]!, shape: r.shape)
                moved += Double((inputs.reduce(0) { $0 + $1.count } + output.count) * stride)
                if fusible[s] {
                    let (op, f) = Lowering<Scalar>.elementwise(r.operation, inputs: inputs, output: output)
                    micro.append(op)
                    flops += f
                } else {
                    let lowered = try Lowering<Scalar>.lower(r.operation, inputs: inputs, output: output,
                                                             location: r.location, loop: loop)
                    body = lowered.body
                    flops += lowered.flops
                }
            }
            if fusible[s] {
                body = Lowering<Scalar>.fused(micro, count: records[members[s][0]].shape.reduce(1, *),
                                              rowLength: rowLength[s], loop: loop)
            }
            let first = records[members[s][0]]
            let name: String
            if members[s].count == 1 {
                name = first.operation.name
            } else {
                var names: [String] = []
                for i in members[s] where !names.contains(records[i].operation.name) { names.append(records[i].operation.name) }
                name = "fused[\(members[s].count)] " + names.joined(separator: "+")
            }
            bodies.append(body!)
            info.append(TaskInfo(name: name, category: first.isGradient ? .backward : .forward,
                                 nodes: members[s], shapes: members[s].map { records[$0].shape },
                                 flops: flops, bytes: moved))
            costs.append(Self.cost(flops: flops, bytes: moved))
        }
        for u in updates {
            let count = u.parameter.count
            let p = Address(storage[u.parameter.id]!), g = Address(storage[u.gradient.id]!)
            let apply = u.apply
            bodies.append {
                apply(UnsafeMutableBufferPointer(start: p.pointer, count: count),
                      UnsafeBufferPointer(start: g.pointer, count: count))
            }
            let name: String
            if let given = u.name { name = given } else if case let .parameter(pn) = u.parameter.operation { name = "update \(pn)" } else { name = "update" }
            let moved = Double(3 * count * stride)
            info.append(TaskInfo(name: name, category: .update, nodes: [u.parameter.id], shapes: [u.parameter.shape],
                                 flops: Double(2 * count), bytes: moved))
            costs.append(Self.cost(flops: Double(2 * count), bytes: moved))
        }

        // 8. Structure for drawing.
        var nodes: [PlanStructure.Node] = []
        var edges: [PlanStructure.Edge] = []
        for i in 0..<n where needed[i] {
            let r = records[i]
            nodes.append(.init(id: i, operation: r.operation.name, shape: r.shape, isGradient: r.isGradient,
                               task: stepOf[i] >= 0 ? stepOf[i] : nil))
            for j in r.inputs { edges.append(.init(from: j, to: i)) }
        }

        let ranks = [Int](repeating: 0, count: m) + updates.map(\.priority)
        let program = try PlanProgram(bodies: bodies, info: info, dependencies: deps, costs: costs, ranks: ranks)
        return Built(program: program, arena: arena, arenaBytes: top, unplannedBytes: unplanned,
                     storage: storage, placeholders: placeholders, boxes: boxes,
                     structure: PlanStructure(nodes: nodes, edges: edges))
    }

    // Note [Fusion]: elementwise operations whose inputs are element-aligned with their output (same
    // element count), scalars, or row vectors broadcast over the output's rows (a bias; the group then
    // runs in chunks of whole rows) join the group (task) of one of their inputs, and the group runs each
    // member over a chunk of elements before moving to the next chunk, so a chain of small operations
    // costs one task and its intermediates stay in cache. Every member still writes its value (the
    // backward pass reads them). A node may join group G only if each of its inputs is a leaf, in G,
    // or in a task whose largest node id is below G's smallest: nothing outside G can then depend
    // on G and feed it back, so grouping never creates a cycle, and steps stay in topological order.
    // Forward and backward nodes never share a group (profiles label tasks by that).
    static func isFusible(_ r: Graph<Scalar>.Record, _ records: [Graph<Scalar>.Record]) -> Bool {
        let n = r.shape.reduce(1, *)
        switch r.operation {
        case .add, .sub, .mul, .div, .minimum, .maximum:
            return r.inputs.allSatisfy { let c = records[$0].shape.reduce(1, *); return c == n || c == 1 } || rowLength(r, records) > 0
        case .neg, .exp, .log, .sqrt, .tanh, .sigmoid, .relu, .gelu, .abs, .square, .clamp, .pow, .scale, .shift,
             .reluBackward, .tanhBackward, .sigmoidBackward, .geluBackward, .absBackward, .clampBackward:
            return true
        case .broadcastTo:
            return records[r.inputs[0]].shape.reduce(1, *) == 1
        default:
            return false
        }
    }

    /// For a binary op adding a row vector to a matrix (a bias: one input `[C]` or `[1, ..., C]`, the
    /// other of the output's shape `[..., C]`), the row length C; else 0. Groups holding one run in
    /// chunks of whole rows.
    static func rowLength(_ r: Graph<Scalar>.Record, _ records: [Graph<Scalar>.Record]) -> Int {
        guard r.operation.isBinaryBroadcasting, r.shape.count >= 2, let cols = r.shape.last, cols > 1 else { return 0 }
        let n = r.shape.reduce(1, *)
        guard n > cols else { return 0 }
        var sawRow = false
        for j in r.inputs {
            let s = records[j].shape, c = s.reduce(1, *)
            if c == n { continue }
            guard c == cols, s.last == cols else { return 0 }
            sawRow = true
        }
        return sawRow ? cols : 0
    }

    /// The group node `i` can join (the most recent one among its inputs' groups that is allowed).
    static func fusionTarget(_ i: Int, _ records: [Graph<Scalar>.Record], root: [Int], stepOf: [Int],
                             members: [[Int]], fusible: [Bool], rowLength: [Int], row: Int) -> Int? {
        let r = records[i]
        let count = r.shape.reduce(1, *)
        var best: Int? = nil
        for j in r.inputs {
            let s = stepOf[root[j]]
            guard s >= 0, fusible[s], s != best, records[members[s][0]].isGradient == r.isGradient,
                  row == 0 || rowLength[s] == 0 || rowLength[s] == row,
                  records[members[s][0]].shape.reduce(1, *) == count else { continue }
            let low = members[s][0]
            let ok = r.inputs.allSatisfy { k in
                let t = stepOf[root[k]]
                return t < 0 || t == s || members[t].last! < low
            }
            if ok && (best == nil || s > best!) { best = s }
        }
        return best
    }

    /// Estimated microseconds: a fixed dispatch cost plus compute at ~20 GFLOP/s or memory at ~10 GB/s.
    static func cost(flops: Double, bytes: Double) -> Double {
        0.3 + Swift.max(flops / 2e4, bytes / 1e4)
    }
}

/// Bounded backward search over task dependencies (see Note [Buffer reuse under parallel execution]).
struct AncestorSearch {
    private var stamp: [Int]
    private var current = 0
    private var queue: [Int] = []
    static var limit: Int { 64 }

    init(count: Int) { stamp = [Int](repeating: -1, count: count) }

    /// Marks up to `limit` ancestors of `task` (nearest first).
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

/// An unsafe pointer that task closures may capture.
///
/// - Note: `@unchecked Sendable` because the memory it points to is only touched by tasks the task
///   graph orders (writers before readers; reuse only after every reader, see PlanBuilder's note).
struct Address<Scalar>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Scalar>
    init(_ pointer: UnsafeMutablePointer<Scalar>) { self.pointer = pointer }
}

/// A value's storage and shape, as lowering sees it (always contiguous row-major).
struct Operand<Scalar> {
    let address: UnsafeMutablePointer<Scalar>
    let shape: [Int]
    var count: Int { shape.reduce(1, *) }
    var pointer: Address<Scalar> { Address(address) }
}

extension PlanBuilder {
    /// Bytes of physical memory (Int.max when the system does not say).
    static var physicalMemoryBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return Int.max }
        return pages.multipliedReportingOverflow(by: size).overflow ? Int.max : pages * size
    }
}
