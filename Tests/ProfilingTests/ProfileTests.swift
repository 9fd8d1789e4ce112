import Testing
import Profiling
import Scheduler

/// Synthetic traces with known durations: every figure is checked exactly.
@Suite struct ProfileTests {
    /// A(10) -> B(30), C(20) -> D(5), in microseconds; B and C on different workers.
    static func diamond(run: Int = 0, offset: UInt64 = 0) -> [ProfileEvent] {
        let us: UInt64 = 1_000
        return [
            ProfileEvent(task: 0, run: run, worker: 0, cpu: 0, beginNanos: offset + 0, endNanos: offset + 10 * us),
            ProfileEvent(task: 1, run: run, worker: 0, cpu: 0, beginNanos: offset + 10 * us, endNanos: offset + 40 * us),
            ProfileEvent(task: 2, run: run, worker: 1, cpu: 1, beginNanos: offset + 12 * us, endNanos: offset + 32 * us),
            ProfileEvent(task: 3, run: run, worker: 0, cpu: 0, beginNanos: offset + 40 * us, endNanos: offset + 45 * us),
        ]
    }
    static let diamondTasks = [ProfileTask(name: "A", category: .forward), ProfileTask(name: "B", category: .forward),
                               ProfileTask(name: "C", category: .backward), ProfileTask(name: "D", category: .update)]
    static let diamondEdges = [(0, 1), (0, 2), (1, 3), (2, 3)]

    @Test func diamondFiguresAreExact() throws {
        let p = try Profile(tasks: Self.diamondTasks, edges: Self.diamondEdges, events: Self.diamond())
        #expect(p.makespanNanos == 45_000)
        #expect(p.busyNanos == 65_000)
        #expect(p.taskNanos == 65_000)
        #expect(p.averageParallelism == 65.0 / 45.0)
        #expect(p.criticalPathNanos == 45_000)
        #expect(p.criticalPath.steps.map(\.task) == [0, 1, 3])
        #expect(p.criticalPath.workNanos == 45_000)
        #expect(p.bindingChain.steps.map(\.task) == [0, 1, 3])
        #expect(p.schedulingWaitNanos == 0)
        #expect(p.parallelismHistogram == [0, 25_000, 20_000])
        #expect(p.lowerBoundNanos == 45_000)
        #expect(p.workerStats.map(\.busyNanos) == [45_000, 20_000])
        #expect(p.workerStats.map(\.idleNanos) == [0, 25_000])
        #expect(p.workerStats.map(\.tasks) == [3, 1])
        #expect(p.workerLabels == [0: "worker 0 (core 0)", 1: "worker 1 (core 1)"])
        #expect(p.operations.map(\.name) == ["B", "C", "A", "D"])
        #expect(p.operations.map(\.share).reduce(0, +) == 1)
        #expect(p.categories.map(\.category) == [.forward, .backward, .update])
        #expect(p.categories.map(\.totalNanos) == [40_000, 20_000, 5_000])
    }

    @Test func chainWithGapsMeasuresTheWaits() throws {
        let n = 1_000
        var events = [ProfileEvent](), t: UInt64 = 0, sum: UInt64 = 0
        for i in 0..<n {
            let d = UInt64(i + 1) * 100
            events.append(ProfileEvent(task: i, worker: 0, beginNanos: t, endNanos: t + d))
            t += d + 7
            sum += d
        }
        let p = try Profile(tasks: (0..<n).map { ProfileTask(name: "step \($0 % 3)") },
                            edges: (1..<n).map { ($0 - 1, $0) }, events: events)
        #expect(p.criticalPathNanos == sum)
        #expect(p.criticalPath.steps.count == n)
        #expect(p.makespanNanos == sum + 7 * UInt64(n - 1))
        #expect(p.schedulingWaitNanos == 7 * UInt64(n - 1))
        #expect(p.bindingChain.waitNanos == 7 * UInt64(n - 1))
        #expect(p.averageParallelism == Double(sum) / Double(sum + 7 * UInt64(n - 1)))
        #expect(p.operations.map(\.calls).reduce(0, +) == n)
    }

    @Test func parallelBranchesTakeTheLongest() throws {
        // Four independent chains of lengths 3, 5, 2, 4 tasks of 1 µs each, on two workers back to back.
        let lengths = [3, 5, 2, 4]
        var tasks = [ProfileTask](), edges = [(Int, Int)](), events = [ProfileEvent]()
        var clock: [UInt64] = [0, 0]
        for (chain, length) in lengths.enumerated() {
            for step in 0..<length {
                let id = tasks.count, w = chain % 2
                tasks.append(ProfileTask(name: "chain \(chain)"))
                if step > 0 { edges.append((id - 1, id)) }
                events.append(ProfileEvent(task: id, worker: w, beginNanos: clock[w], endNanos: clock[w] + 1_000))
                clock[w] += 1_000
            }
        }
        let p = try Profile(tasks: tasks, edges: edges, events: events)
        #expect(p.criticalPathNanos == 5_000)
        #expect(p.criticalPath.steps.map { tasks[$0.task].name } == Array(repeating: "chain 1", count: 5))
        #expect(p.makespanNanos == 9_000)  // worker 1 runs chains 1 and 3: 9 tasks
        #expect(p.busyNanos == 14_000)
        #expect(p.averageParallelism == 14.0 / 9.0)
        #expect(p.parallelismHistogram == [0, 4_000, 5_000])
        #expect(p.lowerBoundNanos == 7_000)
    }

    @Test func runsAreAnalysedSeparately() throws {
        let events = Self.diamond(run: 0) + Self.diamond(run: 1, offset: 1_000_000) + Self.diamond(run: 2, offset: 2_000_000)
        let p = try Profile(tasks: Self.diamondTasks, edges: Self.diamondEdges, events: events)
        #expect(p.runs.count == 3)
        #expect(p.makespanNanos == 3 * 45_000)  // gaps between runs are not counted
        #expect(p.lastEndNanos - p.originNanos == 2_045_000)
        #expect(p.criticalPathNanos == 3 * 45_000)
        #expect(p.criticalPath.run == 1)
        #expect(p.averageParallelism == 65.0 / 45.0)
        #expect(p.operations.allSatisfy { $0.calls == 3 })
    }

    @Test func piecesNestAndAreNotCountedTwice() throws {
        // Task 0 (20 µs on worker 0) runs a loop: one piece inside it on worker 0, one on worker 1.
        let tasks = [ProfileTask(name: "matmul", category: .forward, flops: 40_000), ProfileTask(name: "relu")]
        let events = [
            ProfileEvent(task: 0, worker: 0, beginNanos: 0, endNanos: 20_000),
            ProfileEvent(task: 0, isPiece: true, worker: 0, beginNanos: 2_000, endNanos: 14_000),
            ProfileEvent(task: 0, isPiece: true, worker: 1, beginNanos: 3_000, endNanos: 15_000),
            ProfileEvent(task: 1, worker: 1, beginNanos: 21_000, endNanos: 25_000),
        ]
        let p = try Profile(tasks: tasks, edges: [(0, 1)], events: events)
        #expect(p.busyNanos == 20_000 + 12_000 + 4_000)
        #expect(p.eventSelfNanos.reduce(0, +) == p.busyNanos)
        #expect(p.eventDepths == [0, 1, 0, 0])
        let matmul = try #require(p.operations.first { $0.name == "matmul" && !$0.isPiece })
        #expect(matmul.totalNanos == 20_000 && matmul.selfNanos == 8_000 && matmul.calls == 1)
        #expect(matmul.gflopsPerSecond == 2.0)
        let pieces = try #require(p.operations.first { $0.isPiece })
        #expect(pieces.calls == 2 && pieces.totalNanos == 24_000 && pieces.displayName == "matmul [piece]")
        #expect(p.criticalPathNanos == 24_000)
        #expect(p.bindingChain.waitNanos == 1_000)
        #expect(p.workerStats.map(\.pieces) == [1, 1])
    }

    @Test func badInputIsReportedByName() {
        let tasks = [ProfileTask(name: "a"), ProfileTask(name: "b"), ProfileTask(name: "c"), ProfileTask(name: "d")]
        #expect(throws: ProfileError.cycle(task: "b (#1)")) {
            try Profile(tasks: tasks, edges: [(0, 1), (1, 2), (2, 1), (2, 3)], events: [])
        }
        #expect(throws: ProfileError.unknownTask(index: 7, taskCount: 4, context: "an edge")) {
            try Profile(tasks: tasks, edges: [(0, 7)], events: [])
        }
        #expect(throws: ProfileError.self) {
            try Profile(tasks: tasks, events: [ProfileEvent(task: 0, worker: 0, beginNanos: 0, endNanos: 10),
                                               ProfileEvent(task: 1, worker: 0, beginNanos: 5, endNanos: 15)])
        }
        #expect(throws: ProfileError.duplicateTask(task: "a (#0)", run: 0)) {
            try Profile(tasks: tasks, events: [ProfileEvent(task: 0, worker: 0, beginNanos: 0, endNanos: 10),
                                               ProfileEvent(task: 0, worker: 1, beginNanos: 0, endNanos: 10)])
        }
        #expect(throws: ProfileError.self) {
            try Profile(tasks: tasks, events: [ProfileEvent(task: 0, worker: 0, beginNanos: 10, endNanos: 5)])
        }
        let empty = try? Profile(tasks: tasks, events: [])
        #expect(empty?.makespanNanos == 0 && empty?.criticalPath.steps.isEmpty == true)
    }
}
