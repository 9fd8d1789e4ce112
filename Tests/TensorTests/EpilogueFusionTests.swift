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
        // Backward: the relu's derivative follows the product that makes the upstream gradient.
        #expect(names.contains { $0.hasPrefix("fused[") && $0.contains("matmul+relu_backward") }, "\(names)")
        let plain = try Plan(outputs: outputs, fusion: false)
        #expect(plan.taskCount < plain.taskCount)
    }

    @Test(arguments: [1, 2, 3])
    func fusedEqualsUnfusedBitwise(workers: Int) throws {
        let g = Graph<Float>()
        let (outputs, _) = try Self.perceptron(g)
        let reference = try Plan(outputs: outputs, fusion: false)
        try reference.run()
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let fused = try Plan(outputs: outputs, executor: executor)
        for _ in 0..<2 {
            try fused.run()
            for n in outputs { #expect(try fused.value(of: n) == reference.value(of: n), "node \(n.id), \(workers) workers") }
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
