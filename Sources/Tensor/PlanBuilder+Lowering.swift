import Kernels

/// Phase 5 of `PlanBuilder`: the arena and every value's address, one task body per step, the
/// tasks' metadata and estimated costs, and the structure profilers draw.
extension PlanBuilder {
    /// A task's estimated cost: a fixed dispatch overhead plus the longer of its compute time and its
    /// memory time, at rates of a typical core. Costs only rank tasks (critical path first), so the
    /// rates need to be right in proportion, not exact.
    enum TaskCost {
        /// Microseconds a task costs however small it is (scheduling, one cache miss or two).
        static var dispatchMicroseconds: Double { 0.3 }
        /// Floating-point operations per microsecond (about 20 GFLOP/s).
        static var flopsPerMicrosecond: Double { 2e4 }
        /// Bytes moved per microsecond (about 10 GB/s).
        static var bytesPerMicrosecond: Double { 1e4 }

        /// Estimated microseconds of a task doing `flops` operations over `bytes` bytes.
        static func of(flops: Double, bytes: Double) -> Double {
            dispatchMicroseconds + Swift.max(flops / flopsPerMicrosecond, bytes / bytesPerMicrosecond)
        }
    }

    func lower(_ records: [Graph<Scalar>.Record], needed: [Bool], steps: PlanSteps<Scalar>, order: PlanOrder,
               buffers: BufferPlan<Scalar>, folded: [Int: Int] = [:]) throws -> Built {
        let n = records.count, m = steps.count
        let members = steps.members, root = steps.root
        let stride = MemoryLayout<Scalar>.stride

        // Storage addresses, once the buffers are known to fit in memory (a plan that cannot fit is
        // refused here, with what it needs, rather than dying in the allocator).
        let top = buffers.arenaBytes
        let memory = PlanBuilder.physicalMemoryBytes
        if top > memory {
            throw GraphError(operation: "plan", shapes: [],
                             message: "its buffers need \(top) bytes (\(top >> 30) GiB), more than this machine's \(memory) bytes of memory")
        }
        let alignment = BufferPlan<Scalar>.alignment
        let arena = LargeAllocation.allocate(byteCount: Swift.max(top, alignment), alignment: alignment)
        arena.initializeMemory(as: UInt8.self, repeating: 0, count: Swift.max(top, alignment))
        var storage = [UnsafeMutablePointer<Scalar>?](repeating: nil, count: n)
        var boxes: [ValueBox<Scalar>] = []
        for i in 0..<n where needed[i] && folded[i] == nil {   // a folded gradient is never stored
            let r = root[i]
            switch records[r].operation.leaf {
            case .parameter?, .constant?:
                let box = graph.boxes[r]!
                if r == i { boxes.append(box) }
                storage[i] = box.buffer.baseAddress!
            case .placeholder?, nil:
                storage[i] = (arena + buffers.offset[r]).assumingMemoryBound(to: Scalar.self)
            }
        }

        // Task bodies and metadata: node steps, then updates.
        var bodies: [PlanProgram.Body] = []
        var info: [TaskInfo] = []
        var costs: [Double] = []
        bodies.reserveCapacity(order.sequence.count)
        info.reserveCapacity(order.sequence.count)
        for s in 0..<m {
            var flops = 0.0, moved = 0.0
            var micro: [MicroOp<Scalar>] = []
            var body: PlanProgram.Body? = nil
            // A product hosting an epilogue: its members after the first run on each finished block.
            let hosted = steps.hostsEpilogue[s] && members[s].count > 1
            for i in hosted ? Array(members[s].dropFirst()) + [members[s][0]] : members[s] {
                let r = records[i]
                let inputs = r.inputs.map { Operand<Scalar>(address: storage[$0]!, shape: records[$0].shape) }
                let output = Operand<Scalar>(address: storage[i]!, shape: r.shape)
                moved += Double((inputs.reduce(0) { $0 + $1.count } + output.count) * stride)
                if steps.isColumnSum[i] {
                    // Taken by the product from its blocks (Note [Bias gradients from the product's blocks]).
                    flops += Double(inputs[0].count)
                    continue
                }
                if hosted && i == members[s][0] {
                    let program = MicroProgram(micro), width = r.shape[r.shape.count - 1]
                    let run: GEMM.Epilogue = { rows, columns in program.run(rows: rows, columns: columns, width: width) }
                    let epilogue = micro.isEmpty ? nil : run
                    let sums = steps.columnSums[s].map { j in
                        GEMM.ColumnSum(of: UnsafePointer(storage[records[j].inputs[0]]!), rowStride: width, into: storage[j]!)
                    }
                    let lowered = try Lowering<Scalar>.lower(r.operation, inputs: inputs, output: output,
                                                             location: r.location, loop: loop, epilogue: epilogue,
                                                             columnSums: sums)
                    body = lowered.body
                    flops += lowered.flops
                } else if steps.fusible[s] || hosted {
                    // A fusible step's members all have an elementwise form (`PlanSteps.isFusible`).
                    let (op, f) = Lowering<Scalar>.microOp(r.operation.elementwiseForm!, inputs: inputs, output: output)
                    micro.append(op)
                    flops += f
                } else {
                    let lowered = try Lowering<Scalar>.lower(r.operation, inputs: inputs, output: output,
                                                             location: r.location, loop: loop)
                    body = lowered.body
                    flops += lowered.flops
                }
            }
            if steps.fusible[s] {
                body = Lowering<Scalar>.fused(micro, count: records[members[s][0]].shape.reduce(1, *),
                                              rowLength: steps.rowLength[s], loop: loop)
            }
            let first = records[members[s][0]]
            var name: String
            if members[s].count == 1 {
                name = first.operation.name
            } else {
                var names: [String] = []
                for i in members[s] where !names.contains(records[i].operation.name) { names.append(records[i].operation.name) }
                name = "fused[\(members[s].count)] " + names.joined(separator: "+")
            }
            // Note [Bias updates in the product's step]: updates of the column sums, once they are complete.
            for (k, u) in updates.enumerated() where order.absorbed[k] == s {
                let count = u.parameter.count, apply = u.apply, inner = body!
                let p = Address(storage[u.parameter.id]!), g = Address(storage[u.gradient.id]!)
                body = {
                    try inner()
                    apply(UnsafeMutableBufferPointer(start: p.pointer, count: count),
                          UnsafeBufferPointer(start: g.pointer, count: count))
                }
                name += "+" + Self.updateName(u)
                flops += Double(2 * count)
                moved += Double(3 * count * stride)
            }
            bodies.append(body!)
            info.append(TaskInfo(name: name, category: first.isGradient ? .backward : .forward,
                                 nodes: members[s], shapes: members[s].map { records[$0].shape },
                                 flops: flops, bytes: moved))
            costs.append(TaskCost.of(flops: flops, bytes: moved))
        }
        for (k, u) in updates.enumerated() where order.absorbed[k] == nil {
            let count = u.parameter.count
            let name = Self.updateName(u)
            if folded[u.gradient.id] == k {
                // Note [Updates in the gradient's product]: the update's task runs the product.
                let r = records[u.gradient.id]
                let inputs = r.inputs.map { Operand<Scalar>(address: storage[$0]!, shape: records[$0].shape) }
                let lowered = try Lowering<Scalar>.updateInProduct(r.operation, inputs: inputs,
                                                                   parameter: Operand(address: storage[u.parameter.id]!, shape: r.shape),
                                                                   sgdRate: u.sgdRate, applyRange: u.applyRange,
                                                                   applyBlock: u.applyBlock,
                                                                   gradientStorage: u.gradientStorage,
                                                                   gradientScale: u.gradientScale, apply: u.apply,
                                                                   location: r.location, loop: loop)
                bodies.append(lowered.body)
                let moved = Double((inputs.reduce(0) { $0 + $1.count } + 2 * count) * stride)
                info.append(TaskInfo(name: "matmul+" + name, category: .update, nodes: [u.gradient.id, u.parameter.id],
                                     shapes: [r.shape, u.parameter.shape], flops: lowered.flops, bytes: moved))
                costs.append(TaskCost.of(flops: lowered.flops, bytes: moved))
                continue
            }
            let p = Address(storage[u.parameter.id]!), g = Address(storage[u.gradient.id]!)
            let apply = u.apply
            bodies.append {
                apply(UnsafeMutableBufferPointer(start: p.pointer, count: count),
                      UnsafeBufferPointer(start: g.pointer, count: count))
            }
            let moved = Double(3 * count * stride)
            info.append(TaskInfo(name: name, category: .update, nodes: [u.parameter.id], shapes: [u.parameter.shape],
                                 flops: Double(2 * count), bytes: moved))
            costs.append(TaskCost.of(flops: Double(2 * count), bytes: moved))
        }

        // Absorbed updates have no task (and nothing waits for them): the others are renumbered.
        let tasks = (0..<(m + updates.count)).filter { $0 < m || order.absorbed[$0 - m] == nil }
        var index = [Int](repeating: -1, count: m + updates.count)
        for (t, step) in tasks.enumerated() { index[step] = t }
        let ranks = [Int](repeating: 0, count: m) + updates.indices.filter { order.absorbed[$0] == nil }.map { updates[$0].priority }
        let dependencies = tasks.map { order.dependencies[$0].map { index[$0] } }
        let program = try PlanProgram(bodies: bodies, info: info, dependencies: dependencies, costs: costs, ranks: ranks)
        return Built(program: program, arena: arena, arenaBytes: top, unplannedBytes: buffers.unplannedBytes,
                     storage: storage, placeholders: buffers.placeholders, boxes: boxes,
                     structure: Self.structure(records, needed: needed, steps: steps))
    }

    /// An update's task name: the given one, or `update <parameter name>`.
    static func updateName(_ u: ParameterUpdate<Scalar>) -> String {
        if let given = u.name { return given }
        if case let .parameter(pn) = u.parameter.operation { return "update \(pn)" }
        return "update"
    }

    /// The needed nodes with the task computing each, and their data edges (for DOT writers).
    static func structure(_ records: [Graph<Scalar>.Record], needed: [Bool], steps: PlanSteps<Scalar>) -> PlanStructure {
        var nodes: [PlanStructure.Node] = []
        var edges: [PlanStructure.Edge] = []
        for i in records.indices where needed[i] {
            let r = records[i]
            nodes.append(.init(id: i, operation: r.operation.name, shape: r.shape, isGradient: r.isGradient,
                               task: steps.stepOf[i] >= 0 ? steps.stepOf[i] : nil))
            for j in r.inputs { edges.append(.init(from: j, to: i)) }
        }
        return PlanStructure(nodes: nodes, edges: edges)
    }
}
