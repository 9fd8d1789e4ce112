import Foundation
import Testing
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
            for _ in 0..<3 { try executor.run(compiled, trace: recorder) }
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
}
