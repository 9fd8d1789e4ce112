import Foundation

/// Number formatting and column padding shared by the metrics' printable tables.
enum MetricsText {
    /// `x` with `digits` decimals, switching to exponent notation for magnitudes a fixed number of
    /// decimals would garble (at least 1e7, or nonzero below 1e-3). NaN and infinities as "nan", "inf".
    static func number(_ x: Double, digits: Int = 4) -> String {
        if x.isNaN { return "nan" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        let magnitude = abs(x)
        if magnitude >= 1e7 || (magnitude > 0 && magnitude < 1e-3) {
            return String(format: "%.\(digits - 1)e", x)
        }
        return String(format: "%.\(digits)f", x)
    }

    /// `s` right-aligned (padded on the left) in `width` characters.
    static func padLeft(_ s: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - s.count)) + s }

    /// `s` left-aligned (padded on the right) in `width` characters.
    static func padRight(_ s: String, _ width: Int) -> String { s + String(repeating: " ", count: max(0, width - s.count)) }

    /// Rows of cells as aligned text: the first column left-aligned, the others right-aligned, two
    /// spaces between columns.
    static func columns(_ rows: [[String]]) -> String {
        let columnCount = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: columnCount)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.count) } }
        var text = ""
        for row in rows {
            var line = ""
            for (i, cell) in row.enumerated() {
                line += i == 0 ? padRight(cell, widths[0]) : "  " + padLeft(cell, widths[i])
            }
            while line.hasSuffix(" ") { line.removeLast() }
            text += line + "\n"
        }
        return text
    }
}
