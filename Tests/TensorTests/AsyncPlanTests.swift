import Dispatch
import Scheduler
import Tensor
import Testing

/// `Plan.run(feeds:) async` and the `withUnsafe...` accessors.
@Suite struct AsyncPlanTests {
    /// loss = sum(x * w) with w = [2, 2, 2]; the update w -= 0.5 * dloss/dw = 0.5 * x runs in the
    /// plan, after `gate` (if given) lets it.
    final class Fixture {
        let graph = Graph<Float>()
        let x: Node<Float>, w: Node<Float>, y: Node<Float>, loss: Node<Float>
        let plan: Plan<Float>

        init(executor: Executor?, gate: DispatchSemaphore? = nil, entered: DispatchSemaphore? = nil) throws {
            x = graph.placeholder("x", shape: [3])
            w = graph.parameter("w", Tensor(shape: [3], scalars: [2, 2, 2]))
            y = try x * w
            loss = try y.sum()
            let grad = try graph.gradients(of: loss, wrt: [w])[0]
            plan = try Plan(outputs: [y, loss], updates: [ParameterUpdate(parameter: w, gradient: grad) { value, g in
                entered?.signal()
                gate?.wait()
                for i in value.indices { value[i] -= 0.5 * g[i] }
            }], executor: executor)
        }
    }

    @Test(arguments: [0, 1, 2])
    func asyncRunComputesWhatTheBlockingRunDoes(workers: Int) async throws {
        let executor = workers > 0 ? Executor(workers: workers, pinning: false) : nil
        let f = try Fixture(executor: executor)
        try await f.plan.run(feeds: [f.x: Tensor(shape: [3], scalars: [1, 2, 3])])
        // y = x * [2, 2, 2]; loss = 2 + 4 + 6; w = 2 - 0.5 * x.
        #expect(try f.plan.value(of: f.y).scalars == [2, 4, 6])
        #expect(try f.plan.withUnsafeValue(of: f.loss) { $0[0] } == 12)
        #expect(try f.graph.value(of: f.w).scalars == [1.5, 1, 0.5])
        // Fed in place, the next run reads the new feed and the updated w.
        try f.plan.withUnsafeFeed(f.x) { $0.update(repeating: 2) }
        try await f.plan.run()
        #expect(try f.plan.value(of: f.y).scalars == [3, 2, 1])
        #expect(try f.graph.value(of: f.w).scalars == [0.5, 0, -0.5])
    }

    @Test(arguments: [0, 2])
    func aCancelledTaskRunsNothingAndThePlanStaysUsable(workers: Int) async throws {
        let executor = workers > 0 ? Executor(workers: workers, pinning: false) : nil
        let f = try Fixture(executor: executor)
        let plan = f.plan
        try plan.withUnsafeFeed(f.x) { _ = $0.update(fromContentsOf: [1, 2, 3]) }
        let cancelled = Task {
            withUnsafeCurrentTask { $0?.cancel() }
            try await plan.run()
        }
        await #expect(throws: CancellationError.self) { try await cancelled.value }
        #expect(try f.graph.value(of: f.w).scalars == [2, 2, 2], "the update ran in a cancelled run")
        try await plan.run()   // not left "already running"
        #expect(try f.graph.value(of: f.w).scalars == [1.5, 1, 0.5])
    }

    /// Cancelled while a task runs (the update waits for a gate): the run stops, the caller gets
    /// `CancellationError`, and the plan runs again afterwards.
    @Test func cancellingDuringARunStopsIt() async throws {
        let gate = DispatchSemaphore(value: 0), entered = DispatchSemaphore(value: 0)
        let f = try Fixture(executor: Executor(workers: 2, pinning: false), gate: gate, entered: entered)
        let plan = f.plan
        try plan.withUnsafeFeed(f.x) { _ = $0.update(fromContentsOf: [1, 2, 3]) }
        let running = Task { try await plan.run() }
        await withCheckedContinuation { c in DispatchQueue.global().async { entered.wait(); c.resume() } }
        running.cancel()
        gate.signal()
        await #expect(throws: CancellationError.self) { try await running.value }
        gate.signal()
        try await plan.run()
        // The update had started before the cancel, so it finished: w = [1.5, 1, 0.5].
        #expect(try f.plan.value(of: f.y).scalars == [1.5, 2, 1.5])
    }
}
