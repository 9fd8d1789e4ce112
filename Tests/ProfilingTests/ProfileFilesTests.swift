import Foundation
import Testing
import Profiling
import Scheduler

/// A deterministic stand-in for a training step: a forward chain with a side branch, the mirrored
/// backward pass and one update per layer, list-scheduled on `workers` workers with a fixed
/// latency between dependent tasks; every third forward task runs a nested loop of two pieces.
struct ProfileSyntheticStep {
    var tasks = [ProfileTask]()
    var edges = [(Int, Int)]()

    init(layers: Int) {
        var previous = -1
        var forward = [Int]()
        for l in 0..<layers {
            let mm = add(ProfileTask(name: "matmul", category: .forward, shape: "64x\(128 + l)", flops: 2e6, bytes: 1e5,
                                     arguments: ["node": "\(tasks.count)", "layer": "\(l)"]), after: previous < 0 ? [] : [previous])
            let side = add(ProfileTask(name: "bias \"add\"", category: .forward, shape: "64"), after: previous < 0 ? [] : [previous])
            previous = add(ProfileTask(name: "relu", category: .forward, shape: "64x\(128 + l)"), after: [mm, side])
            forward.append(previous)
        }
        previous = add(ProfileTask(name: "softmax_cross_entropy", category: .forward), after: [previous])
        for l in (0..<layers).reversed() {
            let grad = add(ProfileTask(name: "matmul_grad", category: .backward, flops: 4e6), after: [previous, forward[l]])
            _ = add(ProfileTask(name: "sgd <update>", category: .update), after: [grad])
            previous = grad
        }
    }

    private mutating func add(_ t: ProfileTask, after: [Int]) -> Int {
        tasks.append(t)
        for p in after { edges.append((p, tasks.count - 1)) }
        return tasks.count - 1
    }

    func events(runs: Int, workers: Int) -> [ProfileEvent] {
        var preds = [[Int]](repeating: [], count: tasks.count)
        for (a, b) in edges { preds[b].append(a) }
        var out = [ProfileEvent](), free = [UInt64](repeating: 0, count: workers)
        var clock: UInt64 = 0
        for run in 0..<runs {
            var end = [UInt64](repeating: 0, count: tasks.count)
            for t in tasks.indices {  // tasks were added in topological order
                let ready = preds[t].map { end[$0] + 500 }.max() ?? clock
                let w = free.indices.min { (free[$0], $0) < (free[$1], $1) }!
                let begin = max(ready, free[w]), duration = UInt64(2_000 + (t * 7_919 + run * 13) % 9_000)
                end[t] = begin + duration
                free[w] = end[t]
                out.append(ProfileEvent(task: t, run: run, worker: w, cpu: w + 2, beginNanos: begin, endNanos: end[t]))
                if tasks[t].name == "matmul" {
                    out.append(ProfileEvent(task: t, isPiece: true, run: run, worker: w, cpu: w + 2, beginNanos: begin + 100, endNanos: begin + duration / 2))
                    out.append(ProfileEvent(task: t, isPiece: true, run: run, worker: w, cpu: w + 2, beginNanos: begin + duration / 2, endNanos: end[t] - 100))
                }
            }
            clock = (free.max() ?? clock) + 20_000  // work between steps, outside the graph
            for w in free.indices { free[w] = clock }
        }
        return out
    }

    func profile(runs: Int = 1, workers: Int = 3) throws -> Profile {
        try Profile(tasks: tasks, edges: edges, events: events(runs: runs, workers: workers))
    }
}

/// Reads integer nanoseconds back from the trace's microsecond numbers (three decimals).
private func nanos(_ value: Any?) -> Int64 { Int64((((value as? NSNumber)?.doubleValue ?? -1) * 1000).rounded()) }

private func parseTrace(_ text: String) throws -> (meta: [[String: Any]], complete: [[String: Any]], root: [String: Any]) {
    let root = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    let events = try #require(root["traceEvents"] as? [[String: Any]])
    return (events.filter { $0["ph"] as? String == "M" }, events.filter { $0["ph"] as? String == "X" }, root)
}

private func executable(_ name: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
}

@Suite struct ProfileFilesTests {
    @Test func traceIsChromeJSONWithEachTaskOnceAndProperlyNestedTracks() throws {
        let step = ProfileSyntheticStep(layers: 6)
        let profile = try step.profile()
        let (meta, complete, _) = try parseTrace(profile.chromeTrace())
        #expect(complete.count == profile.events.count)

        // Every task exactly once, named after its operation, with its category.
        var seen = [Int](repeating: 0, count: step.tasks.count)
        for e in complete where e["args"].flatMap({ ($0 as? [String: Any])?["piece"] }) == nil {
            let task = try #require((e["args"] as? [String: Any])?["task"] as? Int)
            seen[task] += 1
            #expect(e["name"] as? String == step.tasks[task].name)
            #expect(e["cat"] as? String == step.tasks[task].category.rawValue)
        }
        #expect(seen.allSatisfy { $0 == 1 })

        // One named track per worker.
        let names = Dictionary(uniqueKeysWithValues: meta.filter { $0["name"] as? String == "thread_name" }.map {
            ($0["tid"] as! Int, ($0["args"] as! [String: Any])["name"] as! String)
        })
        #expect(names == [0: "worker 0 (core 2)", 1: "worker 1 (core 3)", 2: "worker 2 (core 4)"])

        // Per track: timestamps never go back, and events are disjoint or nested, never crossing.
        var open = [Int: [Int64]](), last = [Int: Int64]()
        for e in complete {
            let tid = try #require(e["tid"] as? Int)
            #expect(names[tid] != nil)
            let begin = nanos(e["ts"]), end = begin + nanos(e["dur"])
            #expect(begin >= last[tid, default: 0])
            last[tid] = begin
            var stack = open[tid, default: []]
            while let top = stack.last, top <= begin { stack.removeLast() }
            if let top = stack.last { #expect(end <= top, "events cross on track \(tid)") }
            stack.append(end)
            open[tid] = stack
        }
    }

    @Test func traceSamplesWholeRunsBeyondItsBound() throws {
        let step = ProfileSyntheticStep(layers: 4)
        let profile = try step.profile(runs: 50)
        var limits = ProfileOutputLimits()
        limits.traceEvents = 300
        let (_, complete, root) = try parseTrace(profile.chromeTrace(limits: limits))
        #expect(complete.count <= 300 && complete.count > 0)
        let note = try #require((root["otherData"] as? [String: Any])?["note"] as? String)
        #expect(note.contains("sampled"))
        var perRun = [Int: Int]()
        for e in complete where (e["args"] as? [String: Any])?["piece"] == nil {
            perRun[(e["args"] as! [String: Any])["run"] as! Int, default: 0] += 1
        }
        #expect(perRun.values.allSatisfy { $0 == step.tasks.count })

        limits.traceEvents = 10
        let (_, truncated, root2) = try parseTrace(profile.chromeTrace(limits: limits))
        #expect(truncated.count == 10)
        #expect(((root2["otherData"] as? [String: Any])?["note"] as? String)?.contains("truncated") == true)
    }

    @Test func summariesAgreeWithTheProfile() throws {
        let profile = try ProfileSyntheticStep(layers: 5).profile(runs: 4)
        let json = try #require(try JSONSerialization.jsonObject(with: Data(profile.summaryJSON().utf8)) as? [String: Any])
        #expect(json["makespan_ns"] as? Int == Int(profile.makespanNanos))
        #expect(json["critical_path_ns"] as? Int == Int(profile.criticalPathNanos))
        #expect(json["runs"] as? Int == 4)
        #expect((json["operations"] as? [Any])?.count == profile.operations.count)
        let path = try #require(json["critical_path"] as? [String: Any])
        #expect((path["steps"] as? [Any])?.count == profile.criticalPath.steps.count)
        let runs = try #require(json["run_stats"] as? [[String: Any]])
        #expect(runs.map { $0["critical_path_ns"] as? Int } == profile.runs.map { Int($0.criticalPathNanos) })

        let text = profile.summaryText()
        for needle in ["makespan", "average parallelism", "critical path", "matmul_grad", "sgd <update>", "worker 2 (core 4)",
                       "backward", "scheduling overhead"] {
            #expect(text.contains(needle), "summary.txt lacks \(needle)")
        }
    }

    @Test(.enabled(if: executable("dot") != nil, "graphviz's dot is not installed (apt-get install graphviz)"))
    func graphRendersWithDot() throws {
        let profile = try ProfileSyntheticStep(layers: 4).profile(runs: 2)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("profile-dot-\(getpid())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func render(_ p: Profile) throws -> String {
            let dotFile = directory.appendingPathComponent("graph.dot"), svgFile = directory.appendingPathComponent("graph.svg")
            try Data(p.graphviz().utf8).write(to: dotFile)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable("dot")!)
            process.arguments = ["-Tsvg", dotFile.path, "-o", svgFile.path]
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0)
            return try String(contentsOf: svgFile, encoding: .utf8)
        }
        let svg = try render(profile)
        #expect(svg.contains("<svg") && svg.contains("matmul_grad") && svg.contains("#d62728"))
        #expect(try render(Self.oddlyNamed()).contains("{next}"))
    }

    @Test func graphIsBoundedAndKeepsTheCriticalPath() throws {
        let profile = try ProfileSyntheticStep(layers: 30).profile()
        var limits = ProfileOutputLimits()
        limits.graphNodes = 120  // of 151 tasks; the critical path has about 90
        #expect(profile.tasks.count > 120 && profile.criticalPath.steps.count < 120)
        let dot = profile.graphviz(limits: limits)
        let nodes = dot.split(separator: "\n").filter { $0.hasPrefix("  t") && !$0.contains("->") }
        #expect(nodes.count == 120)
        for s in profile.criticalPath.steps { #expect(dot.contains("  t\(s.task) [")) }
        #expect(dot.contains("showing 120 of"))
    }

    @Test func reportIsSelfContainedAndBounded() throws {
        let profile = try ProfileSyntheticStep(layers: 5).profile(runs: 3)
        let html = profile.htmlReport(title: "Synthetic <step>")
        #expect(html.hasPrefix("<!DOCTYPE html>"))
        #expect(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\""))
        #expect(html.contains("class=\"parallelism\""))
        #expect(html.contains("Synthetic &lt;step&gt;") && html.contains("sgd &lt;update&gt;"))
        for forbidden in ["<script", "src=", "href=", "<link", "url(", "@import", "<iframe"] {
            #expect(!html.contains(forbidden), "report.html must not load anything: found \(forbidden)")
        }
        #expect(html.components(separatedBy: "<svg").count == html.components(separatedBy: "</svg>").count)
        #expect(html.contains("class=\"cp\""))

        // A long run (2000 steps of 35 tasks and pieces: 90k events) stays well under 5 MB and says it merged.
        let long = try ProfileSyntheticStep(layers: 5).profile(runs: 2_000, workers: 2)
        let big = long.htmlReport()
        #expect(big.utf8.count < 5_000_000)
        #expect(big.contains("are summed into"))
        #expect(long.chromeTrace().utf8.count < 30_000_000)
    }

    static let oddName = "a\"b\\c\nd\te\u{1}é→<x>&"
    static func oddlyNamed() throws -> Profile {
        try Profile(tasks: [ProfileTask(name: oddName, category: ProfileCategory("my \"cat\""), shape: "2x\"3",
                                        arguments: ["k\"ey": "v\\al\u{7f}"]), ProfileTask(name: "{next}")],
                    edges: [(0, 1)],
                    events: [ProfileEvent(task: 0, worker: 0, beginNanos: 5, endNanos: 1_234_567),
                             ProfileEvent(task: 1, worker: 0, beginNanos: 1_234_567, endNanos: 1_300_000)],
                    workerLabels: [0: "worker \"0\""])
    }

    @Test func namesWithSpecialCharactersSurviveEveryFormat() throws {
        let name = Self.oddName
        let profile = try Self.oddlyNamed()
        let (meta, complete, _) = try parseTrace(profile.chromeTrace())
        #expect(complete.first?["name"] as? String == name)
        #expect(complete.first?["cat"] as? String == "my \"cat\"")
        #expect((complete.first?["args"] as? [String: Any])?["k\"ey"] as? String == "v\\al\u{7f}")
        #expect(nanos(complete.first?["dur"]) == 1_234_562)
        #expect(meta.contains { ($0["args"] as? [String: Any])?["name"] as? String == "worker \"0\"" })
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(profile.summaryJSON().utf8)) as? [String: Any])
        #expect(((summary["operations"] as? [[String: Any]])?.first?["operation"] as? String) == name)
        let html = profile.htmlReport()
        #expect(html.contains("a&quot;b\\c") && html.contains("&lt;x&gt;&amp;") && !html.contains("<x>"))
        #expect(profile.graphviz().contains("a\\\"b\\\\c\\nd"))
    }

    @Test func emptyProfileStillWritesValidFiles() throws {
        let profile = try Profile(tasks: [ProfileTask(name: "never ran")], events: [])
        let (_, complete, _) = try parseTrace(profile.chromeTrace())
        #expect(complete.isEmpty)
        #expect(try JSONSerialization.jsonObject(with: Data(profile.summaryJSON().utf8)) is [String: Any])
        #expect(profile.htmlReport().contains("class=\"timeline\""))
        #expect(profile.graphviz().contains("not run"))
        #expect(profile.summaryText().contains("makespan"))
    }

    /// Writes all files; with PROFILE_SAMPLE_DIR set (Tests/report-check.sh does), keeps them there
    /// for the browser check.
    @Test func writeProducesAllFiles() throws {
        let profile = try ProfileSyntheticStep(layers: 6).profile(runs: 3)
        let keep = ProcessInfo.processInfo.environment["PROFILE_SAMPLE_DIR"]
        let directory = keep.map { URL(fileURLWithPath: $0) }
            ?? FileManager.default.temporaryDirectory.appendingPathComponent("profile-write-\(getpid())")
        defer { if keep == nil { try? FileManager.default.removeItem(at: directory) } }
        let urls = try profile.write(to: directory, title: "Synthetic training step")
        #expect(urls.map(\.lastPathComponent) == ["trace.json", "summary.txt", "summary.json", "graph.dot", "report.html"])
        for url in urls { #expect(try Data(contentsOf: url).count > 100) }
    }
}
