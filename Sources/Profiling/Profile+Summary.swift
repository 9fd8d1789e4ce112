import Scheduler

extension Profile {
    /// Sum over runs of the best makespan any schedule could reach on these workers with these
    /// durations: at least the critical path, and at least busy time spread over all workers.
    public var lowerBoundNanos: UInt64 {
        let w = UInt64(max(workers.count, 1))
        return runs.reduce(0) { $0 + max($1.criticalPathNanos, ($1.busyNanos + w - 1) / w) }
    }

    /// Estimated scheduling overhead: summed over runs, the waits along the chain of dependent
    /// tasks that ended last (time between a task's last predecessor ending and its start).
    public var schedulingWaitNanos: UInt64 { runs.reduce(0) { $0 + $1.bindingChainWaitNanos } }

    /// Human-readable lines of the headline figures, shared by the text summary and the report.
    func headline() -> [(String, String)] {
        let d = { (x: UInt64) in ProfileText.duration(x) }
        let ratio = { (a: UInt64, b: Double) in b > 0 ? ProfileText.fixed(Double(a) / b, 2) + "x" : "-" }
        let perWorker = Double(busyNanos) / Double(max(workers.count, 1))
        var lines: [(String, String)] = [
            ("runs", "\(runs.count)"),
            ("events", "\(events.count) (\(events.filter { !$0.isPiece }.count) tasks, \(events.filter(\.isPiece).count) pieces)"),
            ("workers", "\(workers.count)"),
            ("makespan", d(makespanNanos) + (runs.count > 1 ? " (time inside runs; first to last event: \(d(lastEndNanos - originNanos)))" : "")),
            ("sum of task times", d(taskNanos)),
            ("busy time (all workers)", d(busyNanos)),
            ("average parallelism", ProfileText.fixed(averageParallelism, 2) + " (busy / makespan)"),
            ("critical path", d(criticalPathNanos) + (runs.count > 1 ? " (sum over runs)" : "")),
            ("makespan / critical path", ratio(makespanNanos, Double(criticalPathNanos))),
            ("makespan / (busy / workers)", ratio(makespanNanos, perWorker)),
            ("lower bound max(critical path, busy / workers)", d(lowerBoundNanos) + ", makespan is "
                + d(makespanNanos > lowerBoundNanos ? makespanNanos - lowerBoundNanos : 0) + " above it"),
            ("scheduling overhead (est.)", d(schedulingWaitNanos)
                + " waited between dependent tasks on the chain that ended last"),
        ]
        if runs.count > 1 {
            let spans = runs.map(\.spanNanos).sorted()
            lines.append(("run makespan min / median / max", "\(d(spans[0])) / \(d(spans[spans.count / 2])) / \(d(spans[spans.count - 1]))"))
        }
        return lines
    }

    /// The operation rows to list and one aggregate for the rest, if any.
    func listedOperations(_ limit: Int) -> (rows: [OperationStats], rest: OperationStats?) {
        guard operations.count > limit else { return (operations, nil) }
        var rest = OperationStats(name: "(\(operations.count - limit) more operations)", category: .other, isPiece: false,
                                  calls: 0, totalNanos: 0, selfNanos: 0, minNanos: .max, maxNanos: 0, share: 0)
        for r in operations[limit...] {
            rest.calls += r.calls
            rest.totalNanos += r.totalNanos
            rest.selfNanos += r.selfNanos
            rest.minNanos = min(rest.minNanos, r.minNanos)
            rest.maxNanos = max(rest.maxNanos, r.maxNanos)
            rest.share += r.share
        }
        return (Array(operations[..<limit]), rest)
    }

    /// A path's steps to list and a per-operation aggregate of the rest.
    func listedSteps(_ path: TaskPath, limit: Int) -> (steps: [TaskPath.Step], rest: [(name: String, count: Int, nanos: UInt64)]) {
        guard path.steps.count > limit else { return (path.steps, []) }
        var rest = [String: (Int, UInt64)]()
        for s in path.steps[limit...] {
            let v = rest[tasks[s.task].name] ?? (0, 0)
            rest[tasks[s.task].name] = (v.0 + 1, v.1 + s.durationNanos)
        }
        return (Array(path.steps[..<limit]), rest.map { ($0.key, $0.value.0, $0.value.1) }.sorted { $0.nanos > $1.nanos })
    }

    /// The criticalPath's operations summed: how many steps and how much time each operation takes on it.
    func pathByOperation(_ path: TaskPath) -> [(name: String, count: Int, nanos: UInt64)] {
        var sums = [String: (Int, UInt64)]()
        for s in path.steps {
            let v = sums[tasks[s.task].name] ?? (0, 0)
            sums[tasks[s.task].name] = (v.0 + 1, v.1 + s.durationNanos)
        }
        return sums.map { ($0.key, $0.value.0, $0.value.1) }.sorted { ($0.nanos, $1.name) > ($1.nanos, $0.name) }
    }

    func operationCells(_ r: OperationStats) -> [String] {
        [r.displayName, r.category.rawValue, "\(r.calls)", ProfileText.duration(r.totalNanos),
         ProfileText.duration(r.selfNanos), ProfileText.duration(r.meanNanos), ProfileText.percent(r.share),
         r.gflopsPerSecond.map { ProfileText.fixed($0, 2) } ?? ""]
    }

    static let operationHeader = ["operation", "category", "calls", "total", "self", "mean", "self %", "GFLOP/s"]

    /// The text summary (summary.txt): headline figures, operations, categories, workers,
    /// parallelism and the critical path.
    public func summaryText(limits: ProfileOutputLimits = ProfileOutputLimits(), notes: [String] = []) -> String {
        var text = "Profile summary\n===============\n\n"
        let width = headline().map(\.0.count).max() ?? 0
        for (k, v) in headline() { text += k + ":" + String(repeating: " ", count: width - k.count + 1) + v + "\n" }

        let (rows, rest) = listedOperations(limits.tableRows)
        text += "\nOperations (by self time)\n\n"
        text += ProfileText.table(Profile.operationHeader, (rows + (rest.map { [$0] } ?? [])).map(operationCells),
                                  rightAligned: [2, 3, 4, 5, 6, 7])
        text += "\nBy category\n\n"
        text += ProfileText.table(["category", "calls", "total", "self", "self %"], categories.map {
            [$0.category.rawValue, "\($0.calls)", ProfileText.duration($0.totalNanos), ProfileText.duration($0.selfNanos),
             ProfileText.percent($0.share)]
        }, rightAligned: [1, 2, 3, 4])
        text += "\nWorkers\n\n"
        text += ProfileText.table(["worker", "tasks", "pieces", "busy", "idle", "utilization"], workerStats.map {
            [$0.label, "\($0.tasks)", "\($0.pieces)", ProfileText.duration($0.busyNanos), ProfileText.duration($0.idleNanos),
             ProfileText.percent($0.utilization)]
        }, rightAligned: [1, 2, 3, 4, 5])
        text += "\nParallelism (time with k workers busy)\n\n"
        text += ProfileText.table(["k", "time", "share"], parallelismHistogram.enumerated().map { k, t in
            ["\(k)", ProfileText.duration(t), ProfileText.percent(makespanNanos == 0 ? 0 : Double(t) / Double(makespanNanos))]
        }, rightAligned: [0, 1, 2])

        text += "\nCritical path" + (runs.count > 1 ? " of run \(criticalPath.run) (the median run by critical path)" : "")
        text += ": \(criticalPath.steps.count) tasks, \(ProfileText.duration(criticalPath.workNanos))"
        text += runs.first(where: { $0.run == criticalPath.run }).map { ", run makespan \(ProfileText.duration($0.spanNanos))" } ?? ""
        text += "\n\n"
        text += ProfileText.table(["operation", "steps", "time"], pathByOperation(criticalPath).map {
            [$0.name, "\($0.count)", ProfileText.duration($0.nanos)]
        }, rightAligned: [1, 2])
        let (steps, restSteps) = listedSteps(criticalPath, limit: limits.pathSteps)
        text += "\n" + ProfileText.table(["#", "task", "operation", "category", "shape", "duration", "wait before"],
                                         steps.enumerated().map { i, s in
            let t = tasks[s.task]
            return ["\(i + 1)", "\(s.task)", t.name, t.category.rawValue, t.shape ?? "",
                    ProfileText.duration(s.durationNanos), ProfileText.duration(s.waitNanos)]
        }, rightAligned: [0, 1, 5, 6])
        if !restSteps.isEmpty {
            text += "(\(criticalPath.steps.count - steps.count) more steps not listed: "
                + restSteps.prefix(10).map { "\($0.name) x\($0.count) \(ProfileText.duration($0.nanos))" }.joined(separator: ", ") + ")\n"
        }
        text += "\nChain that ended last (run \(bindingChain.run)): \(bindingChain.steps.count) tasks, work "
            + "\(ProfileText.duration(bindingChain.workNanos)), waits \(ProfileText.duration(bindingChain.waitNanos))\n"
        if !notes.isEmpty { text += "\nNotes\n\n" + notes.map { "- " + $0 + "\n" }.joined() }
        return text
    }

    /// The same figures as `summaryText` as one JSON object (summary.json); times in nanoseconds.
    public func summaryJSON(limits: ProfileOutputLimits = ProfileOutputLimits(), notes: [String] = []) -> String {
        let j = { (s: String) in ProfileText.json(s) }
        let n = { (x: Double) in ProfileText.json(x) }
        func path(_ p: TaskPath) -> String {
            let (steps, _) = listedSteps(p, limit: max(limits.pathSteps, 1_000))
            return "{\"run\":\(p.run),\"tasks\":\(p.steps.count),\"work_ns\":\(p.workNanos),\"wait_ns\":\(p.waitNanos),"
                + "\"listed\":\(steps.count),\"steps\":[" + steps.map { s in
                    "{\"task\":\(s.task),\"operation\":\(j(tasks[s.task].name)),\"category\":\(j(tasks[s.task].category.rawValue)),"
                        + "\"duration_ns\":\(s.durationNanos),\"wait_ns\":\(s.waitNanos)}"
                }.joined(separator: ",") + "]}"
        }
        let (rows, rest) = listedOperations(max(limits.tableRows, 1_000))
        var out = "{\n\"runs\":\(runs.count),\"events\":\(events.count),\"workers\":\(workers.count),"
        out += "\n\"makespan_ns\":\(makespanNanos),\"first_to_last_ns\":\(lastEndNanos - originNanos),"
        out += "\"task_ns\":\(taskNanos),\"busy_ns\":\(busyNanos),\"average_parallelism\":\(n(averageParallelism)),"
        out += "\n\"critical_path_ns\":\(criticalPathNanos),\"lower_bound_ns\":\(lowerBoundNanos),"
        out += "\"scheduling_wait_ns\":\(schedulingWaitNanos),"
        out += "\n\"makespan_over_critical_path\":\(n(criticalPathNanos == 0 ? .nan : Double(makespanNanos) / Double(criticalPathNanos))),"
        out += "\"makespan_over_busy_per_worker\":\(n(busyNanos == 0 ? .nan : Double(makespanNanos) * Double(workers.count) / Double(busyNanos))),"
        out += "\n\"operations\":[\n" + (rows + (rest.map { [$0] } ?? [])).map { r in
            "{\"operation\":\(j(r.name)),\"category\":\(j(r.category.rawValue)),\"piece\":\(r.isPiece),\"calls\":\(r.calls),"
                + "\"total_ns\":\(r.totalNanos),\"self_ns\":\(r.selfNanos),\"mean_ns\":\(n(r.meanNanos)),"
                + "\"min_ns\":\(r.calls == 0 ? 0 : r.minNanos),\"max_ns\":\(r.maxNanos),\"share\":\(n(r.share)),"
                + "\"flops\":\(r.flops.map(n) ?? "null"),\"gflops_per_s\":\(r.gflopsPerSecond.map(n) ?? "null")}"
        }.joined(separator: ",\n") + "],"
        out += "\n\"categories\":[" + categories.map {
            "{\"category\":\(j($0.category.rawValue)),\"calls\":\($0.calls),\"total_ns\":\($0.totalNanos),"
                + "\"self_ns\":\($0.selfNanos),\"share\":\(n($0.share))}"
        }.joined(separator: ",") + "],"
        out += "\n\"worker_stats\":[" + workerStats.map {
            "{\"worker\":\($0.worker),\"label\":\(j($0.label)),\"tasks\":\($0.tasks),\"pieces\":\($0.pieces),"
                + "\"busy_ns\":\($0.busyNanos),\"idle_ns\":\($0.idleNanos),\"utilization\":\(n($0.utilization))}"
        }.joined(separator: ",") + "],"
        out += "\n\"parallelism_histogram_ns\":[" + parallelismHistogram.map(String.init).joined(separator: ",") + "],"
        out += "\n\"run_stats\":[" + runs.prefix(limits.runRows).map {
            "{\"run\":\($0.run),\"makespan_ns\":\($0.spanNanos),\"tasks\":\($0.tasks),\"pieces\":\($0.pieces),"
                + "\"busy_ns\":\($0.busyNanos),\"critical_path_ns\":\($0.criticalPathNanos),\"wait_ns\":\($0.bindingChainWaitNanos)}"
        }.joined(separator: ",\n") + "],\"run_stats_listed\":\(min(runs.count, limits.runRows)),"
        out += "\n\"critical_path\":" + path(criticalPath) + ","
        out += "\n\"binding_chain\":" + path(bindingChain) + ","
        out += "\n\"notes\":[" + notes.map(j).joined(separator: ",") + "]\n}\n"
        return out
    }
}
