import Foundation
import Tensor
import Testing

/// Scaled dot-product attention with a causal mask, built from the fixed operations (batched
/// matmul, scale, a mask, softmax, layer norm, embedding), with its gradient checked against finite
/// differences and the mask checked to hide the future.
@Suite struct AttentionTests {
    /// One attention block over `[batch, time, width]` inputs: queries, keys and values from `x`,
    /// `softmax(Q·Kᵀ/sqrt(d) + mask)·V`, where the mask adds -1e9 above the diagonal (position t
    /// sees positions <= t).
    static func attention(_ x: Node<Double>, wq: Node<Double>, wk: Node<Double>, wv: Node<Double>) throws -> Node<Double> {
        let g = x.graph
        let (t, d) = (x.shape[1], wq.shape[1])
        let q = try x.matmul(wq), k = try x.matmul(wk), v = try x.matmul(wv)
        let scores = try q.matmul(k, transposeOther: true) * (1 / Double(d).squareRoot())
        var mask = [Double](repeating: 0, count: t * t)
        for i in 0..<t { for j in (i + 1)..<max(i + 1, t) where j < t { mask[i * t + j] = -1e9 } }
        let causal = g.constant(Tensor(shape: [t, t], scalars: mask))
        let weights = try softmax(scores + causal, axis: 2)
        return try weights.matmul(v)
    }

    @Test func gradientOfAnAttentionBlockMatchesFiniteDifferences() throws {
        let problems = try GradientCheck.run(seed: 11) { g, rng in
            let table = g.random([7, 4], &rng)
            let ids = g.constant(Tensor(shape: [2, 3], scalars: [0, 3, 6, 2, 2, 5]))
            let x = try embedding(table, indices: ids)                               // [2, 3, 4]
            let wq = g.random([4, 4], &rng), wk = g.random([4, 4], &rng), wv = g.random([4, 4], &rng)
            let gamma = g.random([4], &rng, in: 0.5..<1.5), beta = g.random([4], &rng)
            let h = try layerNorm(Self.attention(x, wq: wq, wk: wk, wv: wv) + x, gamma: gamma, beta: beta)
            return (h, [table, wq, wk, wv, gamma, beta])
        }
        #expect(problems.isEmpty, "\(problems.prefix(5))")
    }

    @Test func theMaskHidesTheFuture() throws {
        // Changing the last time step's input must not change earlier outputs.
        var rng = SeededGenerator(seed: 3)
        let g = Graph<Double>()
        let x = g.placeholder("x", shape: [1, 4, 3])
        let w = (0..<3).map { _ in g.parameter("w\(g.nodeCount)", .randomNormal(shape: [3, 3], standardDeviation: 1, using: &rng)) }
        let out = try Self.attention(x, wq: w[0], wk: w[1], wv: w[2])
        let plan = try Plan(outputs: [out])
        var input = Tensor<Double>.randomNormal(shape: [1, 4, 3], standardDeviation: 1, using: &rng)
        try plan.run(feeds: [x: input])
        let before = try plan.value(of: out).scalars
        var flat = input.scalars
        for i in 9..<12 { flat[i] += 5 }
        input = Tensor(shape: [1, 4, 3], scalars: flat)
        try plan.run(feeds: [x: input])
        let after = try plan.value(of: out).scalars
        #expect(Array(before[0..<9]) == Array(after[0..<9]))
        #expect(Array(before[9..<12]) != Array(after[9..<12]))
    }
}
