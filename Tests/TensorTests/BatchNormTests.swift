import Tensor
import Testing

/// Batch normalization (training form with the batch's statistics, inference form with given
/// ones): values worked out by hand, gradients against finite differences, shape errors.
@Suite struct BatchNormTests {
    @Test func normalizesEachFeatureOverTheBatch() throws {
        let g = Graph<Double>()
        // Feature 0: 1, 3 (mean 2, variance 1); feature 1: 2, 6 (mean 4, variance 4).
        let x = g.constant(Tensor(shape: [2, 2], scalars: [1, 2, 3, 6]))
        let gamma = g.constant(Tensor(shape: [2], scalars: [2, 1])), beta = g.constant(Tensor(shape: [2], scalars: [0, 10]))
        let bn = try batchNorm(x, gamma: gamma, beta: beta, epsilon: 1e-12)
        let plan = try Plan(outputs: [bn.output, bn.mean, bn.variance])
        try plan.run()
        #expect(try plan.value(of: bn.mean).scalars == [2, 4])
        #expect(try plan.value(of: bn.variance).scalars == [1, 4])
        let y = try plan.value(of: bn.output).scalars
        for (got, want) in zip(y, [-2.0, 9, 2, 11]) { #expect(abs(got - want) < 1e-9, "\(y)") }
        #expect(bn.count == 2)
    }

    @Test func imageChannelsAreNormalizedOverBatchAndPixels() throws {
        let g = Graph<Double>()
        // [2, 1, 2, 1]: one channel, four values 0, 2, 4, 6: mean 3, variance 5.
        let x = g.constant(Tensor(shape: [2, 1, 2, 1], scalars: [0, 2, 4, 6]))
        let one = g.constant(Tensor(shape: [1], scalars: [1])), zero = g.constant(Tensor(shape: [1], scalars: [0]))
        let bn = try batchNorm(x, gamma: one, beta: zero, epsilon: 1e-12)
        let plan = try Plan(outputs: [bn.output, bn.variance])
        try plan.run()
        #expect(try plan.value(of: bn.variance).scalars == [5])
        let s = 5.0.squareRoot()
        for (got, want) in zip(try plan.value(of: bn.output).scalars, [-3 / s, -1 / s, 1 / s, 3 / s]) {
            #expect(abs(got - want) < 1e-9)
        }
        #expect(bn.count == 4)
    }

    @Test func inferenceUsesTheGivenStatistics() throws {
        let g = Graph<Double>()
        let x = g.constant(Tensor(shape: [1, 2], scalars: [5, 5]))
        let mean = g.constant(Tensor(shape: [2], scalars: [1, 3])), variance = g.constant(Tensor(shape: [2], scalars: [4, 1]))
        let gamma = g.constant(Tensor(shape: [2], scalars: [1, 2])), beta = g.constant(Tensor(shape: [2], scalars: [0, 1]))
        let y = try batchNorm(x, mean: mean, variance: variance, gamma: gamma, beta: beta, epsilon: 1e-12)
        let plan = try Plan(outputs: [y])
        try plan.run()
        // (5 - 1) / 2 = 2;  2 · (5 - 3) / 1 + 1 = 5
        for (got, want) in zip(try plan.value(of: y).scalars, [2.0, 5]) { #expect(abs(got - want) < 1e-9) }
    }

    @Test func trainingGradientMatchesFiniteDifferences() throws {
        let problems = try GradientCheck.run(seed: 21) { g, rng in
            let x = g.random([5, 3], &rng), gamma = g.random([3], &rng, in: 0.5..<1.5), beta = g.random([3], &rng)
            return (try batchNorm(x, gamma: gamma, beta: beta).output, [x, gamma, beta])
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test func imageGradientMatchesFiniteDifferences() throws {
        let problems = try GradientCheck.run(seed: 22) { g, rng in
            let x = g.random([2, 3, 2, 2], &rng), gamma = g.random([2], &rng, in: 0.5..<1.5), beta = g.random([2], &rng)
            return (try batchNorm(x, gamma: gamma, beta: beta).output, [x, gamma, beta])
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test func inferenceGradientMatchesFiniteDifferences() throws {
        let problems = try GradientCheck.run(seed: 23) { g, rng in
            let x = g.random([4, 3], &rng), mean = g.random([3], &rng), variance = g.random([3], &rng, in: 0.5..<2)
            let gamma = g.random([3], &rng, in: 0.5..<1.5), beta = g.random([3], &rng)
            return (try batchNorm(x, mean: mean, variance: variance, gamma: gamma, beta: beta), [x, gamma, beta, mean, variance])
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test func wrongShapesAreRefusedWhenBuilt() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [8, 4])
        let gamma = g.parameter("g", .ones(shape: [3])), beta = g.parameter("b", .zeros(shape: [4]))
        #expect {
            _ = try batchNorm(x, gamma: gamma, beta: beta)
        } throws: { error in
            "\(error)".contains("batch_norm") && "\(error)".contains("gamma has shape [3], expected [4]")
        }
        let vector = g.placeholder("v", shape: [4])
        #expect(throws: GraphError.self) { _ = try batchNorm(vector, gamma: beta, beta: beta) }
        let empty = g.placeholder("e", shape: [0, 4])
        #expect(throws: GraphError.self) { _ = try batchNorm(empty, gamma: beta, beta: beta) }
        #expect(throws: GraphError.self) { _ = try batchNorm(x, gamma: beta, beta: beta, epsilon: 0) }
    }
}
