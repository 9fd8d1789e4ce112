import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

struct TaskFailure: Error, Equatable {
    let task: Int
}

extension SchedulerTests {
    @Suite struct ErrorAndCancellationTests {
        @Test(arguments: workerCounts)
        func firstErrorComesBackOnceAndSuccessorsNeverStart(workers: Int) {
            withTimeLimit(60, "errors on \(workers) workers") {
                let executor = Executor(workers: workers)
                for seed in 0..<20 {
                    let shape = Shape.random(scaled(2000, minimum: 300), edgesPerTask: 3, seed: UInt64(500 + seed))
                    var rng = TestRandom(seed: UInt64(seed))
                    let thrower = Int.random(in: 0..<shape.count, using: &rng)
                    let ledger = Ledger(shape.count)
                    let throws_ = Atomic<Int>(0)
                    let compiled = try shape.build(ledger) { i in
                        if i == thrower {
                            throws_.wrappingAdd(1, ordering: .relaxed)
                            throw TaskFailure(task: i)
                        }
                    }.compile()
                    do {
                        try executor.run(compiled)
                        throw CheckFailed("run did not throw")
                    } catch let e as TaskFailure {
                        try check(e == TaskFailure(task: thrower), "wrong error \(e)")
                    }
                    try check(throws_.load(ordering: .relaxed) == 1, "thrower ran \(throws_.load(ordering: .relaxed)) times")
                    // No descendant of the failed task started.
                    var descendants = Set<Int>()
                    var stack = [thrower]
                    var successors = [[Int]](repeating: [], count: shape.count)
                    for (a, b) in shape.edges { successors[a].append(b) }
                    while let t = stack.popLast() {
                        for s in successors[t] where descendants.insert(s).inserted { stack.append(s) }
                    }
                    for d in descendants { try check(ledger.ranCount(d) == 0, "successor \(d) of the failed task ran") }
                    for i in 0..<shape.count { try check(ledger.ranCount(i) <= 1, "task \(i) ran twice") }
                }
                // The executor is still fine.
                let shape = Shape.layered(levels: 20, width: 30, seed: 3)
                let ledger = Ledger(shape.count)
                try executor.run(try shape.build(ledger).compile())
                try shape.verify(ledger)
            }
        }

        @Test(arguments: workerCounts)
        func manyThrowersStillOneError(workers: Int) {
            withTimeLimit(30, "many throwers on \(workers) workers") {
                let executor = Executor(workers: workers)
                let graph = TaskGraph()
                for i in 0..<1000 { graph.addTask("t\(i)") { if i % 3 == 0 { throw TaskFailure(task: i) } } }
                let compiled = try graph.compile()
                for _ in 0..<20 {
                    do {
                        try executor.run(compiled)
                        throw CheckFailed("run did not throw")
                    } catch let e as TaskFailure {
                        try check(e.task % 3 == 0, "unexpected error \(e)")
                    }
                }
            }
        }

        @Test(arguments: workerCounts)
        func cancelFromInsideStopsTheChain(workers: Int) {
            withTimeLimit(30, "cancel inside on \(workers) workers") {
                let executor = Executor(workers: workers)
                let n = 1000, stopAt = 400
                let ledger = Ledger(n)
                let handleBox = Locked<RunHandle?>(nil)
                let started = DispatchSemaphore(value: 0)
                let shape = Shape.chain(n)
                let compiled = try shape.build(ledger) { i in
                    if i == 0 { started.wait() }   // wait until the handle is stored
                    if i == stopAt { handleBox.withLock { $0 }?.cancel() }
                }.compile()
                let handle = executor.start(compiled)
                handleBox.withLock { $0 = handle }
                started.signal()
                do {
                    try handle.wait()
                    throw CheckFailed("cancelled run did not throw")
                } catch SchedulerError.cancelled {}
                // The graph's bodies hold the box, which holds the handle, which holds the graph:
                // break the cycle (LeakSanitizer reports it in the ASan run of .ci/run).
                handleBox.withLock { $0 = nil }
                for i in 0...stopAt { try check(ledger.ranCount(i) == 1, "task \(i) before the cancel did not run") }
                for i in (stopAt + 1)..<n { try check(ledger.ranCount(i) == 0, "task \(i) started after the cancel") }
                try executor.run(try Shape.chain(10).build(Ledger(10)).compile())
            }
        }

        @Test(arguments: workerCounts)
        func cancelFromOutsideWhileRunning(workers: Int) {
            withTimeLimit(30, "cancel outside on \(workers) workers") {
                let executor = Executor(workers: workers)
                let gate = DispatchSemaphore(value: 0)
                let startedAfterCancel = Atomic<Int>(0)
                let cancelled = Atomic<Bool>(false)
                let graph = TaskGraph()
                let first = graph.addTask("gate") { gate.wait() }
                for _ in 0..<5000 {
                    first.precede(graph.addTask("t") {
                        if cancelled.load(ordering: .sequentiallyConsistent) {
                            startedAfterCancel.wrappingAdd(1, ordering: .relaxed)
                        }
                    })
                }
                let handle = executor.start(try graph.compile())
                handle.cancel()
                cancelled.store(true, ordering: .sequentiallyConsistent)
                gate.signal()
                #expect(throws: SchedulerError.cancelled) { try handle.wait() }
                // The gate task had already started; its successors are only released after the
                // cancel was requested, so none of them may start.
                try check(startedAfterCancel.load(ordering: .relaxed) == 0,
                          "\(startedAfterCancel.load(ordering: .relaxed)) tasks started after the cancel")
                try executor.run(try Shape.fanOut(100).build(Ledger(102)).compile())
            }
        }

        @Test func asyncRunCancelledWithItsTask() async throws {
            let executor = Executor(workers: 2)
            let gate = DispatchSemaphore(value: 0)
            let graph = TaskGraph()
            let first = graph.addTask("gate") { gate.wait() }
            first.precede(graph.addTask("after") {})
            let compiled = try graph.compile()
            let task = Task { try await executor.run(compiled) }
            try await Task.sleep(nanoseconds: 20_000_000)
            task.cancel()
            try await Task.sleep(nanoseconds: 20_000_000)
            gate.signal()
            await #expect(throws: CancellationError.self) { try await task.value }
        }

        @Test func compileRejectsCyclesNamingATaskOnTheCycle() throws {
            let graph = TaskGraph()
            let a = graph.addTask("a") {}
            let b = graph.addTask("b") {}
            let c = graph.addTask("c") {}
            let d = graph.addTask("d") {}
            let tail = graph.addTask("tail") {}
            a.precede(b); b.precede(c); c.precede(d); d.precede(b); d.precede(tail)
            do {
                _ = try graph.compile()
                Issue.record("cycle not detected")
            } catch let SchedulerError.cycle(task, index) {
                #expect(["b", "c", "d"].contains(task), "named \(task), not on the cycle")
                #expect([1, 2, 3].contains(index))
            }
            let selfLoop = TaskGraph()
            let s = selfLoop.addTask("self") {}
            s.precede(s)
            #expect(throws: SchedulerError.cycle(task: "self", index: 0)) { try selfLoop.compile() }
        }

        @Test func bigCycleIsFoundIteratively() throws {
            let graph = TaskGraph()
            let n = scaled(200_000)
            let handles = (0..<n).map { graph.addTask("t\($0)") {} }
            for i in 0..<n { handles[i].precede(handles[(i + 1) % n]) }
            #expect(throws: SchedulerError.self) { try graph.compile() }
        }

        @Test func edgesAcrossGraphsAreRejected() throws {
            let g1 = TaskGraph(), g2 = TaskGraph()
            let a = g1.addTask("a") {}
            let b = g2.addTask("b") {}
            a.precede(b)
            #expect(throws: SchedulerError.foreignTask(operation: "precede", task: "b")) { try g1.compile() }
        }

        @Test func badArgumentsAreErrorsNotCrashes() throws {
            #expect(Executor(workers: 0).workerCount == 1)
            #expect(Executor(workers: -3, pinning: false).workerCount == 1)
            let graph = TaskGraph()
            graph.addTask("only") {}
            graph.addEdge(from: 0, to: 5)
            #expect(throws: SchedulerError.self) { try graph.compile() }
            let ok = TaskGraph()
            let a = ok.addTask("a") {}
            let b = ok.addTask("b") {}
            ok.addEdge(from: a.index, to: b.index)
            let compiled = try ok.compile()
            #expect(compiled.successors(of: 0) == [1])
            #expect(compiled.predecessorCount(of: 1) == 1)
            #expect(compiled.name(of: 1) == "b")
            // An empty range and a silly grain are fine.
            let executor = Executor(workers: 2)
            executor.parallelFor(5..<5, grain: 0) { _ in Issue.record("called on an empty range") }
            let sum = Locked(0)
            executor.parallelFor(0..<10, grain: -4) { r in sum.withLock { $0 += r.count } }
            #expect(sum.withLock { $0 } == 10)
        }

        @Test func runsAfterShutdownFail() throws {
            let executor = Executor(workers: 2)
            executor.shutdown()
            executor.shutdown()
            let compiled = try Shape.chain(3).build(Ledger(3)).compile()
            #expect(throws: SchedulerError.shutDown) { try executor.run(compiled) }
        }
    }
}
