import Foundation
import Testing
import Scheduler
import Tensor
import TestSupport

/// Plans on executors: bitwise-equal results for any worker count, concurrent plans, updates ordered
/// after reads.
@Suite struct ParallelPlanTests {
    /// A model with inter-op parallelism (two branches), intra-op splits (a 256-row matmul), fused
    /// chains, reductions and a softmax cross-entropy loss.
    static func model(_ g: Graph<Float>) throws -> (x: Node<Float>, y: Node<Float>, loss: Node<Float>, grads: [Node<Float>]) {
        var rng = SeededGenerator(seed: 5)
        let x = g.placeholder("x", shape: [256, 96])
        let y = g.placeholder("y", shape: [256])
        let w1 = g.parameter("w1", .randomNormal(shape: [96, 160], standardDeviation: 0.1, using: &rng))
        let b1 = g.parameter("b1", .randomNormal(shape: [160], standardDeviation: 0.1, using: &rng))
        let v1 = g.parameter("v1", .randomNormal(shape: [96, 160], standardDeviation: 0.1, using: &rng))
        let w2 = g.parameter("w2", .randomNormal(shape: [160, 10], standardDeviation: 0.1, using: &rng))
        let left = try relu(x.matmul(w1) + b1)
        let right = try tanh(sigmoid(x.matmul(v1)) * 2 - 1)
        let logits = try (left + right).matmul(w2)
        let loss = try softmaxCrossEntropy(logits: logits, labels: y) + (right * right).mean() * 0.1
        return (x, y, loss, try g.gradients(of: loss, wrt: [w1, b1, v1, w2, x]))
    }

    static func feeds(_ x: Node<Float>, _ y: Node<Float>, seed: UInt64) -> [Node<Float>: Tensor<Float>] {
        var rng = SeededGenerator(seed: seed)
        let labels = (0..<256).map { _ in Float(Int.random(in: 0..<10, using: &rng)) }
        return [x: .randomNormal(shape: [256, 96], using: &rng), y: Tensor(labels)]
    }

    @Test func resultsAreBitwiseEqualForAnyWorkerCount() throws {
        var reference: [[[Float]]] = []
        for workers in [1, 2, 8] {
            let executor = Executor(workers: workers)
            let g = Graph<Float>()
            let (x, y, loss, grads) = try Self.model(g)
            let plan = try Plan(outputs: [loss] + grads, executor: executor)
            for run in 0..<12 {
                try plan.run(feeds: Self.feeds(x, y, seed: UInt64(run % 3)))
                let values = try ([loss] + grads).map { try plan.value(of: $0).scalars }
                if workers == 1 && run < 3 { reference.append(values) }
                #expect(values == reference[run % 3], "\(workers) workers, run \(run)")
            }
        }
    }

    @Test func fusedAndUnfusedPlansAgreeBitwise() throws {
        let g = Graph<Float>()
        let (x, y, loss, grads) = try Self.model(g)
        let fused = try Plan(outputs: [loss] + grads)
        let plain = try Plan(outputs: [loss] + grads, fusion: false)
        let f = Self.feeds(x, y, seed: 9)
        try fused.run(feeds: f)
        try plain.run(feeds: f)
        #expect(fused.taskCount < plain.taskCount)
        // b1's gradient is taken from the blocks of the product behind it, summed in chunks of
        // rows (Note [Bias gradients from the product's blocks]): within rounding; the rest bitwise.
        let bias = grads[1]
        for n in [loss] + grads where n.id != bias.id { #expect(try fused.value(of: n) == plain.value(of: n)) }
        let (a, b) = (try fused.value(of: bias).scalars, try plain.value(of: bias).scalars)
        #expect(zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * (1 + abs($1)) })
    }

    @Test func severalPlansRunConcurrently() throws {
        let executor = Executor(workers: 2)
        let g = Graph<Float>()
        let (x, y, loss, grads) = try Self.model(g)
        let plans = try (0..<3).map { _ in try Plan(outputs: [loss] + grads, executor: executor) }
        let serial = try Plan(outputs: [loss] + grads)
        try serial.run(feeds: Self.feeds(x, y, seed: 1))
        let expected = try serial.value(of: grads[0])
        for p in plans { try p.run(feeds: Self.feeds(x, y, seed: 1)) }
        let failures = Locked(0)
        // The graph is not mutated while the plans run, so reading the node from several threads is safe.
        nonisolated(unsafe) let probe = grads[0]
        DispatchQueue.concurrentPerform(iterations: 3) { i in
            for _ in 0..<5 {
                do {
                    try plans[i].run()
                    if try plans[i].value(of: probe) != expected { failures.withLock { $0 += 1 } }
                } catch { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
    }

    @Test func updatesRunAfterEveryReadOfTheirParameter() throws {
        // Each step reads w in two branches; the update must wait for both, on any worker count.
        for workers in [1, 2, 4] {
            let executor = Executor(workers: workers)
            let g = Graph<Float>()
            let w = g.parameter("w", .ones(shape: [64, 64]))
            let x = g.placeholder("x", shape: [64, 64])
            let a = try x.matmul(w).sum(), b = try tanh(w).sum()
            let loss = try a + b
            let dw = try g.gradients(of: loss, wrt: [w])[0]
            let step = ParameterUpdate(parameter: w, gradient: dw) { p, grad in
                for i in p.indices { p[i] -= 0.001 * grad[i] }
            }
            let plan = try Plan(outputs: [loss], updates: [step], executor: executor)
            var losses: [Float] = []
            for _ in 0..<5 {
                try plan.run(feeds: [x: .ones(shape: [64, 64])])
                losses.append(try plan.value(of: loss).scalar)
            }
            // Reference computed by hand: loss(w) = 64 * sum(w) + sum(tanh w), uniform w.
            var wv: Float = 1
            for k in 0..<5 {
                let expectedLoss = 64 * 4096 * wv + 4096 * Float(Foundation.tanh(Double(wv)))
                #expect(abs(losses[k] - expectedLoss) <= 1e-3 * abs(expectedLoss), "\(workers) workers step \(k)")
                let grad = 64 + (1 - Float(Foundation.tanh(Double(wv))) * Float(Foundation.tanh(Double(wv))))
                wv -= 0.001 * grad
            }
        }
    }
}
