import Tensor
import Testing

/// Empty dimensions are valid shapes: products over an empty inner dimension are zeros, and empty
/// results compute (nothing) without errors, forward and backward.
@Suite struct EmptyDimensionTests {
    @Test func matmulOverAnEmptyInnerDimensionIsZeros() throws {
        let g = Graph<Double>()
        let a = g.parameter("a", .zeros(shape: [2, 0])), b = g.parameter("b", .zeros(shape: [0, 3]))
        let c = try a.matmul(b)
        let bias = g.parameter("bias", Tensor(shape: [3], scalars: [1, 2, 3]))
        let loss = try (c + bias).sum()
        let grads = try g.gradients(of: loss, wrt: [a, b, bias])
        let plan = try Plan(outputs: [c, loss] + grads)
        try plan.run()
        #expect(try plan.value(of: c).scalars == [0, 0, 0, 0, 0, 0])
        #expect(try plan.value(of: loss).scalar == 12)
        #expect(try plan.value(of: grads[0]).shape == [2, 0] && plan.value(of: grads[1]).shape == [0, 3])
        #expect(try plan.value(of: grads[2]).scalars == [2, 2, 2])
    }

    @Test func emptyOuterDimensionsComputeNothing() throws {
        let g = Graph<Float>()
        let a = g.parameter("a", .zeros(shape: [0, 4])), b = g.parameter("b", .ones(shape: [4, 5]))
        let c = try a.matmul(b)
        let total = try c.sum()
        let plan = try Plan(outputs: [c, total])
        try plan.run()
        #expect(try plan.value(of: c).shape == [0, 5])
        #expect(try plan.value(of: total).scalar == 0)
    }
}

/// A plan whose buffers cannot fit in memory is refused before allocating, saying what it needs.
@Suite struct OversizedPlanTests {
    @Test func aPlanLargerThanMemoryIsRefused() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [1 << 20, 1 << 20])     // 4 TiB of Float
        let y = try exp(x)
        #expect { try Plan(outputs: [y]) } throws: { error in
            "\(error)".contains("bytes") && "\(error)".contains("more than this machine's")
        }
    }
}
