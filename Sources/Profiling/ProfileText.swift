import Foundation
import Scheduler

/// Small formatting and escaping helpers shared by the profile writers.
package enum ProfileText {
    /// A JSON string literal, quotes included (RFC 8259 escapes).
    static func json(_ s: String) -> String { JSONString.quoted(s) }

    /// A JSON number, or null when not finite.
    static func json(_ x: Double) -> String {
        guard x.isFinite else { return "null" }
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    /// Nanoseconds as microseconds with exactly three decimals, computed in integers (no rounding).
    static func micros(_ ns: UInt64) -> String {
        let frac = ns % 1000
        return "\(ns / 1000)." + (frac < 10 ? "00" : frac < 100 ? "0" : "") + String(frac)
    }

    static func fixed(_ x: Double, _ digits: Int) -> String {
        x.isFinite ? String(format: "%.\(digits)f", x) : "-"
    }

    /// A duration with a unit chosen for reading: "812 ns", "45.3 µs", "12.04 ms", "3.210 s".
    static func duration(_ ns: Double) -> String {
        if ns < 1_000 { return fixed(ns, 0) + " ns" }
        if ns < 1_000_000 { return fixed(ns / 1e3, ns < 1e4 ? 2 : 1) + " µs" }
        if ns < 1_000_000_000 { return fixed(ns / 1e6, ns < 1e7 ? 3 : 2) + " ms" }
        return fixed(ns / 1e9, 3) + " s"
    }

    static func duration(_ ns: UInt64) -> String { duration(Double(ns)) }

    static func percent(_ fraction: Double) -> String { fixed(fraction * 100, 1) + "%" }

    /// `s` safe in HTML content and quoted attributes (control characters replaced); shared with
    /// Training's reports (package access).
    package static func html(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case _ where c.isASCII && c.asciiValue! < 0x20 && c != "\n" && c != "\t": out += "\u{FFFD}"
            default: out.append(c)
            }
        }
        return out
    }

    /// Text inside a double-quoted DOT string.
    static func dot(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case _ where c.isASCII && c.asciiValue! < 0x20: out += " "
            default: out.append(c)
            }
        }
        return out
    }

    /// Left- or right-aligned columns for plain-text tables.
    static func table(_ header: [String], _ rows: [[String]], rightAligned: Set<Int>) -> String {
        var widths = header.map(\.count)
        for r in rows { for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: widths[i] - c.count)
                return rightAligned.contains(i) ? pad + c : c + pad
            }.joined(separator: "  ")
        }
        var text = line(header) + "\n" + line(widths.map { String(repeating: "-", count: $0) }) + "\n"
        for r in rows { text += line(r) + "\n" }
        return text
    }
}
