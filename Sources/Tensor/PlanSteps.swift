/// Phase 2 of `PlanBuilder`: the plan's steps (future tasks), one per operation or per group of
/// fused elementwise operations (Note [Fusion]); reshapes are views of their input's storage.
///
/// Note [Fusion]: elementwise operations whose inputs are element-aligned with their output (same
/// element count), scalars, or row vectors broadcast over the output's rows (a bias; the group then
/// runs in chunks of whole rows) join the group (task) of one of their inputs, and the group runs each
/// member over a chunk of elements before moving to the next chunk, so a chain of small operations
/// costs one task and its intermediates stay in cache. Every member still writes its value (the
/// backward pass reads them). A node may join group G only if each of its inputs is a leaf, in G,
/// or in a task whose largest node id is below G's smallest: nothing outside G can then depend
/// on G and feed it back, so grouping never creates a cycle, and steps stay in topological order.
/// Forward and backward nodes never share a group (profiles label tasks by that).
///
/// A matrix product that runs as one GEMM (`canHostEpilogue`: one matrix, or stacked rows times a
/// shared matrix) hosts a group the same way: elementwise nodes aligned with
/// its result (a bias and an activation; an activation's derivative applied to an upstream
/// gradient) join its step under the same rules, with row vectors as long as its rows, and run as
/// the product's epilogue on each block of the result while the block is in cache (Note [GEMM
/// epilogues] in Kernels), instead of in a second pass over it.
///
/// Note [Bias gradients from the product's blocks]: a `sum` over all axes but the last of such a
/// step's result or of one of its members (a layer's bias gradient: the column sums of the
/// gradient at its pre-activation, which the step's epilogue computes block by block) joins the
/// step as a column sum. GEMM takes it from each finished block after the epilogue, in chunks of
/// rows fixed by the product's shape (Note [Column sums from the product's blocks] in Kernels), and
/// adds the chunks when the product is done: no task of its own and no second pass over the
/// gradient. The sum is complete only when the step ends, so no member of the step may read it,
/// and a member it reads keeps its buffer to the end of the step.
struct PlanSteps<Scalar: TensorScalar> {
    /// Per node id, the node whose storage holds its value: itself, or for a reshape its input's root.
    private(set) var root: [Int]
    /// Per node id, the step that computes it (-1 for leaves, reshapes and nodes not needed).
    private(set) var stepOf: [Int]
    /// Per step, the nodes it computes in id order (one, or a fused group's members).
    private(set) var members: [[Int]] = []
    /// Per step, whether it is a group of elementwise nodes (run as micro-ops chunk by chunk).
    private(set) var fusible: [Bool] = []
    /// Per step, the row length its row-broadcast members need (0: none; see `rowLength`).
    private(set) var rowLength: [Int] = []
    /// Per step, whether its first member is a matrix product that may host elementwise members
    /// as its epilogue (the members after the first, if any).
    private(set) var hostsEpilogue: [Bool] = []
    /// Per step, its members that are column sums of its result or of its other members (Note
    /// [Bias gradients from the product's blocks]), in id order.
    private(set) var columnSums: [[Int]] = []
    /// Per node id, whether it is a column sum taken by the step that computes it.
    private(set) var isColumnSum: [Bool]

    var count: Int { members.count }

    /// Steps for the needed nodes in id order; with `fusion` off every operation is a step of its own.
    /// `folded` gradients get no step: their updates compute them (Note [Updates in the gradient's product]).
    init(_ records: [Graph<Scalar>.Record], needed: [Bool], fusion: Bool, folded: Set<Int> = []) {
        root = Array(0..<records.count)
        stepOf = [Int](repeating: -1, count: records.count)
        isColumnSum = [Bool](repeating: false, count: records.count)
        for i in records.indices where needed[i] {
            let r = records[i]
            if case .reshape = r.operation { root[i] = root[r.inputs[0]]; continue }
            if r.operation.isLeaf || folded.contains(i) { continue }
            if fusion, let s = columnSumHost(r, records) {
                stepOf[i] = s
                members[s].append(i)
                columnSums[s].append(i)
                isColumnSum[i] = true
                continue
            }
            let canFuse = fusion && Self.isFusible(r, records)
            let row = canFuse ? Self.rowLength(r, records) : 0
            if canFuse, let s = fusionTarget(i, records, row: row) {
                stepOf[i] = s
                members[s].append(i)
                if row > 0 { rowLength[s] = row }
                continue
            }
            stepOf[i] = members.count
            members.append([i])
            fusible.append(canFuse)
            rowLength.append(row)
            hostsEpilogue.append(fusion && Self.canHostEpilogue(r, records))
            columnSums.append([])
        }
    }

    /// The step that can take node `r` as a column sum (Note [Bias gradients from the product's
    /// blocks]): `r` sums a value of a step hosting an epilogue over all axes but the last, that
    /// value has the product's element count and row length, and both are on the same side
    /// (forward or backward).
    private func columnSumHost(_ r: Graph<Scalar>.Record, _ records: [Graph<Scalar>.Record]) -> Int? {
        guard case let .sum(axes, _) = r.operation else { return nil }
        let j = r.inputs[0], shape = records[j].shape
        guard shape.count >= 2, Set(axes) == Set(0..<(shape.count - 1)), axes.count == shape.count - 1 else { return nil }
        let s = stepOf[root[j]]
        guard s >= 0, hostsEpilogue[s], !isColumnSum[root[j]] else { return nil }
        let product = records[members[s][0]]
        guard product.isGradient == r.isGradient, product.shape.last == shape.last,
              product.shape.reduce(1, *) == shape.reduce(1, *) else { return nil }
        return s
    }

    /// Whether node `r` is a product whose result elementwise nodes can follow in its epilogue: a
    /// `matmul` that runs as one GEMM (a single matrix product, or stacked rows times one shared
    /// matrix), so the epilogue's blocks are rows and columns of its result.
    static func canHostEpilogue(_ r: Graph<Scalar>.Record, _ records: [Graph<Scalar>.Record]) -> Bool {
        guard case let .matmul(ta, _) = r.operation else { return false }
        return r.shape.count == 2 || (!ta && records[r.inputs[1]].shape.count == 2)
    }

    /// Whether node `r` may be a member of a fused group (an elementwise form whose inputs line up).
    static func isFusible(_ r: Graph<Scalar>.Record, _ records: [Graph<Scalar>.Record]) -> Bool {
        guard let form = r.operation.elementwiseForm else { return false }
        let n = r.shape.reduce(1, *)
        switch form {
        case .binary:
            return r.inputs.allSatisfy { let c = records[$0].shape.reduce(1, *); return c == n || c == 1 } || rowLength(r, records) > 0
        case .unary, .constant, .gradient, .clamp, .clampGradient:
            return true
        case .fill:
            return records[r.inputs[0]].shape.reduce(1, *) == 1
        }
    }

    /// For a binary op adding a row vector to a matrix (a bias: one input `[C]` or `[1, ..., C]`, the
    /// other of the output's shape `[..., C]`), the row length C; else 0. Groups holding one run in
    /// chunks of whole rows.
    static func rowLength(_ r: Graph<Scalar>.Record, _ records: [Graph<Scalar>.Record]) -> Int {
        guard case .binary? = r.operation.elementwiseForm, r.shape.count >= 2, let cols = r.shape.last, cols > 1 else { return 0 }
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
    private func fusionTarget(_ i: Int, _ records: [Graph<Scalar>.Record], row: Int) -> Int? {
        let r = records[i]
        let count = r.shape.reduce(1, *)
        var best: Int? = nil
        for j in r.inputs {
            let s = stepOf[root[j]]
            // A column sum is complete only when its step ends: nothing in the step may read it.
            guard s >= 0, fusible[s] || hostsEpilogue[s], s != best, records[members[s][0]].isGradient == r.isGradient,
                  !r.inputs.contains(where: { isColumnSum[root[$0]] && stepOf[root[$0]] == s }),
                  row == 0 || rowLength[s] == 0 || rowLength[s] == row,
                  row == 0 || !hostsEpilogue[s] || records[members[s][0]].shape.last == row,
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
}
