import Testing
import Tensor

/// Graph size limits: long chains (no recursion anywhere), many branches, and nothing leaked.
@Suite struct LargeGraphTests {
    @Test func millionNodeChainDifferentiatesAndRuns() throws {
        let g = Graph<Float>()
        let x = g.parameter("x", .ones(shape: [2]))
        var h = x
        for _ in 0..<1_000_000 { h = try h * 1 }
        let loss = try h.sum()
        let dx = try g.gradients(of: loss, wrt: [x])[0]
        let plan = try Plan(outputs: [loss, dx])
        try plan.run()
        #expect(try plan.value(of: loss).scalar == 2)
        #expect(try plan.value(of: dx).scalars == [1, 1])
        // Liveness: a chain needs a handful of buffers, not one per node.
        #expect(plan.peakBytes < 100 * 64)
    }

    @Test func tenThousandIndependentBranches() throws {
        let g = Graph<Float>()
        let x = g.parameter("x", Tensor([1, 2, 3, 4]))
        var terms: [Node<Float>] = []
        for b in 0..<10_000 { terms.append(try (x * Float(b % 7)).sum()) }
        let total = try concat(terms.map { try $0.reshaped([1]) }, axis: 0).sum()
        let dx = try g.gradients(of: total, wrt: [x])[0]
        let plan = try Plan(outputs: [total, dx])
        try plan.run()
        let weight = (0..<10_000).reduce(Float(0)) { $0 + Float($1 % 7) }
        #expect(try plan.value(of: total).scalar == 10 * weight)
        #expect(try plan.value(of: dx).scalars == [weight, weight, weight, weight])
    }

    @Test func graphsAndPlansAreFreed() throws {
        weak var weakGraph: Graph<Float>?
        weak var weakPlan: Plan<Float>?
        do {
            let g = Graph<Float>()
            let x = g.parameter("x", .ones(shape: [64]))
            let loss = try tanh(x).sum()
            let plan = try Plan(outputs: [loss] + g.gradients(of: loss, wrt: [x]))
            try plan.run()
            weakGraph = g
            weakPlan = plan
        }
        #expect(weakGraph == nil)
        #expect(weakPlan == nil)
    }
}
