import Scheduler

extension Profile {
    /// A timeline of `[from, to)` as SVG: one lane per worker, top-level events as full-height
    /// bars, nested ones as half-height bars inside. Events narrower than a few pixels are summed
    /// into fixed bins drawn as density bars (height: the share of the bin's time they fill; colour:
    /// the category with the most time), so the SVG stays bounded; the note says how many.
    func timelineSVG(from: UInt64, to: UInt64, limits: ProfileOutputLimits,
                     highlight: Set<Int> = []) -> (svg: String, note: String?) {
        let plot = Double(max(limits.timelineWidth, 100)), left = 170.0, lane = 24.0, top = 26.0
        let span = Double(max(to - from, 1)), scale = plot / span
        var ranges = [Int: Range<Int>]()
        var i = 0
        while i < events.count {
            var j = i
            while j < events.count && events[j].worker == events[i].worker { j += 1 }
            ranges[events[i].worker] = i..<j
            i = j
        }
        struct Bin { var busy = 0.0; var count = 0; var time = [ProfileCategory: Double]() }
        var binWidth = 3.0
        while true {
            var shapes = 0, binned = 0, bins = 0
            var body = ""
            for (row, w) in workers.enumerated() {
                let y = top + Double(row) * lane
                body += "<text x=\"\(Int(left) - 6)\" y=\"\(ProfileText.fixed(y + 15, 1))\" text-anchor=\"end\" class=\"lab\">"
                    + ProfileText.html(workerLabels[w] ?? "worker \(w)") + "</text>\n"
                body += "<rect x=\"\(Int(left))\" y=\"\(ProfileText.fixed(y + 1, 1))\" width=\"\(Int(plot))\" height=\"\(Int(lane) - 2)\" class=\"lane\"/>\n"
                // Per depth (0: top level, 1: nested): narrow events summed per bin of binWidth pixels.
                var density: [[Int: Bin]] = [[:], [:]]
                for k in ranges[w] ?? 0..<0 {
                    let e = events[k], d = eventDepths[k]
                    guard d <= 1, e.endNanos >= from, e.beginNanos <= to else { continue }
                    let x0 = Double(max(e.beginNanos, from) - from) * scale, x1 = Double(min(e.endNanos, to) - from) * scale
                    let category = tasks[e.task].category
                    let (yy, h) = d == 0 ? (y + 2, lane - 4) : (y + lane / 2, lane / 2 - 2)
                    if x1 - x0 >= binWidth {
                        body += "<rect x=\"\(ProfileText.fixed(left + x0, 1))\" y=\"\(ProfileText.fixed(yy, 1))\" width=\""
                            + ProfileText.fixed(x1 - x0, 1) + "\" height=\"\(ProfileText.fixed(h, 1))\" fill=\""
                            + Profile.colors(category).fill + "\""
                            + (d > 0 ? (highlight.contains(k) ? " class=\"n cp\"" : " class=\"n\"") : (highlight.contains(k) ? " class=\"cp\"" : ""))
                            + "><title>"
                            + ProfileText.html(eventName(e)) + " (task \(e.task), run \(e.run)) "
                            + ProfileText.duration(e.durationNanos) + "</title></rect>\n"
                        shapes += 1
                        continue
                    }
                    binned += 1
                    var b = Int(x0 / binWidth)
                    density[d][b, default: Bin()].count += 1
                    while Double(b) * binWidth <= x1 {
                        let overlap = min(x1, Double(b + 1) * binWidth) - max(x0, Double(b) * binWidth)
                        if overlap > 0 {
                            density[d][b, default: Bin()].busy += overlap
                            density[d][b, default: Bin()].time[category, default: 0] += overlap
                        }
                        b += 1
                    }
                }
                for d in 0...1 {
                    let (bottom, h) = d == 0 ? (y + lane - 2, lane - 4) : (y + lane - 2, lane / 2 - 2)
                    for (b, bin) in density[d].sorted(by: { $0.key < $1.key }) where bin.busy > 0 {
                        let fill = min(bin.busy / binWidth, 1), c = bin.time.max { ($0.value, $1.key) < ($1.value, $0.key) }!.key
                        let height = max(h * fill, 1)
                        body += "<rect x=\"\(ProfileText.fixed(left + Double(b) * binWidth, 1))\" y=\"\(ProfileText.fixed(bottom - height, 1))\" "
                            + "width=\"\(ProfileText.fixed(binWidth, 1))\" height=\"\(ProfileText.fixed(height, 1))\" fill=\"\(Profile.colors(c).fill)\" "
                            + "class=\"m\"><title>\(bin.count) short tasks, \(ProfileText.percent(fill)) busy</title></rect>\n"
                        shapes += 1
                        bins += 1
                    }
                }
            }
            if (shapes > limits.timelineShapes || body.utf8.count > limits.timelineBytes) && binWidth < plot {
                binWidth *= 2
                continue
            }
            let note = binned == 0 ? nil : "\(binned) tasks narrower than \(ProfileText.fixed(binWidth, 0)) pixels "
                + "(\(ProfileText.duration(binWidth / scale))) are summed into \(bins) bins of that width, drawn as bars "
                + "as high as the share of the bin's time they fill"
            let height = top + Double(workers.count) * lane + 4
            var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"timeline\" width=\"\(Int(left + plot + 20))\" "
                + "height=\"\(Int(height))\" viewBox=\"0 0 \(Int(left + plot + 20)) \(Int(height))\">\n"
            svg += axis(left: left, plot: plot, top: top - 8, bottom: height - 2, span: span)
            svg += body + "</svg>\n"
            return (svg, note)
        }
    }

    /// Tick marks at 1, 2 or 5 times a power of ten, about eight across.
    func axis(left: Double, plot: Double, top: Double, bottom: Double, span: Double) -> String {
        var step = 1.0
        while span / step > 8 { step *= 10 }
        while span / step < 4 && step > 1 { step /= 2 }
        var out = ""
        var t = 0.0
        while t <= span {
            let x = left + t / span * plot
            out += "<line x1=\"\(ProfileText.fixed(x, 1))\" x2=\"\(ProfileText.fixed(x, 1))\" y1=\"\(ProfileText.fixed(top, 1))\" "
                + "y2=\"\(ProfileText.fixed(bottom, 1))\" class=\"tick\"/><text x=\"\(ProfileText.fixed(x, 1))\" "
                + "y=\"\(ProfileText.fixed(top - 3, 1))\" class=\"ax\">\(ProfileText.duration(t))</text>\n"
            t += step
        }
        return out
    }

    /// Average busy workers over time as a step curve, with the mean as a dashed line.
    func parallelismSVG(limits: ProfileOutputLimits) -> String {
        let plot = Double(max(limits.timelineWidth, 100)), left = 170.0, top = 26.0, height = 140.0
        let bins = max(Int(plot / 3), 1)
        let curve = parallelism(bins: bins)
        let maxLevel = Double(max(workers.count, 1))
        let y = { (v: Double) in top + height - v / maxLevel * height }
        var path = "M\(Int(left)),\(ProfileText.fixed(y(0), 1))"
        for (b, v) in curve.enumerated() {
            let x0 = left + Double(b) * plot / Double(bins), x1 = left + Double(b + 1) * plot / Double(bins)
            path += " L\(ProfileText.fixed(x0, 1)),\(ProfileText.fixed(y(v), 1)) L\(ProfileText.fixed(x1, 1)),\(ProfileText.fixed(y(v), 1))"
        }
        path += " L\(ProfileText.fixed(left + plot, 1)),\(ProfileText.fixed(y(0), 1)) Z"
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"parallelism\" width=\"\(Int(left + plot + 20))\" "
            + "height=\"\(Int(top + height + 8))\">\n"
        svg += axis(left: left, plot: plot, top: top - 8, bottom: top + height, span: Double(max(lastEndNanos - originNanos, 1)))
        let levelStep = max(1, workers.count / 8)
        for k in stride(from: 0, through: workers.count, by: levelStep) {
            svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(left + plot))\" y1=\"\(ProfileText.fixed(y(Double(k)), 1))\" "
                + "y2=\"\(ProfileText.fixed(y(Double(k)), 1))\" class=\"tick\"/><text x=\"\(Int(left) - 6)\" "
                + "y=\"\(ProfileText.fixed(y(Double(k)) + 4, 1))\" text-anchor=\"end\" class=\"lab\">\(k)</text>\n"
        }
        svg += "<path d=\"\(path)\" class=\"area\"/>\n"
        svg += "<line x1=\"\(Int(left))\" x2=\"\(Int(left + plot))\" y1=\"\(ProfileText.fixed(y(averageParallelism), 1))\" "
            + "y2=\"\(ProfileText.fixed(y(averageParallelism), 1))\" class=\"mean\"/>"
        svg += "<text x=\"\(Int(left) - 30)\" y=\"\(Int(top + height / 2))\" text-anchor=\"end\" class=\"lab\">busy workers</text>\n"
        return svg + "</svg>\n"
    }

    /// The report (report.html): one self-contained HTML page, no scripts and nothing fetched,
    /// with the headline figures, a timeline per worker, parallelism over time, the operation,
    /// category and worker tables, and the critical path. Its size is bounded by `limits`
    /// whatever the length of the run.
    public func htmlReport(title: String = "Profile", limits: ProfileOutputLimits = ProfileOutputLimits(),
                           notes: [String] = []) -> String {
        let h = ProfileText.html
        var allNotes = notes
        var out = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>\(h(title))</title>\n<style>\n"
        out += """
            body{font:14px/1.4 -apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#222;background:#fff}
            h1{font-size:22px;margin:0 0 12px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #ddd}
            table{border-collapse:collapse;margin:6px 0}td,th{padding:3px 10px;border-bottom:1px solid #eee;text-align:right}
            th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}td.l,th.l{text-align:left}
            .lab{font-size:11px;fill:#333}.ax{font-size:10px;fill:#666;text-anchor:middle}.tick{stroke:#e2e2e2}
            .lane{fill:#fafafa;stroke:#eee}.n{opacity:.75;stroke:#fff;stroke-width:.5}.m{opacity:.85}
            .area{fill:#4e79a7;fill-opacity:.55;stroke:#2b4c70;stroke-width:1}.mean{stroke:#d62728;stroke-dasharray:5,4}.cp{stroke:#d62728;stroke-width:2}
            .key span{display:inline-block;width:12px;height:12px;margin:0 4px 0 14px;vertical-align:-1px}
            .note{background:#fff8e1;border-left:4px solid #f2b01e;padding:6px 10px;margin:6px 0}
            svg{display:block;margin:6px 0}

            """
        out += "</style></head><body>\n<h1>\(h(title))</h1>\n"
        out += "<table class=\"headline\">" + headline().map { "<tr><td>\(h($0.0))</td><td class=\"l\">\(h($0.1))</td></tr>" }.joined() + "</table>\n"
        out += "<p class=\"key\">" + (categories.map(\.category) + [.forward, .backward, .update, .other]).reduce(into: [ProfileCategory]()) {
            if !$0.contains($1) { $0.append($1) }
        }.map { "<span style=\"background:\(Profile.colors($0).fill)\"></span>\(h($0.rawValue))" }.joined()
            + " &nbsp; (half-height bars: pieces of nested loops; red outline: critical path)</p>\n"

        let onPath = Set(criticalPath.steps.map(\.event))
        let whole = timelineSVG(from: originNanos, to: lastEndNanos, limits: limits, highlight: runs.count == 1 ? onPath : [])
        var sections = "<h2>Timeline per worker" + (runs.count > 1 ? ", all \(runs.count) runs" : "") + "</h2>\n" + whole.svg
        if let note = whole.note { allNotes.append("Timeline" + (runs.count > 1 ? " of all runs" : "") + ": " + note + ".") }
        if runs.count > 1, let run = runs.first(where: { $0.run == criticalPath.run }) {
            let detail = timelineSVG(from: run.beginNanos, to: run.endNanos, limits: limits, highlight: onPath)
            sections += "<h2>Timeline of run \(run.run) (the median run by critical path)</h2>\n" + detail.svg
            if let note = detail.note { allNotes.append("Timeline of run \(run.run): " + note + ".") }
        }
        sections += "<h2>Parallelism over time</h2>\n" + parallelismSVG(limits: limits)
        if runs.count > 1 {
            sections += "<p>Busy workers averaged over slices of the whole profile; the dashed line is the average over the "
                + "time inside runs. Gaps between runs (work outside the graph) show as 0 here but count neither in the "
                + "makespan nor in the table below.</p>\n"
        }
        sections += "<table><tr><th>busy workers</th><th>time</th><th>share</th></tr>" + parallelismHistogram.enumerated().map { k, t in
            "<tr><td>\(k)</td><td>\(h(ProfileText.duration(t)))</td><td>\(ProfileText.percent(makespanNanos == 0 ? 0 : Double(t) / Double(makespanNanos)))</td></tr>"
        }.joined() + "</table>\n"

        let (rows, rest) = listedOperations(limits.tableRows)
        if rest != nil { allNotes.append("The operation table lists the \(rows.count) operations with the most self time; the rest are summed in its last row.") }
        sections += "<h2>Operations</h2>\n" + htmlTable(Profile.operationHeader, (rows + (rest.map { [$0] } ?? [])).map(operationCells), left: [1])
        sections += "<h2>By category</h2>\n" + htmlTable(["category", "calls", "total", "self", "self %"], categories.map {
            [$0.category.rawValue, "\($0.calls)", ProfileText.duration($0.totalNanos), ProfileText.duration($0.selfNanos), ProfileText.percent($0.share)]
        }, left: [])
        sections += "<h2>Workers</h2>\n" + htmlTable(["worker", "tasks", "pieces", "busy", "idle", "utilization"], workerStats.map {
            [$0.label, "\($0.tasks)", "\($0.pieces)", ProfileText.duration($0.busyNanos), ProfileText.duration($0.idleNanos), ProfileText.percent($0.utilization)]
        }, left: [])

        sections += "<h2>Critical path" + (runs.count > 1 ? " of run \(criticalPath.run)" : "") + "</h2>\n"
        sections += "<p>\(criticalPath.steps.count) tasks, \(h(ProfileText.duration(criticalPath.workNanos))) of work; "
            + "the chain that ended last has \(bindingChain.steps.count) tasks, \(h(ProfileText.duration(bindingChain.workNanos))) of work and "
            + "\(h(ProfileText.duration(bindingChain.waitNanos))) of waits between dependent tasks.</p>\n"
        sections += htmlTable(["operation", "steps", "time"], pathByOperation(criticalPath).prefix(limits.tableRows).map {
            [$0.name, "\($0.count)", ProfileText.duration($0.nanos)]
        }, left: [])
        let (steps, restSteps) = listedSteps(criticalPath, limit: limits.pathSteps)
        sections += htmlTable(["#", "task", "operation", "category", "shape", "duration", "wait before"], steps.enumerated().map { i, s in
            let t = tasks[s.task]
            return ["\(i + 1)", "\(s.task)", t.name, t.category.rawValue, t.shape ?? "", ProfileText.duration(s.durationNanos), ProfileText.duration(s.waitNanos)]
        }, left: [2, 3, 4])
        if !restSteps.isEmpty {
            allNotes.append("The critical path lists its first \(steps.count) of \(criticalPath.steps.count) steps; the table above it sums all of them by operation.")
        }
        if !allNotes.isEmpty {
            out += "<h2>Notes</h2>\n" + allNotes.map { "<p class=\"note\">\(h($0))</p>\n" }.joined()
        }
        return out + sections + "</body></html>\n"
    }

    func htmlTable(_ header: [String], _ rows: [[String]], left: Set<Int>) -> String {
        let h = ProfileText.html
        var out = "<table><tr>" + header.enumerated().map { i, c in "<th\(left.contains(i) ? " class=\"l\"" : "")>\(h(c))</th>" }.joined() + "</tr>\n"
        for r in rows {
            out += "<tr>" + r.enumerated().map { i, c in "<td\(left.contains(i) ? " class=\"l\"" : "")>\(h(c))</td>" }.joined() + "</tr>\n"
        }
        return out + "</table>\n"
    }
}
