import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

/// One thing a thread does to an executor in `everyInterleavingEnds`.
enum ExecutorCall: CaseIterable, CustomStringConvertible {
    case run, startWait, startCancelWait, asyncRun, asyncRunCancelled, asyncHandleWait, shutdown, parallelFor

    var description: String {
        switch self {
        case .run: "run"
        case .startWait: "start+wait"
        case .startCancelWait: "start+cancel+wait"
        case .asyncRun: "await run"
        case .asyncRunCancelled: "await run, task cancelled"
        case .asyncHandleWait: "start+await wait"
        case .shutdown: "shutdown"
        case .parallelFor: "parallelFor"
        }
    }
}

/// Counts of one round of `everyInterleavingEnds`.
final class RoundCounts: Sendable {
    let ran = Atomic<Int>(0)        // task bodies run in this round, over all runs
    let succeeded = Atomic<Int>(0)  // runs that completed
    let attempted = Atomic<Int>(0)  // runs started
}

/// One round of `everyInterleavingEnds`: a fresh executor and graph that four threads share.
final class InterleavingRound: Sendable {
    static let taskCount = 6
    let executor: Executor
    let compiled: CompiledGraph
    let counts: RoundCounts

    /// a -> (b, c) -> d -> (e, f): joins and fan-outs, so runs push, steal and count units.
    init(workers: Int) throws {
        executor = Executor(workers: workers, pinning: false)
        let graph = TaskGraph()
        let counts = RoundCounts()
        self.counts = counts
        let t = (0..<InterleavingRound.taskCount).map { i in
            graph.addTask("t\(i)") { counts.ran.wrappingAdd(1, ordering: .relaxed) }
        }
        t[0].precede(t[1], t[2])
        t[3].succeed(t[1], t[2])
        t[3].precede(t[4], t[5])
        compiled = try graph.compile()
    }
}

/// Waits for `body` (async) from a plain thread: the round's deadline catches a hang.
func awaitFromThread(cancel: Bool, _ body: @escaping @Sendable () async throws -> Void) -> Result<Void, any Error> {
    let outcome = Locked<Result<Void, any Error>?>(nil)
    let done = DispatchSemaphore(value: 0)
    let task = Task {
        do { try await body(); outcome.withLock { $0 = .success(()) } } catch { outcome.withLock { $0 = .failure(error) } }
        done.signal()
    }
    if cancel { task.cancel() }
    done.wait()
    return outcome.withLock { $0! }
}

extension SchedulerTests {
    @Suite struct InterleavingTests {
        /// Four threads call `run`, `start`/`wait`, `cancel`, the async forms, `parallelFor` and
        /// `shutdown` on one executor in random orders with random delays, 10^4 times (10^3 in
        /// debug builds, which ThreadSanitizer uses; `SCHEDULER_INTERLEAVINGS` sets the count). Every call must end within the round's
        /// deadline (a hang fails the test instead of hanging it), with an outcome its call
        /// allows: a run completes (all 6 tasks ran) or fails with `.shutDown`, `.cancelled` or
        /// `CancellationError` where it was cancelled; a run started after the same thread's own
        /// `shutdown()` fails with `.shutDown`; `parallelFor` covers its range exactly once.
        @Test func everyInterleavingEnds() throws {
            // SCHEDULER_INTERLEAVINGS overrides the count (e.g. the full 10^4 under ThreadSanitizer).
            let rounds = ProcessInfo.processInfo.environment["SCHEDULER_INTERLEAVINGS"].flatMap { Int($0) }
                ?? scaled(10_000, minimum: 1_000)
            let threads = 4, callsPerThread = 2
            let deadline = sizeDivisor == 1 ? 10.0 : 60.0
            let current = Locked<InterleavingRound?>(nil)
            let failures = Locked<[String]>([])
            let go = (0..<threads).map { _ in DispatchSemaphore(value: 0) }
            let done = DispatchSemaphore(value: 0)
            let log = Locked<[[ExecutorCall]]>(Array(repeating: [], count: threads))

            for k in 0..<threads {
                let t = Thread {
                    var rng = TestRandom(seed: 0xC0FFEE &+ UInt64(k))
                    for round in 0..<rounds {
                        go[k].wait()
                        let r = current.withLock { $0! }
                        let calls = (0..<callsPerThread).map { _ in ExecutorCall.allCases.randomElement(using: &rng)! }
                        log.withLock { $0[k] = calls }
                        var shutDownHere = false
                        for call in calls {
                            spin(nanoseconds: UInt64.random(in: 0..<3_000, using: &rng))
                            if let problem = perform(call, on: r, afterOwnShutdown: shutDownHere) {
                                failures.withLock { $0.append("round \(round), thread \(k), \(call): \(problem)") }
                            }
                            if call == .shutdown { shutDownHere = true }
                        }
                        done.signal()
                    }
                }
                t.stackSize = 1 << 20
                t.start()
            }

            for round in 0..<rounds {
                let r = try InterleavingRound(workers: 1 + round % 3)
                current.withLock { $0 = r }
                for g in go { g.signal() }
                for _ in 0..<threads {
                    if done.wait(timeout: .now() + deadline) == .timedOut {
                        Issue.record("round \(round) did not end within \(deadline) s (a hang): calls \(log.withLock { $0 })")
                        return   // the stuck threads stay stuck; the test has failed
                    }
                }
                // Every run has ended, so the counts are final.
                let ran = r.counts.ran.load(ordering: .relaxed)
                let ok = r.counts.succeeded.load(ordering: .relaxed), tried = r.counts.attempted.load(ordering: .relaxed)
                let k = InterleavingRound.taskCount
                if ran < ok * k || ran > tried * k {
                    failures.withLock { $0.append("round \(round): \(ran) task bodies ran for \(ok) completed of \(tried) runs of \(k) tasks") }
                }
                current.withLock { $0 = nil }   // the executor shuts down in deinit
                if !failures.withLock({ $0.isEmpty }) { break }
            }
            let found = failures.withLock { $0 }
            #expect(found.isEmpty, "\(found.prefix(5))")
        }
    }
}

/// Performs `call`; nil if its outcome is allowed, else what was wrong.
private func perform(_ call: ExecutorCall, on r: InterleavingRound, afterOwnShutdown: Bool) -> String? {
    let executor = r.executor, compiled = r.compiled
    func judge(_ result: Result<Void, any Error>, cancelled: Bool) -> String? {
        r.counts.attempted.wrappingAdd(1, ordering: .relaxed)
        switch result {
        case .success:
            r.counts.succeeded.wrappingAdd(1, ordering: .relaxed)
            return afterOwnShutdown ? "completed although this thread had shut the executor down" : nil
        case .failure(SchedulerError.shutDown):
            return nil
        case .failure(SchedulerError.cancelled) where cancelled && !afterOwnShutdown:
            return nil
        case .failure(is CancellationError) where cancelled:
            return nil   // the task was cancelled before the refusal could be seen
        case let .failure(error):
            return "unexpected outcome \(error)"
        }
    }
    switch call {
    case .run:
        return judge(Result { try executor.run(compiled) }, cancelled: false)
    case .startWait:
        let handle = executor.start(compiled)
        return judge(Result { try handle.wait() }, cancelled: false)
    case .startCancelWait:
        let handle = executor.start(compiled)
        handle.cancel()
        return judge(Result { try handle.wait() }, cancelled: true)
    case .asyncRun:
        return judge(awaitFromThread(cancel: false) { try await executor.run(compiled) }, cancelled: false)
    case .asyncRunCancelled:
        return judge(awaitFromThread(cancel: true) { try await executor.run(compiled) }, cancelled: true)
    case .asyncHandleWait:
        let handle = executor.start(compiled)
        return judge(awaitFromThread(cancel: false) { try await handle.wait() }, cancelled: false)
    case .shutdown:
        executor.shutdown()
        return nil
    case .parallelFor:
        let covered = Locked(0)
        executor.parallelFor(0..<64, grain: 4) { range in covered.withLock { $0 += range.count } }
        let n = covered.withLock { $0 }
        return n == 64 ? nil : "parallelFor covered \(n) of 64 indices"
    }
}
