import Foundation
import Profiling

/// Escaping and number formatting for the generated HTML and SVG.
enum HTMLText {
    /// `text` safe inside HTML element content and quoted attribute values.
    static func escape(_ text: String) -> String { ProfileText.html(text) }

    /// A value for a table cell: five significant digits ("0.012346", "2.3026", "1.2346e-07"),
    /// "NaN" and "inf" spelled out.
    static func number(_ x: Double) -> String {
        if x.isNaN { return "NaN" }
        if x.isInfinite { return x < 0 ? "-inf" : "inf" }
        return String(format: "%.5g", x)
    }

    /// A coordinate in the SVG's user units, one decimal.
    static func coordinate(_ x: Double) -> String { String(format: "%.1f", x) }

    /// An axis tick label for `value` on an axis whose ticks are `step` apart: just enough decimals
    /// to tell neighbouring ticks apart ("0.25", "10", "1.5e-06").
    static func tick(_ value: Double, step: Double) -> String {
        let magnitude = max(abs(value), step)
        if step < 1e-4 || magnitude >= 1e7 { return String(format: "%.3g", value) }
        let decimals = max(0, Int(-log10(step).rounded(.down)))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }
}
