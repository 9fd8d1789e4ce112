import Testing
import Tensor
import Training
import Scheduler

/// Every optimizer's update run in the write-back of its gradient's product (`OptimizerState`'s
/// `sgdRate` and `rangeHook`, Note [Updates in the gradient's product]) gives the bits of the
/// separate update task, on any worker count.
@Suite struct OptimizerInProductTests {
    static let optimizers: [Optimizer] = [
        .sgd(learningRate: .constant(0.05)),
        .sgd(learningRate: .constant(0.05), weightDecay: 0.01),
        .momentum(learningRate: .constant(0.05), nesterov: true),
        .adam(learningRate: .constant(0.01)),
        .adam(learningRate: .constant(0.01), weightDecay: 0.1, decoupled: true),
    ]

    /// Three steps of a two-layer perceptron with `optimizer`; the parameters afterwards and the
    /// plan's task names. `declared` gives the plan the rule (what `Trainer` does).
    static func train(_ optimizer: Optimizer, declared: Bool, fusion: Bool, workers: Int, batch: Int = 48, hidden: Int = 200,
                      blocks: Bool = true) throws -> (values: [[Float]], names: [String]) {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 29)
        let x = g.constant(.randomNormal(shape: [batch, 300], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [300, hidden], standardDeviation: 0.05, using: &rng))
        let b0 = g.parameter("b0", .zeros(shape: [hidden]))
        let w1 = g.parameter("w1", .randomNormal(shape: [hidden, 10], standardDeviation: 0.1, using: &rng))
        let target = g.constant(.randomNormal(shape: [batch, 10], using: &rng))
        let loss = try meanSquaredError(tanh(x.matmul(w0) + b0).matmul(w1), target)
        let parameters = [w0, b0, w1]
        let grads = try g.gradients(of: loss, wrt: parameters)
        let state = OptimizerState<Float>(optimizer: optimizer, parameterSizes: parameters.map(\.count))
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let updates = parameters.indices.map { i in
            var u = ParameterUpdate(parameter: parameters[i], gradient: grads[i], name: "update \(i)",
                                    state.updateHook(parameter: i, loop: executor))
            if declared {
                u.sgdRate = state.sgdRate
                u.applyRange = state.rangeHook(parameter: i)
                if blocks { u.applyBlock = state.blockHook(parameter: i) }
            }
            return u
        }
        let plan = try Plan(outputs: [loss], updates: updates, executor: executor, fusion: fusion)
        for _ in 0..<3 {
            try plan.run()
            state.advance()
        }
        return (try parameters.map { try g.value(of: $0).scalars }, plan.taskInfo.map(\.name))
    }

    @Test(arguments: 0..<optimizers.count)
    func sameBitsAsTheSeparateUpdate(index: Int) throws {
        let optimizer = Self.optimizers[index]
        let separate = try Self.train(optimizer, declared: false, fusion: true, workers: 1)
        #expect(!separate.names.contains { $0.hasPrefix("matmul+") })
        for workers in [1, 2, 3] {
            let fused = try Self.train(optimizer, declared: true, fusion: true, workers: workers)
            #expect(fused.names.contains("matmul+update 0") && fused.names.contains("matmul+update 2"), "\(fused.names)")
            #expect(fused.values == separate.values, "\(optimizer), \(workers) workers")
        }
    }

    /// A product wide enough for column chunks on 2 and 3 workers (1024 columns, a batch of 300):
    /// its update runs on blocks narrower than the parameter's rows, through `blockHook` or
    /// `rangeHook` row by row, with the separate update's bits either way.
    @Test(arguments: [3, 4, 1])
    func narrowBlocksOfWideProducts(index: Int) throws {
        let optimizer = Self.optimizers[index]
        let separate = try Self.train(optimizer, declared: false, fusion: true, workers: 1, batch: 300, hidden: 1024)
        for workers in [2, 3] {
            for blocks in [true, false] {
                let fused = try Self.train(optimizer, declared: true, fusion: true, workers: workers, batch: 300, hidden: 1024,
                                           blocks: blocks)
                #expect(fused.names.contains("matmul+update 0"), "\(fused.names)")
                let same = fused.values == separate.values   // (not inside #expect: it would print the arrays)
                #expect(same, "\(optimizer), \(workers) workers, blocks \(blocks)")
            }
        }
    }

    /// `blockHook` against `rangeHook` on each row's part, in Double (the scalar loops) and Float,
    /// for each rule: the same parameters and optimizer state afterwards.
    @Test(arguments: 0..<optimizers.count)
    func blockHookIsTheRangeHookRowByRow(index: Int) throws {
        try checkBlockHook(Double.self, Self.optimizers[index])
        try checkBlockHook(Float.self, Self.optimizers[index])
    }

    func checkBlockHook<S: TensorScalar>(_ type: S.Type, _ optimizer: Optimizer) throws {
        let rows = 6, width = 40, n = rows * width
        var rng = SeededGenerator(seed: 3)
        let gradients = Tensor<S>.randomNormal(shape: [n], using: &rng).scalars
        let start = Tensor<S>.randomNormal(shape: [n], using: &rng).scalars
        let byRange = OptimizerState<S>(optimizer: optimizer, parameterSizes: [n])
        let byBlock = OptimizerState<S>(optimizer: optimizer, parameterSizes: [n])
        var p1 = start, p2 = start
        let rangeHook = byRange.rangeHook(parameter: 0), blockHook = byBlock.blockHook(parameter: 0)
        for _ in 0..<3 {   // three steps: the moments and the step count matter
            gradients.withUnsafeBufferPointer { g in
                p1.withUnsafeMutableBufferPointer { p in
                    for r in 1..<5 { rangeHook(p.baseAddress!, g.baseAddress!, (r * width + 7)..<(r * width + 30)) }
                }
                p2.withUnsafeMutableBufferPointer { p in blockHook(p.baseAddress!, g.baseAddress!, 1..<5, 7..<30, width) }
            }
            byRange.advance()
            byBlock.advance()
        }
        let same = p1 == p2, changed = p1 != start   // (not inside #expect: it would print the arrays)
        #expect(same, "\(S.self), \(optimizer)")
        #expect(changed, "\(S.self), \(optimizer): nothing was updated")
        for slot in optimizer.slotNames.indices {
            let sameSlot = byRange.slotValues(parameter: 0, slot: slot) == byBlock.slotValues(parameter: 0, slot: slot)
            #expect(sameSlot, "\(S.self), \(optimizer), slot \(slot)")
        }
    }

    @Test func aTrainerFoldsItsUpdates() throws {
        let all = try Dataset(csvFile: TrainingFixtures.iris, options: CSVOptions(header: .present))
        let trainer = try Trainer<Float>(widths: [4, 8, 3], optimizer: .adam(learningRate: .constant(0.01)),
                                         batchSize: 16, seed: 3, executor: nil)
        _ = try trainer.trainEpoch(on: FeatureScaler(standardizing: all).apply(to: all))
        let names = trainer.trainingPlans.flatMap { $0.plan.taskInfo.map(\.name) }
        #expect(names.contains { $0.hasPrefix("matmul+update") }, "\(names)")
    }
}
