import Foundation
import Testing
import Tensor

/// `layerNorm`: values and all three gradients worked out by hand, finite differences, shape
/// errors, graph files, and equal bits on 1, 2 and 3 workers.
@Suite struct LayerNormTests {
    static let gradientCases: [GradCase] = [
        GradCase("layer_norm [3, 5]") { g, r in
            let x = g.random([3, 5], &r), gamma = g.random([5], &r), beta = g.random([5], &r)
            return (try layerNorm(x, gamma: gamma, beta: beta), [x, gamma, beta])
        },
        GradCase("layer_norm [2, 2, 4], small epsilon") { g, r in
            let x = g.random([2, 2, 4], &r, in: -3..<3), gamma = g.random([4], &r), beta = g.random([4], &r)
            return (try layerNorm(x, gamma: gamma, beta: beta, epsilon: 1e-9), [x, gamma, beta])
        },
        GradCase("layer_norm of one row [6], large epsilon") { g, r in
            let x = g.random([6], &r), gamma = g.random([6], &r), beta = g.random([6], &r)
            return (try layerNorm(x, gamma: gamma, beta: beta, epsilon: 0.5), [x, gamma, beta])
        },
        GradCase("layer_norm in a chain") { g, r in
            let x = g.random([4, 3], &r), w = g.random([3, 3], &r), gamma = g.random([3], &r), beta = g.random([3], &r)
            return (try tanh(layerNorm(x.matmul(w), gamma: gamma, beta: beta)), [x, w, gamma, beta])
        },
    ]

    @Test(arguments: gradientCases)
    func matchesFiniteDifferences(_ c: GradCase) throws {
        let problems = try GradientCheck.run(c.build)
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test func valuesAndGradientsByHand() throws {
        // Rows with mean 2 and 1, variance 4 (so with epsilon 0, rstd = 1/2 exactly): x̂ = ±1.
        let g = Graph<Double>()
        let x = g.parameter("x", Tensor(rows: [[0, 0, 4, 4], [3, -1, 3, -1]]))
        let gamma = g.parameter("gamma", Tensor([1, 2, 3, 4])), beta = g.parameter("beta", Tensor([0.5, 0, 0, -1]))
        let y = try layerNorm(x, gamma: gamma, beta: beta, epsilon: 0)
        let w = g.constant(Tensor(rows: [[1, 0, 0, 0], [0, 0, 0, 1]]))
        let grads = try g.gradients(of: (y * w).sum(), wrt: [x, gamma, beta])
        let plan = try Plan(outputs: [y] + grads)
        try plan.run()
        #expect(try plan.value(of: y) == Tensor(rows: [[-0.5, -2, 3, 3], [1.5, -2, 3, -5]]))
        // dx = rstd (ĝ - mean ĝ - x̂ mean(ĝ x̂)) with ĝ = w γ: row 0 ĝ = [1, 0, 0, 0], row 1 ĝ = [0, 0, 0, 4].
        #expect(try plan.value(of: grads[0]) == Tensor(rows: [[0.25, -0.25, 0, 0], [0, -1, 0, 1]]))
        #expect(try plan.value(of: grads[1]) == Tensor([-1, 0, 0, -1]))    // Σ w x̂
        #expect(try plan.value(of: grads[2]) == Tensor([1, 0, 0, 1]))      // Σ w
    }

    @Test func shapeErrorsNameOperationShapesAndLine() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [4, 3]), v4 = g.placeholder("v4", shape: [4]), v3 = g.placeholder("v3", shape: [3])
        let line = #line + 1
        let m = message { _ = try layerNorm(x, gamma: v4, beta: v3) }
        #expect(m.contains("layer_norm([4, 3], [4], [3]) at TensorTests/LayerNormTests.swift:\(line)"))
        #expect(m.contains("gamma and beta must be [3] (the last dimension of x [4, 3])"))
        #expect(message { _ = try layerNorm(x, gamma: v3, beta: v3, epsilon: -1) }.contains("epsilon -1.0 must be finite and not negative"))
        #expect(message { _ = try layerNorm(g.scalar(1), gamma: v3, beta: v3) }.contains("at least one dimension"))
    }

    @Test func graphFilesRoundTrip() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 6)
        let x = g.parameter("x", .randomNormal(shape: [3, 5], using: &rng))
        let gamma = g.parameter("gamma", .randomNormal(shape: [5], using: &rng))
        let beta = g.parameter("beta", .randomNormal(shape: [5], using: &rng))
        let y = try layerNorm(x, gamma: gamma, beta: beta, epsilon: 1e-3) * layerNorm(x, gamma: beta, beta: gamma)
        #expect(try GraphFileRoundTrip.matches([("y", y)], loss: y.sum()))
    }

    @Test func bitwiseEqualOnOneTwoAndThreeWorkers() throws {
        let check = try WorkerCountCheck { (g: Graph<Float>) in
            var rng = SeededGenerator(seed: 14)
            let x = g.parameter("x", .randomNormal(shape: [2048, 96], mean: 1, standardDeviation: 3, using: &rng))
            let gamma = g.parameter("gamma", .randomNormal(shape: [96], using: &rng))
            let beta = g.parameter("beta", .randomNormal(shape: [96], using: &rng))
            let y = try layerNorm(x, gamma: gamma, beta: beta)
            let loss = try (y * g.constant(.randomNormal(shape: [2048, 96], using: &rng))).sum()
            return [y, loss] + (try g.gradients(of: loss, wrt: [x, gamma, beta]))
        }
        #expect(check.bitwiseEqual)
        for k in 1..<check.split.count {
            #expect(check.split[k].isSuperset(of: ["layer_norm", "layer_norm_backward", "layer_norm_gamma_backward"]),
                    "\(WorkerCountCheck.workerCounts[k]) workers split only \(check.split[k])")
        }
    }
}
