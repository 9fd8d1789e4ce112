import Testing
import Tensor

/// The plan builder's phases, each seen through what a plan exposes: pruning (`structure`), fusion
/// (`taskInfo`), ordering (`taskDependencies`) and buffer planning (`bufferOffsets`, `peakBytes`).
/// Values are `Float`; a `[16]` value takes 64 bytes, one aligned block.
@Suite struct PlanPhaseTests {
    @Test func pruningKeepsOnlyWhatTheOutputsRead() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [16])
        let a = try exp(x)
        _ = try -x                    // read by nothing the plan returns
        let y = try a * 2
        let plan = try Plan(outputs: [y], fusion: false)
        #expect(plan.structure.nodes.map(\.id) == [x.id, a.id, y.id])
        #expect(plan.taskInfo.map(\.nodes) == [[a.id], [y.id]])
    }

    @Test func fusionGroupsElementwiseChainsAndStopsAtOtherOperations() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [4, 4])
        let w = g.parameter("w", .zeros(shape: [4, 4]))
        let h = try tanh(x)
        let m = try h.matmul(w)
        let e = try exp(m)
        let z = try e + 1
        // The elementwise nodes after the product join it as its epilogue; tanh before it stays.
        let fused = try Plan(outputs: [z])
        #expect(fused.taskInfo.map(\.nodes) == [[h.id], [m.id, e.id, z.id]])
        #expect(fused.taskInfo.map(\.name) == ["tanh", "fused[3] matmul+exp+shift"])
        let plain = try Plan(outputs: [z], fusion: false)
        #expect(plain.taskInfo.map(\.nodes) == [[h.id], [m.id], [e.id], [z.id]])
    }

    /// A fused group adds a row vector (a bias) to each row of a matrix, with the row on either
    /// side: short rows through a repeated pattern, long ones a row at a time (Lowering's
    /// `MicroOp.run`); either way the values are the unfused plan's, bit for bit.
    @Test(arguments: [3, 63, 64, 100, 1030])
    func fusedGroupsAddRowsOfAnyLength(columns: Int) throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 11)
        let x = g.parameter("x", .randomNormal(shape: [37, columns], using: &rng))
        let b = g.parameter("b", .randomNormal(shape: [columns], using: &rng))
        let y = try relu(x + b) * 2
        let z = try tanh(b - y)
        let plain = try Plan(outputs: [y, z], fusion: false)
        try plain.run()
        let fused = try Plan(outputs: [y, z])
        try fused.run()
        #expect(fused.taskCount < plain.taskCount, "\(fused.taskInfo.map(\.name))")
        for n in [y, z] { #expect(try fused.value(of: n) == plain.value(of: n), "node \(n.id), \(columns) columns") }
    }

    @Test func forwardAndBackwardNodesNeverShareATask() throws {
        let g = Graph<Float>()
        let x = g.parameter("x", .zeros(shape: [16]))
        let loss = try (exp(x) * 3).sum()
        let grads = try g.gradients(of: loss, wrt: [x])
        let plan = try Plan(outputs: [loss] + grads)
        let isGradient = Dictionary(uniqueKeysWithValues: plan.structure.nodes.map { ($0.id, $0.isGradient) })
        for task in plan.taskInfo {
            #expect(Set(task.nodes.map { isGradient[$0]! }).count == 1, "\(task.name) mixes forward and backward nodes")
        }
    }

    /// y = x·w, loss = sum(y); the update of w waits for its gradient and for the task reading w.
    @Test func updatesWaitForTheirGradientAndEveryReaderOfTheirParameter() throws {
        for writes in [true, false] {
            let g = Graph<Float>()
            let x = g.placeholder("x", shape: [16])
            let w = g.parameter("w", .zeros(shape: [16]))
            let loss = try (x * w).sum()
            let dw = try g.gradients(of: loss, wrt: [w])[0]
            var update = ParameterUpdate(parameter: w, gradient: dw) { _, _ in }
            update.writesParameter = writes
            let plan = try Plan(outputs: [loss], updates: [update])
            // Tasks: 0 = x·w, 1 = sum, 2 = the gradient (the seed broadcast, times x), 3 = the update.
            #expect(plan.taskInfo.map(\.name) == ["mul", "sum", "fused[2] broadcast_to+mul", "update w"])
            #expect(plan.taskDependencies == [[], [0], [], writes ? [0, 2] : [2]])
        }
    }

    /// x -> e1 -> e2 -> e3 -> e4: e3 takes e1's buffer (its reader e2 ran before), e4 takes e2's.
    @Test(arguments: [false, true])
    func chainsReuseBuffersOnceTheirReadersRan(fusion: Bool) throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [16])
        let e1 = try exp(x), e2 = try -e1, e3 = try exp(e2), e4 = try -e3
        let plan = try Plan(outputs: [e4], fusion: fusion)
        #expect(plan.taskCount == (fusion ? 1 : 4))
        #expect(plan.bufferOffsets == [x.id: 0, e1.id: 64, e2.id: 128, e3.id: 64, e4.id: 128])
        #expect(plan.peakBytes == 192)
        #expect(plan.unplannedBytes == 5 * 64)
    }

    /// a's buffer is free after b reads it, but c does not come after b in the task graph (it
    /// could run alongside b), so c gets a buffer of its own.
    @Test func aFreedBufferGoesOnlyToTasksAfterItsReaders() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [16])
        let a = try exp(x)
        let b = try -a
        let c = try exp(x)
        let plan = try Plan(outputs: [b, c], fusion: false)
        #expect(plan.taskDependencies == [[], [0], []])
        #expect(plan.bufferOffsets == [x.id: 0, a.id: 64, b.id: 128, c.id: 192])
        #expect(plan.peakBytes == 256)
    }

    /// A freed block is taken only by a value that needs more than half of it: a 64-byte value
    /// takes a freed 128-byte block but not a freed 192-byte one.
    @Test(arguments: zip([32, 48], [true, false]))
    func aFreedBufferGoesOnlyToValuesThatFillHalfOfIt(length: Int, reused: Bool) throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [length])
        let a = try exp(x)                       // length · 4 bytes
        let b = try a.slice(axis: 0, 0..<16)     // 64 bytes; a is free after this
        let c = try exp(b)                       // 64 bytes
        let plan = try Plan(outputs: [c], fusion: false)
        let big = length * 4
        #expect(plan.bufferOffsets[a.id] == big)
        #expect(plan.bufferOffsets[b.id] == 2 * big)
        #expect(plan.bufferOffsets[c.id] == (reused ? big : 2 * big + 64))
        #expect(plan.peakBytes == 2 * big + (reused ? 64 : 128))
    }

    @Test func reshapesShareTheirInputsBuffer() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [16])
        let a = try exp(x)
        let r = try a.reshaped([4, 4])
        let y = try tanh(r)
        let plan = try Plan(outputs: [y, r], fusion: false)
        #expect(plan.bufferOffsets[r.id] == plan.bufferOffsets[a.id])
        #expect(plan.taskCount == 2)
    }
}
