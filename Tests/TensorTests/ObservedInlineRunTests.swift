import Dispatch
import Scheduler
import Tensor
import Testing
import TestSupport

/// Note [Observed inline runs]: a plan small enough to run on the calling thread stays there when
/// observed, and reports its tasks as worker `callingThreadWorker`.
@Suite struct ObservedInlineRunTests {
    /// A two-layer step with an SGD update: small enough to run inline.
    final class Step {
        let graph = Graph<Float>()
        let x: Node<Float>, loss: Node<Float>
        let plan: Plan<Float>

        init(executor: Executor) throws {
            x = graph.placeholder("x", shape: [4, 3])
            let w1 = graph.parameter("w1", Tensor(shape: [3, 5], scalars: (0..<15).map { Float($0 % 7) * 0.1 - 0.3 }))
            let w2 = graph.parameter("w2", Tensor(shape: [5, 2], scalars: (0..<10).map { Float($0 % 3) * 0.2 - 0.2 }))
            let h = try relu(x.matmul(w1))
            loss = try (h.matmul(w2) * h.matmul(w2)).sum()
            let grads = try graph.gradients(of: loss, wrt: [w1, w2])
            plan = try Plan(outputs: [loss], updates: [
                .sgd(parameter: w1, gradient: grads[0]) { 0.01 },
                .sgd(parameter: w2, gradient: grads[1]) { 0.01 },
            ], executor: executor)
        }

        func feed() throws {
            try plan.withUnsafeFeed(x) { for i in $0.indices { $0[i] = Float(i % 5) - 2 } }
        }
    }

    @Test(arguments: [1, 2])
    func observedInlineRunReportsEveryTaskOnTheCallingThread(workers: Int) throws {
        let executor = Executor(workers: workers, pinning: false)
        defer { executor.shutdown() }
        let observed = try Step(executor: executor), plain = try Step(executor: executor)
        #expect(observed.plan.runsInline)
        #expect(observed.plan.callingThreadWorker == workers)
        let recorder = TraceRecorder()
        for _ in 0..<3 {
            try observed.feed()
            try plain.feed()
            try observed.plan.run(observer: recorder)
            try plain.plan.run()
            // Observing changes nothing in what is computed.
            #expect(try observed.plan.value(of: observed.loss).scalars == plain.plan.value(of: plain.loss).scalars)
        }
        let events = recorder.events
        #expect(events.count == 3 * observed.plan.taskCount)
        #expect(events.allSatisfy { $0.worker == workers && $0.task >= 0 && $0.endNanos >= $0.beginNanos })
        // In program order, one run after the other.
        #expect(events.map(\.task) == Array(repeating: Array(0..<observed.plan.taskCount), count: 3).flatMap { $0 })

        // An observer installed on the executor sees inline runs the same way.
        let installed = TraceRecorder()
        executor.addObserver(installed)
        try observed.plan.run()
        #expect(executor.removeObserver(installed))
        #expect(installed.events.count == observed.plan.taskCount)
        #expect(installed.events.allSatisfy { $0.worker == workers })
    }

    /// A parameter update that runs another small plan, observed: the nested run goes on (the
    /// lock is its own thread's) and its tasks nest inside the update's.
    @Test func nestedObservedInlineRunDoesNotWait() throws {
        let executor = Executor(workers: 2, pinning: false)
        defer { executor.shutdown() }
        let inner = try Step(executor: executor)
        try inner.feed()
        let innerPlan = inner.plan
        let recorder = TraceRecorder()
        let graph = Graph<Float>()
        let x = graph.placeholder("x", shape: [3])
        let w = graph.parameter("w", Tensor(shape: [3], scalars: [1, 2, 3]))
        let loss = try (x * w).sum()
        let grad = try graph.gradients(of: loss, wrt: [w])[0]
        let outer = try Plan(outputs: [loss], updates: [ParameterUpdate(parameter: w, gradient: grad) { value, g in
            try? innerPlan.run(observer: recorder)
            for i in value.indices { value[i] -= g[i] }
        }], executor: executor)
        #expect(outer.runsInline && innerPlan.runsInline)
        try outer.run(feeds: [x: Tensor(shape: [3], scalars: [1, 1, 1])], observer: recorder)
        #expect(try graph.value(of: w).scalars == [0, 1, 2])
        let events = recorder.events
        #expect(events.count == outer.taskCount + innerPlan.taskCount)
        let update = try #require(events.filter { $0.task == outer.taskCount - 1 }.max { $0.endNanos - $0.beginNanos < $1.endNanos - $1.beginNanos })
        #expect(events.filter { $0.beginNanos >= update.beginNanos && $0.endNanos <= update.endNanos }.count >= innerPlan.taskCount + 1)
    }

    /// Two threads run their own small plans at once, observed by one recorder: the runs take
    /// turns on the process-wide lock, so the one worker index they report under holds whole runs
    /// in order, never two runs' tasks interleaved (and the recorder's buffer is never written by
    /// two threads at once, which ThreadSanitizer checks in CI).
    @Test func concurrentObservedInlineRunsTakeTurns() throws {
        let executor = Executor(workers: 2, pinning: false)
        defer { executor.shutdown() }
        let steps = try (0..<2).map { _ in try Step(executor: executor) }
        let plain = try Step(executor: executor)
        try plain.feed()
        try plain.plan.run()
        let expected = try plain.plan.value(of: plain.loss).scalars
        for step in steps { try step.feed() }
        let recorder = TraceRecorder()
        let runs = 500
        let losses = TestSupport.Locked([[Float]]())
        let plans = steps.map(\.plan)
        // The graphs are not mutated while the plans run, so reading the nodes from several threads is safe.
        nonisolated(unsafe) let lossNodes = steps.map(\.loss)
        DispatchQueue.concurrentPerform(iterations: 2) { i in
            for _ in 0..<runs { try? plans[i].run(observer: recorder) }
            losses.withLock { $0.append((try? plans[i].value(of: lossNodes[i]).scalars) ?? []) }
        }
        let tasks = plain.plan.taskCount
        let events = recorder.events
        #expect(events.count == 2 * runs * tasks)
        #expect(events.allSatisfy { $0.worker == 2 })
        #expect(events.map(\.task) == Array(repeating: Array(0..<tasks), count: 2 * runs).flatMap { $0 })
        // Both plans ran every time: each graph's parameters took `runs` updates, the same ones.
        let finals = losses.withLock { $0 }
        #expect(finals.count == 2 && finals[0] == finals[1] && finals[0] != expected)
    }
}
