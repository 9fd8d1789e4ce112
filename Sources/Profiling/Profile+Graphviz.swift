import Scheduler

extension Profile {
    /// Fill and border colours per category, shared by the graph and the report.
    static func colors(_ c: ProfileCategory) -> (fill: String, line: String) {
        switch c {
        case .forward: return ("#4e79a7", "#2b4c70")
        case .backward: return ("#f28e2b", "#a85a12")
        case .update: return ("#59a14f", "#356130")
        case .other: return ("#9c9c9c", "#5e5e5e")
        default:
            let palette = [("#b07aa1", "#6f4766"), ("#76b7b2", "#3f7a75"), ("#edc948", "#9c821f"), ("#ff9da7", "#b35a64")]
            return palette[Int(c.rawValue.unicodeScalars.reduce(0) { ($0 &* 31 &+ $1.value) % 9973 }) % palette.count]
        }
    }

    /// Mean measured duration of each task over the runs it appears in (nil if it never ran).
    func meanTaskNanos() -> [Double?] {
        var sum = [UInt64](repeating: 0, count: tasks.count), count = [Int](repeating: 0, count: tasks.count)
        for e in events where !e.isPiece {
            sum[e.task] += e.durationNanos
            count[e.task] += 1
        }
        return tasks.indices.map { count[$0] == 0 ? nil : Double(sum[$0]) / Double(count[$0]) }
    }

    /// The task graph in Graphviz DOT (render with `dot -Tsvg graph.dot -o graph.svg`): each node
    /// labelled with its operation, shape and mean measured time, coloured by category (backward
    /// nodes dashed and orange), the critical path drawn in thick red. Graphs larger than
    /// `limits.graphNodes` keep the critical path and the most expensive tasks, and say so.
    public func graphviz(limits: ProfileOutputLimits = ProfileOutputLimits()) -> String {
        let mean = meanTaskNanos()
        let onPath = Set(criticalPath.steps.map(\.task))
        var keep = [Bool](repeating: true, count: tasks.count)
        var note = ""
        if tasks.count > limits.graphNodes {
            keep = [Bool](repeating: false, count: tasks.count)
            var budget = limits.graphNodes
            for t in criticalPath.steps.prefix(limits.graphNodes).map(\.task) { keep[t] = true; budget -= 1 }
            for t in tasks.indices.sorted(by: { (mean[$0] ?? 0, $1) > (mean[$1] ?? 0, $0) }) where budget > 0 && !keep[t] {
                keep[t] = true
                budget -= 1
            }
            note = "\\nshowing \(limits.graphNodes) of \(tasks.count) tasks: the critical path and the longest tasks"
        }
        var pathEdges = Set<[Int]>()
        for (a, b) in zip(criticalPath.steps, criticalPath.steps.dropFirst()) { pathEdges.insert([a.task, b.task]) }

        var out = "digraph profile {\n"
        out += "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, labelloc=t, label=\"task graph: "
        out += "\(tasks.count) tasks; critical path" + (runs.count > 1 ? " of run \(criticalPath.run)" : "")
        out += " \(ProfileText.dot(ProfileText.duration(criticalPath.workNanos))) in red; backward tasks dashed"
        out += (runs.count > 1 ? "; times are means over \(runs.count) runs" : "") + "\(note)\"];\n"
        out += "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, fontcolor=white];\n"
        out += "  edge [color=\"#8a8a8a\", arrowsize=0.6];\n"
        for t in tasks.indices where keep[t] {
            let task = tasks[t], (fill, line) = Profile.colors(task.category)
            var label = ProfileText.dot(task.name)
            if let s = task.shape { label += "\\n" + ProfileText.dot(s) }
            label += "\\n" + (mean[t].map { ProfileText.duration($0) } ?? "not run")
            var attributes = "label=\"\(label)\", fillcolor=\"\(fill)\", color=\"\(line)\""
            if task.category == .backward { attributes += ", style=\"rounded,filled,dashed\"" }
            if onPath.contains(t) { attributes += ", color=\"#d62728\", penwidth=3" }
            out += "  t\(t) [\(attributes)];\n"
        }
        for (a, b) in edges where keep[a] && keep[b] {
            out += "  t\(a) -> t\(b)" + (pathEdges.contains([a, b]) ? " [color=\"#d62728\", penwidth=2.5]" : "") + ";\n"
        }
        return out + "}\n"
    }
}
