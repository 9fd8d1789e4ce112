import Foundation

extension DataSummary {
    /// The summary as a self-contained HTML page (inline CSS and SVG; no network, no script):
    /// overview, numeric and text column tables, constant and duplicate columns, the labels with
    /// a class-balance bar chart, correlations, one histogram per numeric column and one bar chart
    /// of value counts per text column. Every name and value from the data is HTML-escaped.
    ///
    /// ```swift
    /// try summary.writeHTML(to: "report/data.html", title: "bench data: iris")
    /// ```
    public func html(title: String) -> String {
        var body = "<h1>\(Self.escape(title))</h1>\n"
        body += "<p>\(Self.escape(name)): \(rows) rows, \(columns.count) columns"
        if !labelColumns.isEmpty {
            body += "; label\(labelColumns.count == 1 ? "" : "s") "
                + labelColumns.map { "<b>\(Self.escape(columns[$0].name))</b>" }.joined(separator: ", ")
        }
        body += ". Missing cells are skipped in every figure.</p>\n"
        body += columnTables()
        body += flags()
        body += labelSections()
        body += correlationTables()
        body += charts()
        return """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <title>\(Self.escape(title))</title>
            <style>
            body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
            h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
            table { border-collapse: collapse; margin: 0.4em 0; }
            th, td { border: 1px solid #ccc; padding: 2px 8px; }
            th { background: #f0f0f0; text-align: left; }
            td.n { text-align: right; font-variant-numeric: tabular-nums; }
            tr.label td:first-child { font-weight: bold; }
            .charts { display: flex; flex-wrap: wrap; gap: 12px; }
            .chart { border: 1px solid #ddd; padding: 6px; }
            .chart h3 { font-size: 0.95em; margin: 0 0 4px 0; }
            svg text { font-size: 11px; fill: #444; }
            rect.bar { fill: #4a7ab5; } rect.cls { fill: #d08a3a; }
            .note { color: #666; font-size: 0.9em; }
            </style>
            </head>
            <body>
            \(body)</body>
            </html>

            """
    }

    /// Writes `html(title:)` to `path` atomically (a temporary file renamed into place), creating
    /// the directory that holds it.
    ///
    /// - Throws: `DatasetError.writeFailed` naming the path; an existing file is left untouched.
    public func writeHTML(to path: String, title: String) throws {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            } catch {
                throw DatasetError.writeFailed(file: path, reason: "cannot create directory \(directory): \(error.localizedDescription)")
            }
        }
        do {
            try AtomicFile.write(Array(html(title: title).utf8), to: path)
        } catch let CheckpointError.writeFailed(_, reason) {
            throw DatasetError.writeFailed(file: path, reason: reason)
        }
    }

    // MARK: - Sections

    private func columnTables() -> String {
        var out = ""
        let numeric = columns.indices.filter { columns[$0].kind == .numeric }
        if !numeric.isEmpty {
            out += "<h2>Numeric columns</h2>\n<table>\n<tr><th>column</th><th>present</th><th>missing</th><th>distinct</th>"
                + "<th>mean</th><th>std</th><th>min</th><th>q25</th><th>median</th><th>q75</th><th>max</th></tr>\n"
            for c in numeric {
                let s = columns[c], st = s.statistics
                out += row(c, [String(s.count), String(s.missing), String(s.distinct)]
                           + [st?.mean, st?.standardDeviation, st?.min, st?.q25, st?.median, st?.q75, st?.max]
                               .map { $0.map(Self.format) ?? "–" })
            }
            out += "</table>\n"
        }
        let texts = columns.indices.filter { columns[$0].kind == .text }
        if !texts.isEmpty {
            out += "<h2>Text columns</h2>\n<table>\n<tr><th>column</th><th>present</th><th>missing</th><th>distinct</th>"
                + "<th>most frequent (count)</th></tr>\n"
            for c in texts {
                let s = columns[c]
                let top = s.topValues.map { "\(Self.escape(Self.shortened($0.value))) (\($0.count))" }.joined(separator: ", ")
                out += "<tr\(labelColumns.contains(c) ? " class=\"label\"" : "")><td>\(Self.escape(s.name))</td>"
                    + "<td class=\"n\">\(s.count)</td><td class=\"n\">\(s.missing)</td><td class=\"n\">\(s.distinct)</td>"
                    + "<td>\(top)</td></tr>\n"
            }
            out += "</table>\n"
        }
        if !labelColumns.isEmpty { out += "<p class=\"note\">Label columns are in bold.</p>\n" }
        return out
    }

    private func row(_ c: Int, _ cells: [String]) -> String {
        "<tr\(labelColumns.contains(c) ? " class=\"label\"" : "")><td>\(Self.escape(columns[c].name))</td>"
            + cells.map { "<td class=\"n\">\(Self.escape($0))</td>" }.joined() + "</tr>\n"
    }

    private func flags() -> String {
        var out = "<h2>Constant and duplicate columns</h2>\n"
        out += constantColumns.isEmpty ? "<p>No constant column.</p>\n"
            : "<p>Constant (one distinct present value): "
                + constantColumns.map { Self.escape(columns[$0].name) }.joined(separator: ", ") + "</p>\n"
        out += duplicateColumns.isEmpty ? "<p>No duplicate column.</p>\n"
            : "<p>Duplicates (identical cells): "
                + duplicateColumns.map { "\(Self.escape(columns[$0.column].name)) = \(Self.escape(columns[$0.duplicateOf].name))" }
                    .joined(separator: ", ") + "</p>\n"
        return out
    }

    private func labelSections() -> String {
        var out = ""
        for label in labels {
            out += "<h2>Label \(Self.escape(label.name))</h2>\n"
            if let classes = label.classes {
                let total = classes.reduce(0) { $0 + $1.count }
                out += "<p>\(classes.count) class\(classes.count == 1 ? "" : "es")"
                if let small = label.smallestClassShare, let large = label.largestClassShare {
                    out += "; smallest class \(Self.percent(small)), largest \(Self.percent(large)) of \(total) labelled rows"
                }
                out += ".</p>\n"
                out += Self.barChart(classes.map { ($0.value, $0.count) }, barClass: "cls", total: total)
            } else if let t = label.target {
                out += "<p>Continuous target.</p>\n<table>\n<tr><th>mean</th><th>std</th><th>min</th><th>q25</th>"
                    + "<th>median</th><th>q75</th><th>max</th></tr>\n<tr>"
                    + [t.mean, t.standardDeviation, t.min, t.q25, t.median, t.q75, t.max]
                        .map { "<td class=\"n\">\($0.map(Self.format) ?? "–")</td>" }.joined()
                    + "</tr>\n</table>\n"
            } else {
                out += "<p>No labelled rows.</p>\n"
            }
        }
        return out
    }

    private func correlationTables() -> String {
        var out = ""
        for l in labelColumns where columns[l].kind == .numeric {
            let entries = correlations.filter { $0.label == l }
            guard !entries.isEmpty else { continue }
            out += "<h2>Correlation with \(Self.escape(columns[l].name))</h2>\n"
                + "<p class=\"note\">Pearson r over the rows where both cells are present; – where undefined.</p>\n"
                + "<table>\n<tr><th>feature</th><th>r</th><th></th></tr>\n"
            for e in entries {
                let r = e.r.map { String(format: "%+.3f", $0) } ?? "–"
                let bar = e.r.map { r in
                    let width = Int((abs(r) * 100).rounded())
                    return "<svg width=\"104\" height=\"10\"><rect x=\"2\" y=\"1\" width=\"\(width)\" height=\"8\" "
                        + "fill=\"\(r < 0 ? "#c0504d" : "#4a7ab5")\"/></svg>"
                } ?? ""
                out += "<tr><td>\(Self.escape(columns[e.feature].name))</td><td class=\"n\">\(r)</td><td>\(bar)</td></tr>\n"
            }
            out += "</table>\n"
        }
        return out
    }

    private func charts() -> String {
        var out = ""
        let numeric = columns.indices.filter { columns[$0].histogram != nil }
        if !numeric.isEmpty {
            out += "<h2>Histograms</h2>\n<div class=\"charts\">\n"
            for c in numeric {
                out += "<div class=\"chart\"><h3>\(Self.escape(columns[c].name))</h3>\n"
                    + Self.histogramSVG(columns[c].histogram!) + "</div>\n"
            }
            out += "</div>\n"
        }
        let texts = columns.indices.filter { columns[$0].kind == .text && !columns[$0].valueCounts.isEmpty }
        if !texts.isEmpty {
            out += "<h2>Value counts</h2>\n<div class=\"charts\">\n"
            for c in texts {
                let s = columns[c]
                let shown = s.valueCounts.reduce(0) { $0 + $1.count }
                var note = ""
                if s.distinct > s.valueCounts.count {
                    note = "<p class=\"note\">\(s.valueCounts.count) most frequent of \(s.distinct) values; "
                        + "\(s.count - shown) other cells.</p>\n"
                }
                out += "<div class=\"chart\"><h3>\(Self.escape(s.name))</h3>\n"
                    + Self.barChart(s.valueCounts.map { ($0.value, $0.count) }, barClass: "bar", total: s.count)
                    + note + "</div>\n"
            }
            out += "</div>\n"
        }
        return out
    }

    // MARK: - SVG

    /// Vertical bars, one per bin, with the range ends below and the largest count at the left.
    static func histogramSVG(_ h: Histogram) -> String {
        let plotWidth = 300.0, plotHeight = 120.0, left = 50.0, top = 8.0
        let peak = max(h.counts.max() ?? 1, 1)
        let barWidth = plotWidth / Double(h.counts.count)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(left + plotWidth + 10))\" "
            + "height=\"\(Int(top + plotHeight + 22))\">\n"
        for (i, count) in h.counts.enumerated() where count > 0 {
            let height = max(plotHeight * Double(count) / Double(peak), 1)
            let lo = h.edges[i], hi = h.edges[min(i + 1, h.edges.count - 1)]
            svg += "<rect class=\"bar\" x=\"\(fixed(left + Double(i) * barWidth + 0.5))\" "
                + "y=\"\(fixed(top + plotHeight - height))\" width=\"\(fixed(max(barWidth - 1, 1)))\" "
                + "height=\"\(fixed(height))\"><title>\(format(lo)) to \(format(hi)): \(count)</title></rect>\n"
        }
        let bottom = top + plotHeight
        svg += "<line x1=\"\(Int(left))\" y1=\"\(fixed(bottom))\" x2=\"\(Int(left + plotWidth))\" y2=\"\(fixed(bottom))\" stroke=\"#888\"/>\n"
        svg += "<text x=\"\(Int(left - 4))\" y=\"\(Int(top + 10))\" text-anchor=\"end\">\(peak)</text>\n"
        svg += "<text x=\"\(Int(left - 4))\" y=\"\(Int(bottom))\" text-anchor=\"end\">0</text>\n"
        if h.integerBins {                               // the integers under the first and last bars
            let first = h.edges.first! + 0.5, last = h.edges.last! - 0.5
            svg += "<text x=\"\(fixed(left + barWidth / 2))\" y=\"\(Int(bottom + 14))\" text-anchor=\"middle\">\(format(first))</text>\n"
            if last != first {
                svg += "<text x=\"\(fixed(left + plotWidth - barWidth / 2))\" y=\"\(Int(bottom + 14))\" text-anchor=\"middle\">\(format(last))</text>\n"
            }
        } else {
            svg += "<text x=\"\(Int(left))\" y=\"\(Int(bottom + 14))\">\(format(h.edges.first!))</text>\n"
            svg += "<text x=\"\(Int(left + plotWidth))\" y=\"\(Int(bottom + 14))\" text-anchor=\"end\">\(format(h.edges.last!))</text>\n"
        }
        return svg + "</svg>\n"
    }

    /// Horizontal bars, one per value, labelled with the value and its count (and share of `total`).
    static func barChart(_ items: [(String, Int)], barClass: String, total: Int) -> String {
        let labelWidth = 130.0, plotWidth = 220.0, rowHeight = 18.0
        let peak = max(items.map(\.1).max() ?? 1, 1)
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(labelWidth + plotWidth + 110))\" "
            + "height=\"\(Int(Double(items.count) * rowHeight + 4))\">\n"
        for (i, (value, count)) in items.enumerated() {
            let y = Double(i) * rowHeight + 2
            let width = max(plotWidth * Double(count) / Double(peak), count > 0 ? 1 : 0)
            let share = total > 0 ? " (" + percent(Double(count) / Double(total)) + ")" : ""
            svg += "<text x=\"\(Int(labelWidth - 6))\" y=\"\(fixed(y + 12))\" text-anchor=\"end\">"
                + escape(shortened(value, limit: 20)) + "</text>\n"
            svg += "<rect class=\"\(barClass)\" x=\"\(Int(labelWidth))\" y=\"\(fixed(y + 2))\" width=\"\(fixed(width))\" "
                + "height=\"\(fixed(rowHeight - 4))\"><title>\(escape(value)): \(count)\(share)</title></rect>\n"
            svg += "<text x=\"\(fixed(labelWidth + width + 4))\" y=\"\(fixed(y + 12))\">\(count)\(share)</text>\n"
        }
        return svg + "</svg>\n"
    }

    private static func fixed(_ x: Double) -> String { String(format: "%.1f", x) }

    /// `s` safe inside HTML content and quoted attributes (the reports' one escaper).
    static func escape(_ s: String) -> String { HTMLText.escape(s) }
}
