import Scheduler

extension Profile {
    /// Which events the trace shows, and a note when not all of them: whole runs are sampled
    /// evenly; a single run larger than the bound keeps its events that began first.
    func traceSelection(limit: Int) -> (events: [Int], note: String?) {
        guard events.count > limit else { return (Array(events.indices), nil) }
        var count = [Int: Int]()
        for e in events { count[e.run, default: 0] += 1 }
        let runIDs = count.keys.sorted()
        let largest = count.values.max() ?? 0
        if largest <= limit {
            let keep = max(1, min(runIDs.count, limit / max(largest, 1)))
            let chosen = Set((0..<keep).map { runIDs[$0 * runIDs.count / keep] })
            let picked = events.indices.filter { chosen.contains(events[$0].run) }
            let shown = chosen.sorted().prefix(8).map(String.init).joined(separator: ", ")
            return (picked, "sampled: \(keep) of \(runIDs.count) runs (runs \(shown)\(keep > 8 ? ", ..." : "")), "
                + "\(picked.count) of \(events.count) events; tables and totals cover all events")
        }
        let run = criticalPath.run
        let byBegin = events.indices.filter { events[$0].run == run }.sorted { events[$0].beginNanos < events[$1].beginNanos }
        let kept = Set(byBegin.prefix(limit))
        let picked = events.indices.filter { kept.contains($0) }
        let cutoff = byBegin.prefix(limit).last.map { events[$0].beginNanos - originNanos } ?? 0
        return (picked, "truncated: the first \(picked.count) of \(events.count) events of run \(run) (up to "
            + "\(ProfileText.duration(cutoff)) after the profile's start); tables and totals cover all events")
    }

    /// The profile in Chrome's trace event format, which Perfetto (ui.perfetto.dev) and
    /// chrome://tracing open: one track per worker named by its label, one complete (`X`) event
    /// per task with its operation as name, its category as `cat`, timestamps in microseconds
    /// from the profile's start, and the task's shape, flops, bytes and arguments as `args`.
    /// Pieces of nested loops nest inside the task that waited for them when on the same worker.
    public func chromeTrace(limits: ProfileOutputLimits = ProfileOutputLimits()) -> String {
        let (selected, note) = traceSelection(limit: limits.traceEvents)
        var out = "{\"displayTimeUnit\":\"ns\",\"otherData\":{\"generator\":\"GraphEngine Profile\""
        if let note { out += ",\"note\":" + ProfileText.json(note) }
        out += "},\"traceEvents\":[\n"
        out += "{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"graph run\"}}"
        for w in workers {
            out += ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":\(w),\"name\":\"thread_name\",\"args\":{\"name\":"
                + ProfileText.json(workerLabels[w] ?? "worker \(w)") + "}}"
            out += ",\n{\"ph\":\"M\",\"pid\":1,\"tid\":\(w),\"name\":\"thread_sort_index\",\"args\":{\"sort_index\":\(w)}}"
        }
        var argsCache = [Int: String]()
        for i in selected {
            let e = events[i], task = tasks[e.task]
            let taskArgs: String
            if let cached = argsCache[e.task] { taskArgs = cached } else {
                var a = ""
                if let s = task.shape { a += ",\"shape\":" + ProfileText.json(s) }
                if let f = task.flops { a += ",\"flops\":" + ProfileText.json(f) }
                if let b = task.bytes { a += ",\"bytes\":" + ProfileText.json(b) }
                for (k, v) in task.arguments.sorted(by: { $0.key < $1.key }) {
                    a += "," + ProfileText.json(k) + ":" + ProfileText.json(v)
                }
                argsCache[e.task] = a
                taskArgs = a
            }
            out += ",\n{\"ph\":\"X\",\"pid\":1,\"tid\":\(e.worker),\"ts\":" + ProfileText.micros(e.beginNanos - originNanos)
                + ",\"dur\":" + ProfileText.micros(e.durationNanos)
                + ",\"name\":" + ProfileText.json(eventName(e)) + ",\"cat\":" + ProfileText.json(task.category.rawValue)
                + ",\"args\":{\"task\":\(e.task),\"run\":\(e.run),\"cpu\":\(e.cpu)"
                + (e.isPiece ? ",\"piece\":true" : "") + taskArgs + "}}"
        }
        return out + "\n]}\n"
    }
}
