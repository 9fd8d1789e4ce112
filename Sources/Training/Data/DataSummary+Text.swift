import Foundation

extension DataSummary {
    /// The summary as aligned tables for a terminal: numeric columns, text columns with their most
    /// frequent values, constant and duplicate columns, the labels, and the correlations.
    ///
    /// ```
    /// t.csv: 6 rows, 3 columns, label y
    ///
    /// numeric columns
    ///   column  present  missing  distinct  mean  std      min  q25   median  q75   max
    ///   x             6        0         6   3.5  1.87083    1  2.25     3.5  4.75    6
    /// ...
    /// ```
    public func text() -> String {
        var out: [String] = []
        let labelNames = labelColumns.map { columns[$0].name }
        out.append("\(name): \(rows) row\(rows == 1 ? "" : "s"), \(columns.count) column\(columns.count == 1 ? "" : "s")"
                   + (labelNames.isEmpty ? "" : ", label\(labelNames.count == 1 ? "" : "s") \(labelNames.joined(separator: ", "))"))

        let numeric = columns.indices.filter { columns[$0].kind == .numeric }
        if !numeric.isEmpty {
            out.append("")
            out.append("numeric columns")
            var rows = [["column", "present", "missing", "distinct", "mean", "std", "min", "q25", "median", "q75", "max"]]
            for c in numeric {
                let s = columns[c], st = s.statistics
                let figures = [st?.mean, st?.standardDeviation, st?.min, st?.q25, st?.median, st?.q75, st?.max]
                rows.append([marked(c), String(s.count), String(s.missing), String(s.distinct)]
                            + figures.map { $0.map(Self.format) ?? "-" })
            }
            out += Self.aligned(rows, rightFrom: 1)
        }
        let texts = columns.indices.filter { columns[$0].kind == .text }
        if !texts.isEmpty {
            out.append("")
            out.append("text columns")
            var rows = [["column", "present", "missing", "distinct", "most frequent (count)"]]
            for c in texts {
                let s = columns[c]
                let top = s.topValues.map { "\(Self.shortened($0.value)) (\($0.count))" }.joined(separator: ", ")
                rows.append([marked(c), String(s.count), String(s.missing), String(s.distinct), top])
            }
            out += Self.aligned(rows, rightFrom: 1, rightTo: 3)
        }
        if !constantColumns.isEmpty {
            out.append("")
            out.append("constant columns: " + constantColumns.map { columns[$0].name }.joined(separator: ", "))
        }
        if !duplicateColumns.isEmpty {
            out.append("")
            out.append("duplicate columns: "
                       + duplicateColumns.map { "\(columns[$0.column].name) = \(columns[$0.duplicateOf].name)" }
                           .joined(separator: ", "))
        }
        for label in labels {
            out.append("")
            if let classes = label.classes {
                let total = classes.reduce(0) { $0 + $1.count }
                var head = "label \(label.name): \(classes.count) class\(classes.count == 1 ? "" : "es")"
                if let small = label.smallestClassShare, let large = label.largestClassShare {
                    head += ", smallest \(Self.percent(small)), largest \(Self.percent(large))"
                }
                out.append(head)
                var rows = [["class", "count", "share"]]
                for c in classes {
                    rows.append([Self.shortened(c.value), String(c.count),
                                 total > 0 ? Self.percent(Double(c.count) / Double(total)) : "-"])
                }
                out += Self.aligned(rows, rightFrom: 1)
            } else if let t = label.target {
                out.append("label \(label.name): continuous target")
                out += Self.aligned([["mean", "std", "min", "q25", "median", "q75", "max"],
                                     [t.mean, t.standardDeviation, t.min, t.q25, t.median, t.q75, t.max]
                                         .map { $0.map(Self.format) ?? "-" }], rightFrom: 0)
            } else {
                out.append("label \(label.name): no values")
            }
        }
        for l in labelColumns where columns[l].kind == .numeric {
            let rowsForLabel = correlations.filter { $0.label == l }
            guard !rowsForLabel.isEmpty else { continue }
            out.append("")
            out.append("correlation with \(columns[l].name) (Pearson r)")
            var rows = [["feature", "r"]]
            for c in rowsForLabel { rows.append([columns[c.feature].name, c.r.map { String(format: "%+.3f", $0) } ?? "-"]) }
            out += Self.aligned(rows, rightFrom: 1)
        }
        return out.joined(separator: "\n") + "\n"
    }

    /// The column's name, with " *" after label columns.
    private func marked(_ c: Int) -> String {
        Self.shortened(columns[c].name) + (labelColumns.contains(c) ? " *" : "")
    }

    /// Rows as lines, each cell padded to its column's width; columns `rightFrom...rightTo` are
    /// right-aligned (numbers), the others left-aligned.
    static func aligned(_ rows: [[String]], rightFrom: Int, rightTo: Int = .max) -> [String] {
        let columnCount = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columnCount)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        return rows.map { row in
            var line = " "
            for (i, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                let right = i >= rightFrom && i <= rightTo
                let last = i == row.count - 1
                line += " " + (right ? pad + cell : cell + (last ? "" : pad)) + (last ? "" : " ")
            }
            return line
        }
    }

    /// `share` (0...1) as a percentage with one decimal.
    static func percent(_ share: Double) -> String { String(format: "%.1f%%", share * 100) }

    /// Text cut to 40 characters (with "…") and with control characters shown as spaces, so a
    /// table stays on its lines.
    static func shortened(_ s: String, limit: Int = 40) -> String {
        let flat = String(s.map { $0.isNewline || $0 == "\t" ? " " : $0 })
        return flat.count <= limit ? flat : String(flat.prefix(limit - 1)) + "…"
    }
}
