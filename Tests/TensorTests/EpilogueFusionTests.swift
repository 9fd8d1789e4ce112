import Testing
import Tensor
import Scheduler

/// Elementwise nodes after a matrix product run as the product's epilogue (PlanSteps, Note [GEMM
/// epilogues]): the plan has fewer tasks, and every value is bitwise the unfused plan's, on any
/// worker count.
@Suite struct EpilogueFusionTests {
    /// A two-layer perceptron with biases and activations, its loss and gradients. 300 x 700 by 700
    /// x 200 goes through the packed GEMM path with several k blocks; 24 x 200 by 200 x 10 through
    /// the small-product path.
    static func perceptron(_ g: Graph<Float>, batch: Int = 300) throws -> (outputs: [Node<Float>], loss: Node<Float>) {
        var rng = SeededGenerator(seed: 5)
        let x = g.parameter("x", .randomNormal(shape: [batch, 700], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [700, 200], standardDeviation: 0.05, using: &rng))
        let b0 = g.parameter("b0", .randomNormal(shape: [200], using: &rng))
        let w1 = g.parameter("w1", .randomNormal(shape: [200, 10], standardDeviation: 0.1, using: &rng))
        let b1 = g.parameter("b1", .randomNormal(shape: [1, 10], using: &rng))
        let h = try relu(x.matmul(w0) + b0)
        let z = try tanh(h.matmul(w1) + b1) * 3
        let loss = try (z * z).mean()
        let grads = try g.gradients(of: loss, wrt: [x, w0, b0, w1, b1])
        return ([h, z, loss] + grads, loss)
    }

    @Test func productsHostTheirBiasAndActivation() throws {
        let g = Graph<Float>()
        let (outputs, _) = try Self.perceptron(g)
        let plan = try Plan(outputs: outputs)
        let names = plan.taskInfo.map(\.name)
        #expect(names.contains("fused[3] matmul+add+relu"), "\(names)")
        #expect(names.contains { $0.hasPrefix("fused[") && $0.contains("matmul+add+tanh+scale") }, "\(names)")
        // Backward: the relu's derivative follows the product that makes the upstream gradient,
        // and the bias gradient (its column sums) is taken from the same blocks.
        #expect(names.contains("fused[3] matmul+relu_backward+sum"), "\(names)")
        let plain = try Plan(outputs: outputs, fusion: false)
        #expect(plan.taskCount < plain.taskCount)
        #expect(plan.taskInfo.filter { $0.name == "sum" }.count == plain.taskInfo.filter { $0.name == "sum" }.count - 1,
                "one sum (b1's, after elementwise nodes) keeps a task: \(names)")
    }

    /// Every value is the unfused plan's bits, except the bias gradient taken as a column sum of
    /// the product's blocks (summed in chunks of rows: Note [Column sums from the product's
    /// blocks]), which is within rounding of it; and every value, that one too, has the same bits
    /// on any worker count.
    @Test(arguments: [1, 2, 3])
    func fusedEqualsUnfusedBitwise(workers: Int) throws {
        let g = Graph<Float>()
        let (outputs, _) = try Self.perceptron(g)
        let biasGradient = outputs[5]   // b0's: [h, z, loss] + gradients of [x, w0, b0, w1, b1]
        let reference = try Plan(outputs: outputs, fusion: false)
        try reference.run()
        let serial = try Plan(outputs: outputs)
        try serial.run()
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let fused = try Plan(outputs: outputs, executor: executor)
        for _ in 0..<2 {
            try fused.run()
            for n in outputs {
                let value = try fused.value(of: n)
                #expect(value == (try serial.value(of: n)), "node \(n.id), \(workers) workers against one")
                let expected = try reference.value(of: n)
                if n.id == biasGradient.id {
                    let magnitude = value.scalars.map(abs).max()!
                    #expect(zip(value.scalars, expected.scalars).allSatisfy { abs($0 - $1) <= 1e-5 * magnitude },
                            "b0's gradient, \(workers) workers")
                } else {
                    #expect(value == expected, "node \(n.id), \(workers) workers")
                }
            }
        }
    }

    /// Products wide enough for column chunks on 2 and 3 workers (1024 columns: Note [GEMM column
    /// chunks]) run their epilogues on blocks narrower than a row, in the block forms (Note
    /// [Elementwise blocks of rows]): a bias added (a row down the block), a bias minus the
    /// product (the row on the left), a product times another array, activations and their
    /// derivatives. Every value has the unfused one-worker plan's bits, in Float and Double.
    @Test(arguments: [2, 3])
    func narrowBlocksOfWideProductsKeepTheBits(workers: Int) throws {
        try checkNarrowBlocks(Float.self, workers: workers)
        try checkNarrowBlocks(Double.self, workers: workers)
    }

    func checkNarrowBlocks<S: TensorScalar>(_ type: S.Type, workers: Int) throws {
        let g = Graph<S>()
        var rng = SeededGenerator(seed: 21)
        let x = g.parameter("x", .randomNormal(shape: [120, 256], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [256, 1024], standardDeviation: 0.06, using: &rng))
        let b0 = g.parameter("b0", .randomNormal(shape: [1024], using: &rng))
        let w1 = g.parameter("w1", .randomNormal(shape: [256, 1024], standardDeviation: 0.06, using: &rng))
        let b1 = g.parameter("b1", .randomNormal(shape: [1, 1024], using: &rng))
        let m = g.constant(.randomNormal(shape: [120, 1024], using: &rng))
        let h = try relu(x.matmul(w0) + b0)
        let t = try tanh(b1 - x.matmul(w1))
        let u = try sigmoid(x.matmul(w0) * m)
        let loss = try (h * t + u).mean()
        let outputs = [h, t, u, loss] + (try g.gradients(of: loss, wrt: [x, w0, w1]))
        let reference = try Plan(outputs: outputs, fusion: false)
        try reference.run()
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let fused = try Plan(outputs: outputs, executor: executor)
        let names = fused.taskInfo.map(\.name)
        #expect(names.contains("fused[3] matmul+add+relu") && names.contains { $0.contains("matmul+sub+tanh") }
                && names.contains { $0.contains("matmul+mul+sigmoid") }, "\(names)")
        try fused.run()
        for n in outputs {
            #expect(try fused.value(of: n) == reference.value(of: n), "\(S.self), node \(n.id), \(workers) workers")
        }
    }

    @Test func doubleAndSmallProductsToo() throws {
        let g = Graph<Double>()
        var rng = SeededGenerator(seed: 9)
        let x = g.parameter("x", .randomNormal(shape: [7, 5], using: &rng))
        let w = g.parameter("w", .randomNormal(shape: [5, 3], using: &rng))
        let b = g.parameter("b", .randomNormal(shape: [3], using: &rng))
        let y = try sigmoid(x.matmul(w) - b)
        let loss = try (y * y).sum()
        let outputs = [y, loss] + (try g.gradients(of: loss, wrt: [x, w, b]))
        let fused = try Plan(outputs: outputs), plain = try Plan(outputs: outputs, fusion: false)
        try fused.run()
        try plain.run()
        #expect(fused.taskInfo.map(\.name).contains { $0.contains("matmul+sub+sigmoid") })
        for n in outputs { #expect(try fused.value(of: n) == plain.value(of: n)) }
        // The fused plan's gradients against finite differences (GradientCheck plans fuse).
        let problems = try GradientCheck.run(seed: 4) { g, rng in
            let x = g.random([6, 5], &rng), w = g.random([5, 9], &rng), b = g.random([9], &rng)
            return (try tanh(x.matmul(w) + b) * 2, [x, w, b])
        }
        #expect(problems.isEmpty, "\(problems)")
    }

    /// A bias gradient taken from the blocks of the product behind it (13 rows: two chunks and a
    /// part on the small-product path), in Double, against finite differences.
    @Test func biasGradientFromTheProductsBlocksAgainstFiniteDifferences() throws {
        func layers(_ x: Node<Double>, _ w0: Node<Double>, _ b0: Node<Double>, _ w1: Node<Double>,
                    _ b1: Node<Double>) throws -> Node<Double> {
            try tanh(x.matmul(w0) + b0).matmul(w1) + b1
        }
        let g = Graph<Double>()
        var rng = SeededGenerator(seed: 12)
        let x = g.parameter("x", .randomNormal(shape: [13, 5], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [5, 9], using: &rng))
        let b0 = g.parameter("b0", .randomNormal(shape: [9], using: &rng))
        let w1 = g.parameter("w1", .randomNormal(shape: [9, 4], using: &rng))
        let b1 = g.parameter("b1", .randomNormal(shape: [4], using: &rng))
        let y = try layers(x, w0, b0, w1, b1)
        let loss = try (y * y).sum()
        let grads = try g.gradients(of: loss, wrt: [b0])
        let plan = try Plan(outputs: grads)
        #expect(plan.taskInfo.map(\.name).contains("fused[3] matmul+tanh_backward+sum"), "\(plan.taskInfo.map(\.name))")
        let problems = try GradientCheck.run(seed: 6) { g, rng in
            let x = g.random([13, 5], &rng), w0 = g.random([5, 9], &rng), b0 = g.random([9], &rng)
            let w1 = g.random([9, 4], &rng), b1 = g.random([4], &rng)
            return (try layers(x, w0, b0, w1, b1), [x, w0, b0, w1, b1])
        }
        #expect(problems.isEmpty, "\(problems)")
    }

    /// A sum that reads the column sum of its own step cannot run in that step's epilogue (the
    /// column sum is complete only at the step's end): the plan keeps it outside, with the same
    /// values as the unfused plan's within rounding.
    @Test func nothingInTheStepReadsItsColumnSum() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 8)
        let x = g.parameter("x", .randomNormal(shape: [20, 6], using: &rng))
        let w = g.parameter("w", .randomNormal(shape: [6, 11], using: &rng))
        let m = try x.matmul(w)
        let s = try m.sum(axes: [0])
        let centered = try relu(m - s)   // reads the column sum, row by row
        let plan = try Plan(outputs: [centered, s]), plain = try Plan(outputs: [centered, s], fusion: false)
        try plan.run()
        try plain.run()
        #expect(plan.taskInfo.map(\.name).contains("fused[2] matmul+sum"), "\(plan.taskInfo.map(\.name))")
        let fused = try plan.value(of: centered).scalars, expected = try plain.value(of: centered).scalars
        #expect(zip(fused, expected).allSatisfy { abs($0 - $1) <= 1e-5 * (1 + abs($1)) })
    }

    /// Two SGD steps of the perceptron: b0's update runs at the end of the step taking its
    /// gradient (Note [Bias updates in the product's step]), with the bits of a separate update
    /// (b0's gradient also returned, so read by two: its update then has a task), on any worker count.
    @Test(arguments: [1, 3])
    func biasUpdateRunsInTheStepTakingItsGradient(workers: Int) throws {
        func train(returnBiasGradient: Bool) throws -> (values: [[Float]], names: [String]) {
            let g = Graph<Float>()
            var rng = SeededGenerator(seed: 5)
            let x = g.constant(.randomNormal(shape: [90, 70], using: &rng))
            let w0 = g.parameter("w0", .randomNormal(shape: [70, 40], standardDeviation: 0.1, using: &rng))
            let b0 = g.parameter("b0", .randomNormal(shape: [40], using: &rng))
            let w1 = g.parameter("w1", .randomNormal(shape: [40, 3], standardDeviation: 0.2, using: &rng))
            let target = g.constant(.randomNormal(shape: [90, 3], using: &rng))
            let loss = try meanSquaredError(relu(x.matmul(w0) + b0).matmul(w1), target)
            let parameters = [w0, b0, w1]
            let grads = try g.gradients(of: loss, wrt: parameters)
            let updates = zip(parameters, grads).map { p, d in ParameterUpdate.sgd(parameter: p, gradient: d) { 0.1 } }
            let executor = Executor(workers: workers)
            defer { executor.shutdown() }
            let plan = try Plan(outputs: [loss] + (returnBiasGradient ? [grads[1]] : []), updates: updates, executor: executor)
            for _ in 0..<2 { try plan.run() }
            return (try parameters.map { try g.value(of: $0).scalars }, plan.taskInfo.map(\.name))
        }
        let absorbed = try train(returnBiasGradient: false), separate = try train(returnBiasGradient: true)
        #expect(absorbed.names.contains("fused[3] matmul+relu_backward+sum+update b0"), "\(absorbed.names)")
        #expect(!absorbed.names.contains("update b0") && separate.names.contains("update b0"), "\(separate.names)")
        #expect(absorbed.names.count == separate.names.count - 1)
        #expect(absorbed.values == separate.values)
    }

    /// A step after the bias gradient's step reads the bias: the update must wait for it, so it
    /// keeps a task of its own, and that reader sees the bias before the update.
    @Test func aLaterReaderOfTheBiasKeepsItsUpdateSeparate() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 6)
        let x = g.constant(.randomNormal(shape: [30, 8], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [8, 12], using: &rng))
        let b0 = g.parameter("b0", .randomNormal(shape: [12], using: &rng))
        let w1 = g.parameter("w1", .randomNormal(shape: [12, 2], using: &rng))
        let loss = try square(relu(x.matmul(w0) + b0).matmul(w1)).mean()
        let grads = try g.gradients(of: loss, wrt: [b0])
        let before = try g.value(of: b0).scalars
        let late = try b0 * 2   // created after the gradients: a later step
        let update = ParameterUpdate.sgd(parameter: b0, gradient: grads[0]) { 0.5 }
        let plan = try Plan(outputs: [loss, late], updates: [update])
        #expect(plan.taskInfo.map(\.name).contains("update b0"), "\(plan.taskInfo.map(\.name))")
        try plan.run()
        #expect(try plan.value(of: late).scalars == before.map { $0 * 2 })
        #expect(try g.value(of: b0).scalars != before)
    }

    /// A row vector as long as another axis than the product's rows (after a reshape) is not
    /// aligned with the product's blocks: that node does not join the product.
    @Test func rowsOfAnotherLengthStayOutside() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 3)
        let x = g.parameter("x", .randomNormal(shape: [6, 4], using: &rng))
        let w = g.parameter("w", .randomNormal(shape: [4, 12], using: &rng))
        let v = g.parameter("v", .randomNormal(shape: [3], using: &rng))
        let m = try x.matmul(w)
        let y = try m.reshaped([24, 3]) + v
        let plan = try Plan(outputs: [y]), plain = try Plan(outputs: [y], fusion: false)
        #expect(plan.taskInfo.map(\.nodes).contains([m.id]))
        try plan.run()
        try plain.run()
        #expect(try plan.value(of: y) == plain.value(of: y))
    }
}
