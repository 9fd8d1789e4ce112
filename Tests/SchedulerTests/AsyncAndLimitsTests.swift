import Foundation
@_spi(Testing) import Scheduler
import Synchronization
import Testing
import TestSupport

extension SchedulerTests {
    @Suite struct AsyncAndLimitsTests {
        /// A graph whose first task waits for `gate`, then `count - 1` tasks after it.
        static func gated(_ gate: DispatchSemaphore, count: Int = 2, ran: Locked<Int>? = nil) throws -> CompiledGraph {
            let graph = TaskGraph()
            let first = graph.addTask("gate") { gate.wait() }
            for i in 1..<count { first.precede(graph.addTask("after\(i)") { ran?.withLock { $0 += 1 } }) }
            return try graph.compile()
        }

        @Test func asyncRunRethrowsTheTaskError() async throws {
            let executor = Executor(workers: 2, pinning: false)
            let graph = TaskGraph()
            let a = graph.addTask("a") {}
            a.precede(graph.addTask("b") { throw TaskFailure(task: 1) })
            let compiled = try graph.compile()
            await #expect(throws: TaskFailure(task: 1)) { try await executor.run(compiled) }
            // and the executor goes on
            try await executor.run(try Shape.chain(5).build(Ledger(5)).compile())
        }

        @Test func aRunWhoseTaskIsAlreadyCancelledStartsNothing() async throws {
            let executor = Executor(workers: 2, pinning: false)
            let ledger = Ledger(50)
            let compiled = try Shape.chain(50).build(ledger).compile()
            let task = Task {
                withUnsafeCurrentTask { $0?.cancel() }
                try await executor.run(compiled)
            }
            await #expect(throws: CancellationError.self) { try await task.value }
            #expect((0..<50).allSatisfy { ledger.ranCount($0) == 0 })
        }

        @Test func handleWaitAsyncGivesTheResultAndCancelling() async throws {
            let executor = Executor(workers: 2, pinning: false)
            // Completed before the wait: returns at once.
            let ledger = Ledger(10)
            let done = executor.start(try Shape.chain(10).build(ledger).compile())
            while !done.isFinished { try await Task.sleep(nanoseconds: 1_000_000) }
            try await done.wait()
            try Shape.chain(10).verify(ledger)
            // Cancelled through the handle: SchedulerError.cancelled, as the blocking wait.
            let gate = DispatchSemaphore(value: 0)
            let ran = Locked(0)
            let handle = executor.start(try Self.gated(gate, count: 5, ran: ran))
            handle.cancel()
            #expect(handle.isCancelled)
            gate.signal()
            await #expect(throws: SchedulerError.cancelled) { try await handle.wait() }
            #expect(ran.withLock { $0 } == 0, "tasks after the gate started after the cancel")
            // Cancelling the waiting task cancels the run: CancellationError.
            let gate2 = DispatchSemaphore(value: 0)
            let ran2 = Locked(0)
            let handle2 = executor.start(try Self.gated(gate2, count: 5, ran: ran2))
            #expect(!handle2.isCancelled)
            let waiter = Task { try await handle2.wait() }
            waiter.cancel()
            while !handle2.isCancelled { await Task.yield() }   // the cancel handler ran
            gate2.signal()
            await #expect(throws: CancellationError.self) { try await waiter.value }
            #expect(ran2.withLock { $0 } == 0)
        }

        /// 10 runs on a table of 4 slots: 4 are in progress (the gate holds them), the other 6 are
        /// refused at once with `.tooManyRuns(limit: 4)`, blocking and async alike; when the gate
        /// opens the 4 complete, and the table serves new runs again.
        @Test func aFullRunTableRefusesRunsAtOnceAndRecovers() throws {
            withTimeLimit(30, "full run table") {
                let executor = Executor(workers: 2, pinning: false, runCapacity: 4)
                let gate = DispatchSemaphore(value: 0)
                let ran = Locked(0)
                let compiled = try Self.gated(gate, count: 3, ran: ran)
                let held = (0..<4).map { _ in executor.start(compiled) }
                for _ in 0..<5 {
                    let refused = executor.start(compiled)
                    try check(refused.isFinished, "a refused run is not finished at once")
                    do {
                        try refused.wait()
                        throw CheckFailed("a fifth run started on a table of 4")
                    } catch SchedulerError.tooManyRuns(let limit) {
                        try check(limit == 4, "limit \(limit)")
                    }
                }
                let asyncOutcome = awaitFromThread(cancel: false) { try await executor.run(compiled) }
                guard case .failure(SchedulerError.tooManyRuns(limit: 4)) = asyncOutcome else {
                    throw CheckFailed("async run on a full table: \(asyncOutcome)")
                }
                try check(ran.withLock { $0 } == 0, "refused runs ran tasks")
                for _ in 0..<4 { gate.signal() }
                for h in held { try h.wait() }
                try check(ran.withLock { $0 } == 4 * 2, "\(ran.withLock { $0 }) tasks after the gates ran, expected 8")
                // Slots came back: 4 at once again.
                let again = (0..<4).map { _ in executor.start(compiled) }
                for _ in 0..<4 { gate.signal() }
                for h in again { try h.wait() }
                try check(ran.withLock { $0 } == 16, "second batch: \(ran.withLock { $0 }) tasks")
                #expect(SchedulerError.tooManyRuns(limit: 4).description.contains("4"))
            }
        }

        @Test func shutdownWhileARunIsQueuedStillFinishesIt() throws {
            withTimeLimit(30, "shutdown with queued runs") {
                let executor = Executor(workers: 1, pinning: false)
                let gate = DispatchSemaphore(value: 0)
                let ran = Locked(0)
                let compiled = try Self.gated(gate, count: 3, ran: ran)
                let first = executor.start(compiled)   // occupies the only worker
                let second = executor.start(compiled)  // queued behind it
                let stopper = Thread { executor.shutdown() }
                stopper.start()
                Thread.sleep(forTimeInterval: 0.02)
                gate.signal(); gate.signal()
                try first.wait()
                try second.wait()
                try check(ran.withLock { $0 } == 4, "\(ran.withLock { $0 }) tasks after the gates ran, expected 4")
                do {
                    try executor.run(compiled)
                    throw CheckFailed("a run after shutdown did not fail")
                } catch SchedulerError.shutDown {}
                // parallelFor after shutdown runs on the caller.
                let covered = Locked(0)
                executor.parallelFor(0..<100, grain: 1) { r in covered.withLock { $0 += r.count } }
                try check(covered.withLock { $0 } == 100, "parallelFor after shutdown covered \(covered.withLock { $0 })")
            }
        }

        /// A handle outliving its graph traps with a message, even when a new graph took the
        /// old one's registry slot (the generation tells them apart).
        @Test func aHandleUsedAfterItsGraphIsGoneTrapsWithAMessage() async {
            let result = await #expect(processExitsWith: .failure, observing: [\.standardErrorContent]) {
                func orphan() -> TaskHandle {
                    let graph = TaskGraph()
                    return graph.addTask("orphan") {}
                }
                let handle = orphan()
                let fresh = TaskGraph()   // most likely in the freed slot
                let x = fresh.addTask("x") {}
                handle.precede(x)
            }
            let stderr = String(decoding: result?.standardErrorContent ?? [], as: UTF8.self)
            #expect(stderr.contains("TaskHandle: precede on task #0 after its TaskGraph was deinitialized"), "\(stderr)")
        }

        /// Handles of live graphs work, however many graphs come and go.
        @Test func handlesOfLiveGraphsSurviveOtherGraphsComingAndGoing() throws {
            let keep = TaskGraph()
            let a = keep.addTask("a") {}, b = keep.addTask("b") {}
            for i in 0..<10_000 {
                let other = TaskGraph()
                other.addTask("t\(i)") {}.precede(other.addTask("u") {})
                #expect(try other.compile().edgeCount == 1)
            }
            a.precede(b)
            #expect(a.name == "a" && b.name == "b")
            let compiled = try keep.compile()
            #expect(compiled.successors(of: 0) == [1])
        }
    }
}
