import Foundation
import Testing
import Tensor

/// Bad graphs and bad feeds are thrown errors naming the operation, the shapes and the source line.
@Suite struct ErrorTests {
    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return "\(error)" }
        return "no error"
    }

    @Test func badShapesNameOperationShapesAndLine() throws {
        let g = Graph<Float>()
        let a = g.placeholder("a", shape: [2, 3])
        let b = g.placeholder("b", shape: [4, 5])
        let line = #line + 1
        let m = message { _ = try a.matmul(b) }
        #expect(m.contains("matmul([2, 3], [4, 5])"))
        #expect(m.contains("ErrorTests.swift:\(line)"))
        #expect(m.contains("inner dimensions differ: 3 vs 4"))

        #expect(message { _ = try a + b }.contains("add([2, 3], [4, 5])"))
        #expect(message { _ = try a.reshaped([4]) }.contains("reshape([2, 3])"))
        #expect(message { _ = try a.transposed([0, 0]) }.contains("transpose([2, 3])"))
        #expect(message { _ = try a.slice(axis: 1, 2..<5) }.contains("slice([2, 3])"))
        #expect(message { _ = try concat([a, b], axis: 0) }.contains("concat([2, 3], [4, 5])"))
        #expect(message { _ = try a.sum(axes: [2]) }.contains("axis 2 out of range"))
        #expect(message { _ = try a.broadcast(to: [3, 3]) }.contains("broadcast_to([2, 3])"))
        #expect(message { _ = try softmaxCrossEntropy(logits: a, labels: a) }.contains("softmax_cross_entropy([2, 3], [2, 3])"))
        #expect(message { _ = try meanSquaredError(a, b) }.contains("mse([2, 3], [4, 5])"))
        #expect(message { _ = try a.split(axis: 1, sizes: [1, 1]) }.contains("split([2, 3])"))
        let v = g.placeholder("v", shape: [3])
        #expect(message { _ = try v.matmul(v) }.contains("rank >= 2"))
    }

    @Test func badFeeds() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [2, 2])
        let w = g.parameter("w", .ones(shape: [2, 2]))
        let y = try x.matmul(w)
        let plan = try Plan(outputs: [y])
        #expect(message { try plan.run() }.contains("placeholder 'x' (%0) was never fed"))
        #expect(message { try plan.run(feeds: [x: .zeros(shape: [3, 2])]) }
            .contains("feed([2, 2], [3, 2])"))
        #expect(message { try plan.run(feeds: [w: .zeros(shape: [2, 2])]) }.contains("not a placeholder"))
        let other = Graph<Float>()
        let stranger = other.placeholder("s", shape: [2, 2])
        #expect(message { try plan.run(feeds: [stranger: .zeros(shape: [2, 2])]) }.contains("another graph"))
        #expect(message { _ = try plan.value(of: stranger) }.contains("not part of this plan"))
        #expect(message { _ = try x + stranger }.contains("another graph"))
        #expect(message { _ = try g.gradients(of: y, wrt: [w]) }.contains("one element"))
        // A placeholder of the same graph that this plan does not need is accepted and ignored.
        let unused = g.placeholder("unused", shape: [3])
        try plan.run(feeds: [x: .ones(shape: [2, 2]), unused: .zeros(shape: [3])])
        #expect(try plan.value(of: y).scalars == [2, 2, 2, 2])
    }

    @Test func badLabelFailsTheRunAndThePlanStaysUsable() throws {
        let g = Graph<Float>()
        let z = g.placeholder("z", shape: [2, 3])
        let labels = g.placeholder("labels", shape: [2])
        let loss = try softmaxCrossEntropy(logits: z, labels: labels)
        let plan = try Plan(outputs: [loss])
        let m = message { try plan.run(feeds: [z: .zeros(shape: [2, 3]), labels: Tensor([0, 3])]) }
        #expect(m.contains("softmax_cross_entropy") && m.contains("label 3.0 of row 1"))
        try plan.run(feeds: [labels: Tensor([0, 2])])
        #expect(abs(try plan.value(of: loss).scalar - Float(Foundation.log(3.0))) < 1e-6)
        try everyBadLabelFails(Float.self)
        try everyBadLabelFails(Double.self)
    }

    /// Negative, too large, fractional and non-finite labels all fail, in the forward and the
    /// backward operation; the largest class index does not.
    func everyBadLabelFails<S: TensorScalar>(_ type: S.Type) throws {
        let g = Graph<S>()
        let z = g.parameter("z", .zeros(shape: [2, 3]))
        let labels = g.placeholder("labels", shape: [2])
        let loss = try softmaxCrossEntropy(logits: z, labels: labels)
        let gradient = try g.gradients(of: loss, wrt: [z])[0]
        for outputs in [[loss], [gradient]] {
            let plan = try Plan(outputs: outputs)
            for bad in [-1, 3, 2.5, 0.5, -0.0 - 1e-30, S.nan, S.infinity, -S.infinity] as [S] {
                let m = message { try plan.run(feeds: [labels: Tensor([2, bad])]) }
                #expect(m.contains("of row 1 is not a class index in 0..<3"), "\(S.self) \(bad): \(m)")
            }
            try plan.run(feeds: [labels: Tensor([2, 0])])
        }
    }

    @Test func missingGradientRuleNamesTheOperation() throws {
        let g = Graph<Double>()
        let x = g.parameter("x", .ones(shape: [3]))
        let first = try g.gradients(of: gelu(x).sum(), wrt: [x])[0]
        #expect(message { _ = try g.gradients(of: first.sum(), wrt: [x]) }.contains("no gradient rule for gelu_backward"))
    }

    @Test func outputsOnlyAndUpdateChecks() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [2])
        let h = try exp(x)
        let y = try h * 2
        let plan = try Plan(outputs: [y])
        try plan.run(feeds: [x: .zeros(shape: [2])])
        #expect(message { _ = try plan.value(of: h) }.contains("not an output of this plan"))
        #expect(message { _ = try Plan(outputs: [y], updates: [ParameterUpdate(parameter: x, gradient: x) { _, _ in }]) }
            .contains("not a parameter"))
    }
}
