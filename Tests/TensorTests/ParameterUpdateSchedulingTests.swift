import Scheduler
import Testing
import Tensor

/// `ParameterUpdate.priority` and `writesParameter`: how a plan schedules hooks that hand
/// gradients to communication.
@Suite struct ParameterUpdateSchedulingTests {
    /// x[8,4] -> matmul w1[4,6] -> relu -> matmul w2[6,3] -> mean of squares.
    static func model(_ g: Graph<Float>) throws -> (x: Node<Float>, w1: Node<Float>, w2: Node<Float>, loss: Node<Float>) {
        var rng = SeededGenerator(seed: 1)
        let x = g.placeholder("x", shape: [8, 4])
        let w1 = g.parameter("w1", .randomNormal(shape: [4, 6], standardDeviation: 0.5, using: &rng))
        let w2 = g.parameter("w2", .randomNormal(shape: [6, 3], standardDeviation: 0.5, using: &rng))
        let y = try relu(x.matmul(w1)).matmul(w2)
        return (x, w1, w2, try (y * y).mean())
    }

    /// Index of the task named `name`.
    static func task(_ plan: Plan<Float>, _ name: String) throws -> Int {
        try #require(plan.taskInfo.firstIndex { $0.name == name }, "no task \(name) in \(plan.taskInfo.map(\.name))")
    }

    @Test func aHookThatDoesNotWriteTheParameterWaitsOnlyForItsGradient() throws {
        let g = Graph<Float>()
        let (_, w1, w2, loss) = try Self.model(g)
        let grads = try g.gradients(of: loss, wrt: [w1, w2])
        let executor = Executor(workers: 1)
        defer { executor.shutdown() }
        func plan(writes: Bool) throws -> Plan<Float> {
            // w1's update needs the gradient flowing back through w2 (a matmul reading w2).
            let u1 = ParameterUpdate(parameter: w1, gradient: grads[0], name: "hook w1") { _, _ in }
            var u2 = ParameterUpdate(parameter: w2, gradient: grads[1], name: "hook w2") { _, _ in }
            u2.writesParameter = writes
            return try Plan(outputs: [loss], updates: [u1, u2], executor: executor)
        }
        let writing = try plan(writes: true), reading = try plan(writes: false)
        // w2 is read by the forward matmul and by the backward matmul toward w1; its gradient is
        // a third matmul. Writing waits for all three; reading only for the gradient.
        #expect(try writing.compiled!.predecessorCount(of: Self.task(writing, "hook w2")) == 3)
        #expect(try reading.compiled!.predecessorCount(of: Self.task(reading, "hook w2")) == 1)
    }

    @Test func theHookReceivesTheGradientAndTheParameter() throws {
        let g = Graph<Float>()
        let (x, w1, w2, loss) = try Self.model(g)
        let grads = try g.gradients(of: loss, wrt: [w1, w2])
        let reference = try Plan(outputs: [loss] + grads)
        var rng = SeededGenerator(seed: 2)
        let feed = Tensor<Float>.randomNormal(shape: [8, 4], using: &rng)
        try reference.run(feeds: [x: feed])
        let expected = try reference.value(of: grads[1]).scalars
        final class Seen: @unchecked Sendable { var gradient: [Float] = []; var parameter: [Float] = [] }
        let seen = Seen()
        var hook = ParameterUpdate(parameter: w2, gradient: grads[1]) { p, gradient in
            seen.gradient = Array(gradient)
            seen.parameter = Array(p)
        }
        hook.writesParameter = false
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        try Plan(outputs: [loss], updates: [hook], executor: executor).run(feeds: [x: feed])
        #expect(seen.gradient == expected)
        #expect(seen.parameter == (try g.value(of: w2).scalars))
    }

    /// Without ranks the critical path decides: the backward matmul toward w1 (a long path
    /// follows it) outranks w2's gradient. Ranking w2's hook above w1's reverses that.
    @Test func ranksPutTheGradientsOfHigherRankedHooksFirst() throws {
        let g = Graph<Float>()
        let (_, w1, w2, loss) = try Self.model(g)
        let grads = try g.gradients(of: loss, wrt: [w1, w2])
        let executor = Executor(workers: 1)
        defer { executor.shutdown() }
        func plan(ranked: Bool) throws -> (Plan<Float>, gradientTask: Int, towardW1: Int) {
            var u1 = ParameterUpdate(parameter: w1, gradient: grads[0], name: "hook w1") { _, _ in }
            var u2 = ParameterUpdate(parameter: w2, gradient: grads[1], name: "hook w2") { _, _ in }
            u1.writesParameter = false
            u2.writesParameter = false
            if ranked { u1.priority = 1; u2.priority = 2 }
            let plan = try Plan(outputs: [loss], updates: [u1, u2], executor: executor)
            let compiled = plan.compiled!
            // The hook of w2 has one predecessor: w2's gradient task. The task that feeds it the
            // upstream gradient also feeds the backward matmul toward w1: its other successor.
            let hook = try Self.task(plan, "hook w2")
            let gradientTask = try #require((0..<compiled.taskCount).first { compiled.successors(of: $0).contains(hook) })
            let upstream = try #require((0..<compiled.taskCount).first { compiled.successors(of: $0).contains(gradientTask) && plan.taskInfo[$0].category == .backward })
            let toward = try #require(compiled.successors(of: upstream).first { $0 != gradientTask })
            return (plan, gradientTask, toward)
        }
        let (plain, g2, t1) = try plan(ranked: false)
        #expect(plain.compiled!.priority(of: t1) > plain.compiled!.priority(of: g2))
        let (ranked, rg2, rt1) = try plan(ranked: true)
        #expect(ranked.compiled!.priority(of: rg2) > ranked.compiled!.priority(of: rt1))
    }
}
