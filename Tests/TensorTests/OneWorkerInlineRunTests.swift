import Scheduler
import Tensor
import Testing

/// Note [Runs on one worker]: a blocking run of a plan whose executor has one worker goes on the
/// calling thread, however large the plan; the async run still hands it to the worker. Either way
/// the results are the bits that two workers compute.
@Suite struct OneWorkerInlineRunTests {
    /// A two-layer training step with SGD updates, far above `Plan.inlineLimitMicroseconds`.
    final class Step {
        let graph = Graph<Float>()
        let x: Node<Float>, w1: Node<Float>, w2: Node<Float>, loss: Node<Float>
        let plan: Plan<Float>

        init(executor: Executor) throws {
            var rng = SeededGenerator(seed: 11)
            x = graph.placeholder("x", shape: [128, 256])
            w1 = graph.parameter("w1", Tensor<Float>.randomNormal(shape: [256, 512], standardDeviation: 0.05, using: &rng))
            w2 = graph.parameter("w2", Tensor<Float>.randomNormal(shape: [512, 10], standardDeviation: 0.05, using: &rng))
            let logits = try relu(x.matmul(w1)).matmul(w2)
            loss = try (logits * logits).mean()
            let grads = try graph.gradients(of: loss, wrt: [w1, w2])
            plan = try Plan(outputs: [loss], updates: [
                .sgd(parameter: w1, gradient: grads[0]) { 0.05 },
                .sgd(parameter: w2, gradient: grads[1]) { 0.05 },
            ], executor: executor)
        }

        func feed(_ step: Int) throws {
            try plan.withUnsafeFeed(x) { for i in $0.indices { $0[i] = Float((i * 7 + step * 13) % 23) * 0.1 - 1.1 } }
        }

        func parameters() throws -> [[Float]] { [try graph.value(of: w1).scalars, try graph.value(of: w2).scalars] }
    }

    @Test func aLargePlanOnOneWorkerRunsOnTheCallingThreadWithTheSameBits() throws {
        let one = Executor(workers: 1, pinning: false), two = Executor(workers: 2, pinning: false)
        defer { one.shutdown(); two.shutdown() }
        let inline = try Step(executor: one), handed = try Step(executor: two)
        #expect(inline.plan.runsInline)
        #expect(!handed.plan.runsInline)
        let recorder = TraceRecorder()
        for step in 0..<3 {
            try inline.feed(step)
            try handed.feed(step)
            try inline.plan.run(observer: recorder)
            try handed.plan.run()
            #expect(try inline.plan.value(of: inline.loss).scalars == handed.plan.value(of: handed.loss).scalars)
        }
        #expect(try inline.parameters() == handed.parameters())
        // Observed, the inline runs report every task on the calling thread, one past the worker.
        let events = recorder.events.filter { $0.task >= 0 }
        #expect(events.count == 3 * inline.plan.taskCount)
        #expect(events.allSatisfy { $0.worker == 1 })
    }

    @Test func theAsyncRunStillUsesTheWorker() async throws {
        let one = Executor(workers: 1, pinning: false)
        defer { one.shutdown() }
        let handed = try Step(executor: one)
        let recorder = TraceRecorder()
        try handed.feed(0)
        try await handed.plan.run(observer: recorder)
        #expect(try handed.parameters() == Self.oneInlineStep(executor: one))
        let events = recorder.events.filter { $0.task >= 0 && $0.parent < 0 }
        #expect(events.count == handed.plan.taskCount)
        #expect(events.allSatisfy { $0.worker == 0 })
    }

    /// The parameters after one blocking (inline) step of a fresh `Step`.
    static func oneInlineStep(executor: Executor) throws -> [[Float]] {
        let step = try Step(executor: executor)
        try step.feed(0)
        try step.plan.run()
        return try step.parameters()
    }
}
