import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

extension SchedulerTests {
    @Suite struct NestedWorkTests {
        @Test(arguments: workerCounts)
        func taskRunsAndWaitsOnASubGraph(workers: Int) {
            withTimeLimit(30, "sub-graph on \(workers) workers") {
                let executor = Executor(workers: workers)
                let inner = Atomic<Int>(0)
                let failures = Atomic<Int>(0)
                let graph = TaskGraph()
                let before = graph.addTask("before") {}
                let parents = (0..<4).map { p in
                    graph.addTask("parent\(p)") {
                        // Build, compile and run a sub-graph from inside a task, blocking on it:
                        // the worker helps instead, so this completes even with one worker.
                        let sub = Shape.layered(levels: 5, width: 10, seed: UInt64(p))
                        let ledger = Ledger(sub.count)
                        try executor.run(try sub.build(ledger).compile())
                        do { try sub.verify(ledger) } catch { failures.wrappingAdd(1, ordering: .relaxed) }
                        inner.wrappingAdd(1, ordering: .relaxed)
                    }
                }
                for p in parents { before.precede(p) }
                try executor.run(try graph.compile())
                try check(inner.load(ordering: .relaxed) == 4, "sub-graphs done: \(inner.load(ordering: .relaxed))")
                try check(failures.load(ordering: .relaxed) == 0, "a sub-graph ran out of order")
            }
        }

        @Test func executorCreatedInsideATaskSeesAllUsableCPUs() throws {
            let outer = Executor(workers: 2)
            let expected = Topology.current().usableCPUs
            let seen = Locked<[Int]>([])
            let innerWorkers = Locked(0)
            let graph = TaskGraph()
            graph.addTask("make an executor") {
                seen.withLock { $0 = Topology.current().usableCPUs }
                let inner = Executor()
                innerWorkers.withLock { $0 = inner.workerCount }
                try inner.run(try TaskGraph().compile())
            }
            try outer.run(try graph.compile())
            #expect(seen.withLock { $0 } == expected)
            #expect(innerWorkers.withLock { $0 } == Topology.current().usableCores)
        }

        @Test(arguments: workerCounts)
        func parallelForCoversTheRangeOnceFromAnyThread(workers: Int) {
            withTimeLimit(30, "parallelFor on \(workers) workers") {
                let executor = Executor(workers: workers)
                for (n, grain) in [(0, 1), (1, 1), (7, 3), (1000, 1), (100_000, 64), (12345, 1000), (50, 100)] {
                    let hits = Hits(n)
                    let minPiece = Atomic<Int>(Int.max)
                    let shortPieces = Atomic<Int>(0)
                    executor.parallelFor(0..<n, grain: grain) { r in
                        if r.count < grain && r.upperBound != n { shortPieces.wrappingAdd(1, ordering: .relaxed) }
                        minPiece.min(r.count, ordering: .relaxed)
                        for i in r { hits.hit(i) }
                    }
                    try hits.expectEachOnce("n=\(n) grain=\(grain)")
                    try check(shortPieces.load(ordering: .relaxed) == 0, "a piece shorter than the grain that is not the last")
                }
                // An offset range.
                let hits = Hits(1000)
                executor.parallelFor(500..<1500, grain: 10) { r in for i in r { hits.hit(i - 500) } }
                try hits.expectEachOnce("offset range")
            }
        }

        @Test(arguments: workerCounts)
        func parallelForInsideTasksAndNested(workers: Int) {
            withTimeLimit(30, "nested parallelFor on \(workers) workers") {
                let executor = Executor(workers: workers)
                let n = 20_000
                let hits = (0..<8).map { _ in Hits(n) }
                let nestedConcurrency = Atomic<Int>(0)
                let graph = TaskGraph()
                let root = graph.addTask("root") {}
                for t in 0..<8 {
                    root.precede(graph.addTask("loop\(t)") {
                        executor.parallelFor(0..<n / 100, grain: 1) { outer in
                            // Inside a piece: nested loops run inline, and say so.
                            nestedConcurrency.max(executor.concurrency, ordering: .relaxed)
                            for o in outer {
                                executor.parallelFor(o * 100..<(o + 1) * 100, grain: 10) { inner in
                                    for i in inner { hits[t].hit(i) }
                                }
                            }
                        }
                    })
                }
                try executor.run(try graph.compile())
                for t in 0..<8 { try hits[t].expectEachOnce("task \(t)") }
                try check(nestedConcurrency.load(ordering: .relaxed) == 1, "concurrency inside a piece should be 1")
                try check(executor.concurrency == workers, "concurrency outside: \(executor.concurrency)")
            }
        }

        /// A `parallelFor` issued from inside a task must spread its pieces over idle workers, not
        /// stay on the calling worker: pieces of real work (2 ms of spinning each, long enough for
        /// a parked worker to wake even on a loaded machine) are recorded by worker, and more than
        /// one worker must have run some. A chain of such tasks, so the other workers are idle
        /// (parked or spinning) each time a loop starts, the way a plan's large operations run.
        @Test(arguments: [2, 3, 4])
        func parallelForInsideATaskSpreadsOverIdleWorkers(workers: Int) {
            withTimeLimit(60, "spreading parallelFor pieces on \(workers) workers") {
                let executor = Executor(workers: workers)
                let graph = TaskGraph()
                let loops = 6, piecesPerLoop = 4 * workers
                var previous: TaskHandle? = nil
                for t in 0..<loops {
                    let task = graph.addTask("loop\(t)") {
                        executor.parallelFor(0..<piecesPerLoop, grain: 1) { r in
                            for _ in r { spin(nanoseconds: 2_000_000) }
                        }
                    }
                    previous?.precede(task)
                    previous = task
                }
                let compiled = try graph.compile()
                // Up to three traced runs: one in which another worker joined in is enough (a
                // run on a machine busy with other processes may find every CPU taken).
                var perWorker: [Int: Int] = [:]
                for _ in 0..<3 {
                    let recorder = TraceRecorder()
                    try executor.run(compiled, observer: recorder)
                    let pieces = recorder.events.filter { $0.task == -1 }
                    try check(pieces.count == loops * piecesPerLoop, "\(pieces.count) pieces recorded")
                    perWorker = Dictionary(grouping: pieces, by: \.worker).mapValues(\.count)
                    if perWorker.count > 1 { break }
                }
                try check(perWorker.count > 1, "every piece ran on one worker: \(perWorker)")
            }
        }

        @Test(arguments: workerCounts)
        func parallelForFromSeveralOutsideThreads(workers: Int) {
            withTimeLimit(30, "parallelFor from threads on \(workers) workers") {
                let executor = Executor(workers: workers)
                let group = DispatchGroupBox()
                let bad = Atomic<Int>(0)
                for _ in 0..<4 {
                    group.spawn {
                        for round in 0..<scaled(200, minimum: 20) {
                            let n = 1000 + round
                            let hits = Hits(n)
                            executor.parallelFor(0..<n, grain: 16) { r in for i in r { hits.hit(i) } }
                            if (try? hits.expectEachOnce("")) == nil { bad.wrappingAdd(1, ordering: .relaxed) }
                        }
                    }
                }
                group.wait()
                try check(bad.load(ordering: .relaxed) == 0, "\(bad.load(ordering: .relaxed)) loops missed or repeated indices")
            }
        }

        @Test(arguments: workerCounts)
        func traceRecordsEveryTaskAndPieces(workers: Int) {
            withTimeLimit(30, "trace on \(workers) workers") {
                let executor = Executor(workers: workers)
                let shape = Shape.random(500, edgesPerTask: 3, seed: 11)
                let ledger = Ledger(shape.count)
                let graph = shape.build(ledger)
                let loopTask = graph.addTask("loop") {
                    executor.parallelFor(0..<1000, grain: 10) { _ in }
                }
                let compiled = try graph.compile()
                let recorder = TraceRecorder()
                try executor.run(compiled, observer: recorder)
                let events = recorder.events
                let taskEvents = events.filter { $0.task >= 0 }
                try check(taskEvents.count == compiled.taskCount, "\(taskEvents.count) task events for \(compiled.taskCount) tasks")
                try check(Set(taskEvents.map(\.task)).count == compiled.taskCount, "a task recorded twice")
                let pieces = events.filter { $0.task == -1 }
                try check(!pieces.isEmpty, "no parallelFor pieces recorded")
                try check(pieces.allSatisfy { $0.parent == loopTask.index }, "pieces name the wrong parent")
                try check(events.allSatisfy { $0.beginNanos <= $0.endNanos && (0..<workers).contains($0.worker) },
                          "bad timestamps or worker indexes")
                // Predecessors end before successors begin, on the shared monotonic clock.
                var end = [UInt64](repeating: 0, count: compiled.taskCount)
                var begin = [UInt64](repeating: 0, count: compiled.taskCount)
                for e in taskEvents { end[e.task] = e.endNanos; begin[e.task] = e.beginNanos }
                for (a, b) in shape.edges { try check(end[a] <= begin[b], "trace: \(b) began before \(a) ended") }
                // Untraced runs record nothing more.
                try executor.run(compiled)
                try check(recorder.events.count == events.count, "an untraced run was recorded")
            }
        }
    }
}

/// Per-index hit counters for `parallelFor` coverage checks.
final class Hits: @unchecked Sendable {
    // @unchecked Sendable: only atomics behind the pointer.
    let n: Int
    let counts: UnsafeMutablePointer<Atomic<Int>>
    init(_ n: Int) {
        self.n = n
        counts = .allocate(capacity: max(n, 1))
        for i in 0..<n { (counts + i).initialize(to: Atomic(0)) }
    }
    deinit { counts.deinitialize(count: n); counts.deallocate() }
    func hit(_ i: Int) { counts[i].wrappingAdd(1, ordering: .relaxed) }
    func expectEachOnce(_ what: String) throws {
        for i in 0..<n {
            let c = counts[i].load(ordering: .relaxed)
            if c != 1 { throw CheckFailed("\(what): index \(i) visited \(c) times") }
        }
    }
}
