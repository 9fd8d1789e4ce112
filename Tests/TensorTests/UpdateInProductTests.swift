import Testing
import Tensor
import Scheduler
import Kernels

/// Note [Updates in the gradient's product]: an SGD update whose gradient is a product nothing
/// else reads runs inside that product (GEMM with alpha = -rate, beta = 1 into the parameter).
@Suite struct UpdateInProductTests {
    /// A two-layer perceptron trained by `updates` for three steps; returns the parameters' values
    /// and the plan's task names.
    static func train(batch: Int, fusion: Bool, workers: Int, declared: Bool = true, gradientOutput: Bool = false)
        throws -> (values: [[Float]], names: [String]) {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 17)
        let x = g.constant(.randomNormal(shape: [batch, 300], using: &rng))
        let w0 = g.parameter("w0", .randomNormal(shape: [300, 200], standardDeviation: 0.05, using: &rng))
        let b0 = g.parameter("b0", .zeros(shape: [200]))
        let w1 = g.parameter("w1", .randomNormal(shape: [200, 10], standardDeviation: 0.1, using: &rng))
        let target = g.constant(.randomNormal(shape: [batch, 10], using: &rng))
        let loss = try meanSquaredError(relu(x.matmul(w0) + b0).matmul(w1), target)
        let parameters = [w0, b0, w1]
        let grads = try g.gradients(of: loss, wrt: parameters)
        let rate: Float = 0.05
        let updates = zip(parameters, grads).map { p, d in
            declared ? ParameterUpdate.sgd(parameter: p, gradient: d) { rate }
                     : ParameterUpdate(parameter: p, gradient: d) { values, gradients in
                           OptimizerSteps.sgd(parameters: values, gradients: gradients, learningRate: rate)
                       }
        }
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let plan = try Plan(outputs: [loss] + (gradientOutput ? [grads[0]] : []), updates: updates,
                            executor: executor, fusion: fusion)
        for _ in 0..<3 { try plan.run() }
        return (try parameters.map { try g.value(of: $0).scalars }, plan.taskInfo.map(\.name))
    }

    @Test(arguments: [1, 2, 3])
    func sameBitsAsTheSeparateUpdate(workers: Int) throws {
        // A batch of 64: the weight gradients' products sum k in one block. The separate updates
        // in a fused plan too (an undeclared rule is never folded), so that both take b0's
        // gradient from the product's blocks (Note [Bias gradients from the product's blocks]).
        let fused = try Self.train(batch: 64, fusion: true, workers: workers)
        let separate = try Self.train(batch: 64, fusion: true, workers: 1, declared: false)
        #expect(fused.names.contains("matmul+update w0") && fused.names.contains("matmul+update w1"), "\(fused.names)")
        #expect(!fused.names.contains("update w0") && separate.names.contains("update w0"))
        #expect(fused.values == separate.values)
        // Without fusion (b0's gradient in one sequence of rows): within rounding.
        let unfused = try Self.train(batch: 64, fusion: false, workers: 1)
        for (a, b) in zip(fused.values, unfused.values) {
            for (u, v) in zip(a, b) { #expect(abs(u - v) <= 1e-5 * max(1, abs(v)), "\(u) vs \(v)") }
        }
    }

    @Test func severalDepthBlocksStayCloseAndDeterministic() throws {
        // A batch of 2500 rows: k is cut into blocks at every kernel level, each added to the
        // parameter in turn (not the separate step's bits, but the same on any worker count).
        let one = try Self.train(batch: 2500, fusion: true, workers: 1)
        let three = try Self.train(batch: 2500, fusion: true, workers: 3)
        let separate = try Self.train(batch: 2500, fusion: false, workers: 1)
        #expect(one.values == three.values)
        for (a, b) in zip(one.values, separate.values) {
            for (u, v) in zip(a, b) { #expect(abs(u - v) <= 1e-6 * max(1, abs(v)), "\(u) vs \(v)") }
        }
    }

    @Test func undeclaredRulesAndReadGradientsStaySeparate() throws {
        let opaque = try Self.train(batch: 16, fusion: true, workers: 1, declared: false)
        #expect(opaque.names.contains("update w0") && !opaque.names.contains { $0.hasPrefix("matmul+update") })
        // A gradient the plan returns is stored and read: its update stays a task of its own.
        let returned = try Self.train(batch: 16, fusion: true, workers: 1, gradientOutput: true)
        #expect(returned.names.contains("update w0") && returned.names.contains("matmul+update w1"), "\(returned.names)")
        #expect(returned.values == opaque.values)
        let separate = try Self.train(batch: 16, fusion: false, workers: 1)
        for (a, b) in zip(opaque.values, separate.values) {
            for (u, v) in zip(a, b) { #expect(abs(u - v) <= 1e-5 * max(1, abs(v)), "\(u) vs \(v)") }
        }
    }
}
