import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

extension SchedulerTests {
    @Suite struct GraphExecutionTests {
        @Test(arguments: workerCounts)
        func randomDAGsRunEveryTaskOnceAfterItsPredecessors(workers: Int) {
            withTimeLimit(60, "random DAGs on \(workers) workers") {
                let executor = Executor(workers: workers)
                var sizes = [1, 2, 10, 100, 1000]
                sizes += Array(repeating: 3000, count: 8)
                sizes.append(scaled(100_000, minimum: 5000))
                for (seed, n) in sizes.enumerated() {
                    let shape = Shape.random(n, edgesPerTask: 4, seed: UInt64(seed * 7919 + workers))
                    let ledger = Ledger(shape.count)
                    let compiled = try shape.build(ledger).compile()
                    #expect(compiled.taskCount == shape.count)
                    #expect(compiled.edgeCount == shape.edges.count)
                    try executor.run(compiled)
                    try shape.verify(ledger)
                    ledger.reset()   // the same compiled graph runs again with fresh counters
                    try executor.run(compiled)
                    try shape.verify(ledger)
                }
            }
        }

        @Test(arguments: workerCounts)
        func classicShapes(workers: Int) {
            withTimeLimit(60, "chain, fan-out, diamonds, layered on \(workers) workers") {
                let executor = Executor(workers: workers)
                let shapes = [
                    Shape.chain(scaled(10_000)),
                    Shape.fanOut(10_000),
                    Shape.diamonds(scaled(5_000)),
                    Shape.layered(levels: 50, width: scaled(400, minimum: 40), seed: 42),
                ]
                for shape in shapes {
                    let ledger = Ledger(shape.count)
                    try executor.run(try shape.build(ledger).compile())
                    try shape.verify(ledger)
                }
            }
        }

        @Test(arguments: workerCounts)
        func millionTaskChain(workers: Int) {
            withTimeLimit(120, "1M chain on \(workers) workers") {
                let n = scaled(1_000_000, minimum: 100_000)
                let executor = Executor(workers: workers)
                let next = Atomic<Int>(0)
                let outOfOrder = Atomic<Int>(0)
                let graph = TaskGraph()
                graph.reserve(tasks: n, edges: n - 1)
                var previous: TaskHandle? = nil
                for i in 0..<n {
                    let t = graph.addTask("step") {
                        // Relaxed is enough here: the chain's edges order the tasks.
                        if next.load(ordering: .relaxed) != i { outOfOrder.wrappingAdd(1, ordering: .relaxed) }
                        next.store(i + 1, ordering: .relaxed)
                    }
                    previous?.precede(t)
                    previous = t
                }
                let compiled = try graph.compile()
                try executor.run(compiled)
                try check(next.load(ordering: .relaxed) == n, "chain ran \(next.load(ordering: .relaxed)) of \(n) tasks")
                try check(outOfOrder.load(ordering: .relaxed) == 0, "chain ran out of order")
            }
        }

        @Test(arguments: workerCounts)
        func emptyGraphRunsAndReturns(workers: Int) {
            withTimeLimit(10, "empty graph on \(workers) workers") {
                let executor = Executor(workers: workers)
                let compiled = try TaskGraph().compile()
                #expect(compiled.taskCount == 0)
                for _ in 0..<100 { try executor.run(compiled) }
                try executor.start(compiled).wait()
            }
        }

        @Test(arguments: workerCounts)
        func backToBackTinyRuns(workers: Int) {
            withTimeLimit(120, "100k tiny runs on \(workers) workers") {
                let executor = Executor(workers: workers)
                let counter = Atomic<Int>(0)
                let graph = TaskGraph()
                let a = graph.addTask("a") { counter.wrappingAdd(1, ordering: .relaxed) }
                let b = graph.addTask("b") { counter.wrappingAdd(1, ordering: .relaxed) }
                a.precede(b)
                let compiled = try graph.compile()
                let runs = scaled(100_000)
                for _ in 0..<runs { try executor.run(compiled) }
                try check(counter.load(ordering: .relaxed) == 2 * runs, "tasks ran \(counter.load(ordering: .relaxed)) times")
            }
        }

        @Test(arguments: workerCounts)
        func severalThreadsSubmitAtOnce(workers: Int) {
            withTimeLimit(60, "concurrent submitters on \(workers) workers") {
                let executor = Executor(workers: workers)
                let shape = Shape.layered(levels: 10, width: 20, seed: 7)
                let shared = Ledger(shape.count)
                let sharedGraph = try shape.build(shared).compile()
                let total = Atomic<Int>(0)
                let failures = Locked<[String]>([])
                let submitters = 6
                let runsEach = scaled(200, minimum: 20)
                let group = DispatchGroupBox()
                for s in 0..<submitters {
                    group.spawn {
                        // Each thread runs its own graph and the shared compiled graph, interleaved.
                        let own = Shape.random(300, edgesPerTask: 3, seed: UInt64(1000 + s))
                        let ledger = Ledger(own.count)
                        do {
                            let compiled = try own.build(ledger).compile()
                            for _ in 0..<runsEach {
                                ledger.reset()
                                try executor.run(compiled)
                                try own.verify(ledger)
                                try executor.run(sharedGraph)
                                total.wrappingAdd(1, ordering: .relaxed)
                            }
                        } catch {
                            failures.withLock { $0.append("\(error)") }
                        }
                    }
                }
                group.wait()
                try check(failures.withLock { $0 }.isEmpty, "\(failures.withLock { $0 })")
                try check(total.load(ordering: .relaxed) == submitters * runsEach, "runs lost")
                let expectedRuns = submitters * runsEach
                for i in 0..<shape.count {
                    try check(shared.ranCount(i) == expectedRuns, "shared task \(i) ran \(shared.ranCount(i)) times")
                }
            }
        }

        @Test(arguments: workerCounts)
        func sameGraphConcurrentlyWithStart(workers: Int) {
            withTimeLimit(30, "overlapping runs on \(workers) workers") {
                let executor = Executor(workers: workers)
                let counter = Atomic<Int>(0)
                let graph = TaskGraph()
                var previous: [TaskHandle] = []
                for level in 0..<20 {
                    let row = (0..<10).map { _ in graph.addTask("t\(level)") { counter.wrappingAdd(1, ordering: .relaxed) } }
                    for p in previous { for r in row { p.precede(r) } }
                    previous = row
                }
                let compiled = try graph.compile()
                let handles = (0..<16).map { _ in executor.start(compiled) }
                for h in handles { try h.wait() }
                try check(counter.load(ordering: .relaxed) == 16 * 200, "ran \(counter.load(ordering: .relaxed)) tasks")
                try check(handles.allSatisfy(\.isFinished), "handles not finished")
            }
        }

        @Test func higherPriorityRunsFirstAmongReadyTasks() throws {
            let executor = Executor(workers: 1)
            let order = Locked<[Int]>([])
            let graph = TaskGraph()
            let root = graph.addTask("root") {}
            let priorities = [3, -1, 7, 0, 5, 7]
            for (i, p) in priorities.enumerated() {
                root.precede(graph.addTask("p\(p)", priority: p) { order.withLock { $0.append(i) } })
            }
            try executor.run(try graph.compile())
            // One worker: the successors released together run strictly by descending priority.
            let ran = order.withLock { $0 }.map { priorities[$0] }
            #expect(ran == ran.sorted(by: >), "ran in priority order \(ran)")
            #expect(ran.count == priorities.count)
        }

        @Test func rootsRunInPriorityOrder() throws {
            let executor = Executor(workers: 1)
            let order = Locked<[Int]>([])
            let graph = TaskGraph()
            let priorities = [1, 9, 4, 4, 2]
            for p in priorities { graph.addTask("r\(p)", priority: p) { order.withLock { $0.append(p) } } }
            try executor.run(try graph.compile())
            #expect(order.withLock { $0 } == priorities.sorted(by: >))
        }

        @Test(arguments: workerCounts)
        func asyncRun(workers: Int) async throws {
            let executor = Executor(workers: workers)
            let shape = Shape.random(2000, edgesPerTask: 3, seed: 99)
            let ledger = Ledger(shape.count)
            try await executor.run(try shape.build(ledger).compile())
            try shape.verify(ledger)
        }
    }
}

/// Runs closures on their own threads and waits for all of them.
final class DispatchGroupBox: Sendable {
    private let group = DispatchGroup()
    func spawn(_ body: @escaping @Sendable () -> Void) {
        group.enter()
        let t = Thread { body(); self.group.leave() }
        t.start()
    }
    func wait() { group.wait() }
}
