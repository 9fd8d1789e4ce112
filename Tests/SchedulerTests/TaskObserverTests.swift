import Scheduler
import Synchronization
import Testing
import TestSupport

/// A user-written observer: counts the tasks each worker starts (in per-worker slots, no locks, as
/// the protocol allows) and stamps every start and end with a ticket from one shared clock.
final class CountingObserver: TaskObserver, @unchecked Sendable {
    // @unchecked Sendable: slot `w` of `perWorker` and `depth` is touched only by worker `w` (the
    // observer contract); everything else is atomics.
    let workers: Int
    let tasks: Int
    let graph: ObjectIdentifier
    let perWorker: UnsafeMutablePointer<Int>
    let depth: UnsafeMutablePointer<Int>
    let started: UnsafeMutablePointer<Atomic<Int>>   // per task: ticket of its latest start
    let ended: UnsafeMutablePointer<Atomic<Int>>     // per task: ticket of its latest end
    let starts: UnsafeMutablePointer<Atomic<Int>>    // per task: how many starts
    let clock = Atomic<Int>(1)
    let pieces = Atomic<Int>(0)
    let runsStarted = Atomic<Int>(0)
    let runsEnded = Atomic<Int>(0)
    let runErrors = Atomic<Int>(0)
    /// Calls that broke the contract: a worker index out of range, an end without a start, a
    /// piece naming another task or graph.
    let violations = Atomic<Int>(0)
    let pieceParent: Int

    init(workers: Int, graph: CompiledGraph, pieceParent: Int = -1) {
        self.workers = workers
        tasks = graph.taskCount
        self.graph = ObjectIdentifier(graph)
        self.pieceParent = pieceParent
        perWorker = .allocate(capacity: workers)
        perWorker.initialize(repeating: 0, count: workers)
        depth = .allocate(capacity: workers)
        depth.initialize(repeating: 0, count: workers)
        started = .allocate(capacity: max(tasks, 1))
        ended = .allocate(capacity: max(tasks, 1))
        starts = .allocate(capacity: max(tasks, 1))
        for i in 0..<tasks {
            (started + i).initialize(to: Atomic(0))
            (ended + i).initialize(to: Atomic(0))
            (starts + i).initialize(to: Atomic(0))
        }
    }

    deinit {
        perWorker.deallocate(); depth.deallocate()
        started.deinitialize(count: tasks); ended.deinitialize(count: tasks); starts.deinitialize(count: tasks)
        started.deallocate(); ended.deallocate(); starts.deallocate()
    }

    func runWillStart(_ graph: CompiledGraph, workers: Int) {
        if workers != self.workers || ObjectIdentifier(graph) != self.graph { violations.wrappingAdd(1, ordering: .relaxed) }
        runsStarted.wrappingAdd(1, ordering: .relaxed)
    }

    func taskWillStart(_ task: ObservedTask, worker: Int) {
        guard (0..<workers).contains(worker) else { violations.wrappingAdd(1, ordering: .relaxed); return }
        depth[worker] += 1
        if task.isPiece {
            if task.index != pieceParent || task.graph != graph { violations.wrappingAdd(1, ordering: .relaxed) }
            pieces.wrappingAdd(1, ordering: .relaxed)
            return
        }
        guard task.graph == graph, (0..<tasks).contains(task.index) else { violations.wrappingAdd(1, ordering: .relaxed); return }
        perWorker[worker] += 1
        starts[task.index].wrappingAdd(1, ordering: .relaxed)
        started[task.index].store(clock.wrappingAdd(1, ordering: .relaxed).oldValue, ordering: .relaxed)
    }

    func taskDidEnd(_ task: ObservedTask, worker: Int) {
        guard (0..<workers).contains(worker), depth[worker] > 0 else { violations.wrappingAdd(1, ordering: .relaxed); return }
        depth[worker] -= 1
        if task.isPiece { return }
        // Ends after starts on the shared clock; the ticket is taken after the task body ran.
        ended[task.index].store(clock.wrappingAdd(1, ordering: .relaxed).oldValue, ordering: .relaxed)
    }

    func runDidEnd(_ graph: CompiledGraph, error: (any Error)?) {
        if error != nil { runErrors.wrappingAdd(1, ordering: .relaxed) }
        runsEnded.wrappingAdd(1, ordering: .relaxed)
    }

    var taskStarts: Int { (0..<workers).reduce(0) { $0 + perWorker[$1] } }
    func value(_ a: UnsafeMutablePointer<Atomic<Int>>, _ i: Int) -> Int { a[i].load(ordering: .relaxed) }
}

struct ObserverFailure: Error {}

extension SchedulerTests {
    @Suite struct TaskObserverTests {
        /// Per-worker counts sum to the task count of each run; every task starts once per run, its
        /// start precedes its end, and a predecessor's end precedes its successor's start.
        @Test(arguments: workerCounts)
        func countingObserverSeesEveryTaskInOrder(workers: Int) {
            withTimeLimit(30, "observer on \(workers) workers") {
                let executor = Executor(workers: workers)
                let shape = Shape.random(scaled(2000, minimum: 200), edgesPerTask: 3, seed: 5)
                let ledger = Ledger(shape.count)
                let compiled = try shape.build(ledger).compile()
                let observer = CountingObserver(workers: workers, graph: compiled)
                for run in 1...2 {
                    try executor.run(compiled, observer: observer)
                    try check(observer.taskStarts == run * compiled.taskCount,
                              "run \(run): workers counted \(observer.taskStarts) starts for \(compiled.taskCount) tasks")
                    try check(observer.runsStarted.load(ordering: .relaxed) == run
                              && observer.runsEnded.load(ordering: .relaxed) == run, "run start/end not told once per run")
                    for t in 0..<compiled.taskCount {
                        try check(observer.value(observer.starts, t) == run, "task \(t) started \(observer.value(observer.starts, t)) times in \(run) runs")
                        try check(observer.value(observer.started, t) < observer.value(observer.ended, t), "task \(t) ended before it started")
                    }
                    for (a, b) in shape.edges {
                        try check(observer.value(observer.ended, a) < observer.value(observer.started, b), "task \(b) started before \(a) ended")
                    }
                }
                try check(observer.violations.load(ordering: .relaxed) == 0, "\(observer.violations.load(ordering: .relaxed)) calls broke the contract")
                try check((0..<workers).allSatisfy { observer.depth[$0] == 0 }, "a start without its end")
                try check(observer.runErrors.load(ordering: .relaxed) == 0, "a run reported an error")
                // A run without the observer tells it nothing.
                try executor.run(compiled)
                try check(observer.taskStarts == 2 * compiled.taskCount, "an unobserved run was counted")
            }
        }

        /// Executor-wide observers hear every run until removed, beside a run's own observer; a
        /// task that throws still ends, and the run's end carries the error.
        @Test func executorObserversAndFailingRuns() throws {
            let executor = Executor(workers: 2)
            let graph = TaskGraph()
            let a = graph.addTask("a") {}
            let b = graph.addTask("b") {}
            a.precede(b)
            let compiled = try graph.compile()
            let everyRun = CountingObserver(workers: 2, graph: compiled)
            let thisRun = CountingObserver(workers: 2, graph: compiled)
            executor.addObserver(everyRun)
            #expect(executor.observers.count == 1)
            try executor.run(compiled)
            try executor.run(compiled, observer: thisRun)
            #expect(everyRun.taskStarts == 4)   // 2 tasks x 2 runs
            #expect(thisRun.taskStarts == 2)
            #expect(executor.removeObserver(everyRun))
            #expect(!executor.removeObserver(everyRun))
            try executor.run(compiled)
            #expect(everyRun.taskStarts == 4)

            let failing = TaskGraph()
            failing.addTask("fails") { throw ObserverFailure() }
            let failingCompiled = try failing.compile()
            let observer = CountingObserver(workers: 2, graph: failingCompiled)
            #expect(throws: ObserverFailure.self) { try executor.run(failingCompiled, observer: observer) }
            #expect(observer.taskStarts == 1)
            #expect(observer.value(observer.started, 0) < observer.value(observer.ended, 0))
            #expect(observer.runErrors.load(ordering: .relaxed) == 1)
            #expect(observer.runsEnded.load(ordering: .relaxed) == 1)
            #expect(observer.violations.load(ordering: .relaxed) == 0)
        }

        /// The pieces of a `parallelFor` an observed task calls are reported as pieces of that
        /// task, on whichever worker runs them.
        @Test(arguments: [1, 2, 4])
        func piecesReportTheirTask(workers: Int) throws {
            let executor = Executor(workers: workers)
            let graph = TaskGraph()
            let covered = Atomic<Int>(0)
            let loop = graph.addTask("loop") {
                executor.parallelFor(0..<1000, grain: 10) { r in covered.wrappingAdd(r.count, ordering: .relaxed) }
            }
            let compiled = try graph.compile()
            let observer = CountingObserver(workers: workers, graph: compiled, pieceParent: loop.index)
            try executor.run(compiled, observer: observer)
            #expect(covered.load(ordering: .relaxed) == 1000)
            #expect(observer.taskStarts == 1)
            #expect(observer.pieces.load(ordering: .relaxed) >= 1)
            #expect(observer.violations.load(ordering: .relaxed) == 0)
            #expect((0..<workers).allSatisfy { observer.depth[$0] == 0 })
        }
    }
}
