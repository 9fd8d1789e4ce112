import Foundation
import Testing
import TestSupport
import Profiling
import Scheduler

/// Profiles of real executor runs: whatever the timing, the structure must hold.
@Suite struct ProfileSchedulerTests {
    @Test(arguments: workerCounts)
    func profilesRealRunsOfAGraph(workers: Int) {
        withTimeLimit(60, "profile on \(workers) workers") {
            let executor = Executor(workers: workers)
            defer { executor.shutdown() }
            // source -> 8 middle tasks (one splits a loop) -> sink, three runs.
            let graph = TaskGraph()
            let spin: @Sendable (Int) -> Void = { n in
                var x = 1.0
                for i in 0..<n { x = x * 1.000001 + Double(i & 7) }
                if x == 42 { print(x) }
            }
            let source = graph.addTask("source") { spin(2_000) }
            let sink = graph.addTask("sink") { spin(2_000) }
            for m in 0..<8 {
                let middle = graph.addTask(m == 0 ? "loop" : "middle") {
                    if m == 0 { executor.parallelFor(0..<64, grain: 4) { _ in spin(1_000) } } else { spin(5_000 * (m % 3 + 1)) }
                }
                source.precede(middle)
                middle.precede(sink)
            }
            let compiled = try graph.compile()
            let recorder = TraceRecorder()
            for _ in 0..<3 { try executor.run(compiled, observer: recorder) }
            let categories: [ProfileCategory] = [.forward, .backward, .update]
            let described = (0..<compiled.taskCount).map {
                ProfileTask(name: compiled.name(of: $0), category: categories[$0 % 3], flops: 1e4)
            }
            let profile = try Profile(graph: compiled, events: recorder.events, tasks: described)

            try check(profile.runs.count == 3, "\(profile.runs.count) runs, expected 3")
            try check(profile.runs.allSatisfy { $0.tasks == compiled.taskCount }, "a run lacks tasks")
            try check(profile.events.contains { $0.isPiece }, "no pieces")
            try check(profile.workers.allSatisfy { (0..<workers).contains($0) }, "bad worker index")
            for r in profile.runs {
                try check(r.criticalPathNanos <= r.spanNanos, "run \(r.run): critical path longer than its makespan")
                try check(r.busyNanos <= r.spanNanos * UInt64(workers), "run \(r.run): busier than its workers")
            }
            try check(profile.criticalPath.steps.map { compiled.name(of: $0.task) }.first == "source", "path does not start at the source")
            try check(profile.criticalPath.steps.map { compiled.name(of: $0.task) }.last == "sink", "path does not end at the sink")
            try check(profile.eventSelfNanos.reduce(0, +) == profile.busyNanos, "self times do not add up to busy time")
            try check(profile.averageParallelism <= Double(workers) + 1e-9, "parallelism above the worker count")

            // The trace is valid JSON, each task once per run, tracks named after the workers.
            let root = try JSONSerialization.jsonObject(with: Data(profile.chromeTrace().utf8)) as? [String: Any]
            let trace = root?["traceEvents"] as? [[String: Any]] ?? []
            var perRunTask = Set<[Int]>()
            for e in trace where e["ph"] as? String == "X" {
                let args = e["args"] as? [String: Any] ?? [:]
                guard args["piece"] == nil else { continue }
                let key = [args["run"] as? Int ?? -1, args["task"] as? Int ?? -1]
                try check(perRunTask.insert(key).inserted, "task \(key[1]) twice in run \(key[0])")
            }
            try check(perRunTask.count == 3 * compiled.taskCount, "\(perRunTask.count) task events in the trace")
            let tracks = trace.filter { $0["name"] as? String == "thread_name" }.count
            try check(tracks == profile.workers.count, "\(tracks) named tracks for \(profile.workers.count) workers")
            try check(profile.htmlReport().contains("class=\"timeline\""), "no timeline in the report")
        }
    }

    @Test func executorProfilesRunsInOneCall() {
        withTimeLimit(60, "executor.profile") {
            let executor = Executor(workers: 2)
            defer { executor.shutdown() }
            let graph = TaskGraph()
            let a = graph.addTask("a") {}, b = graph.addTask("b") {}, c = graph.addTask("c") {
                executor.parallelFor(0..<100, grain: 10) { _ in }
            }
            a.precede(b, c)
            let compiled = try graph.compile()
            let profile = try executor.profile(compiled, runs: 4)
            try check(profile.runs.map(\.run) == [0, 1, 2, 3], "runs \(profile.runs.map(\.run))")
            try check(profile.runs.allSatisfy { $0.tasks == 3 && $0.pieces > 0 }, "a run lacks tasks or pieces")
            try check(profile.operations.filter { !$0.isPiece }.map(\.calls) == [4, 4, 4], "calls per operation")
            try check(profile.criticalPath.steps.first?.task == a.index, "critical path does not start at a")
        }
    }

    static func compiledGraphs() throws -> (a: CompiledGraph, b: CompiledGraph) {
        let a = TaskGraph()
        let root = a.addTask("root") {}, left = a.addTask("left") {}, right = a.addTask("right") {}
        root.precede(left, right)
        let b = TaskGraph()
        b.addTask("x") {}.precede(b.addTask("y") {})
        return (try a.compile(), try b.compile())
    }

    static func event(_ task: Int, parent: Int = -1, worker: Int = 0, _ begin: UInt64, _ end: UInt64) -> TaskEvent {
        TaskEvent(task: task, parent: parent, worker: worker, cpu: worker, beginNanos: begin, endNanos: end)
    }

    @Test func sessionCombinesRunsOfSeveralGraphs() throws {
        let (a, b) = try Self.compiledGraphs()
        var session = ProfileSession()
        let described = [ProfileTask(name: "load", category: .forward), ProfileTask(name: "mm", category: .backward),
                         ProfileTask(name: "mm", category: .backward)]
        session.add(run: [Self.event(0, 0, 10), Self.event(1, 10, 40), Self.event(2, worker: 1, 12, 20),
                          Self.event(-1, parent: 1, 15, 25)], of: a, tasks: described)
        session.add(run: [Self.event(0, 100, 105), Self.event(1, 105, 106)], of: b)
        session.add(run: [Self.event(0, 200, 210), Self.event(1, worker: 1, 210, 250), Self.event(2, 211, 212),
                          Self.event(-1, parent: -1, 300, 301)], of: a, tasks: [])
        let p = try session.profile()
        #expect(session.runCount == 3)
        #expect(p.tasks.map(\.name) == ["load", "mm", "mm", "x", "y", "parallelFor outside tasks"])
        #expect(Array(p.successors(of: 3)) == [4] && Array(p.successors(of: 0)).sorted() == [1, 2])
        #expect(p.runs.map(\.criticalPathNanos) == [40, 6, 50])
        #expect(p.criticalPathNanos == 96)
        #expect(p.runs.map(\.pieces) == [1, 0, 1])
        #expect(p.operations.first { $0.name == "mm" && !$0.isPiece }?.calls == 4)
        #expect(p.makespanNanos == 40 + 6 + 101)
    }

    @Test func sequentialRunsAreInferredFromOneRecorder() throws {
        let (a, _) = try Self.compiledGraphs()
        // Two runs back to back; the second run's pieces of task 1 run on worker 1.
        let events = [Self.event(0, 0, 10), Self.event(1, 10, 40), Self.event(-1, parent: 1, 12, 30),
                      Self.event(2, worker: 1, 11, 30),
                      Self.event(0, 50, 60), Self.event(2, 60, 61), Self.event(1, worker: 1, 60, 90),
                      Self.event(-1, parent: 1, worker: 1, 65, 70), Self.event(-1, parent: 1, worker: 0, 66, 80)]
        let p = try Profile(graph: a, events: events.reversed())
        #expect(p.runs.map(\.tasks) == [3, 3])
        #expect(p.runs.map(\.pieces) == [1, 2])
        #expect(p.runs.map(\.criticalPathNanos) == [40, 40])
        #expect(p.runs.map(\.beginNanos) == [0, 50])
        #expect(throws: ProfileError.self) { try Profile(graph: a, events: events, tasks: [ProfileTask(name: "one")]) }
    }
}
