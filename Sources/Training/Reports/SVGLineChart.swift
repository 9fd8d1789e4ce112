#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A static line chart as inline SVG (no script, no external references): one line per series,
/// gaps where a value is missing or not finite, a legend, labelled axes with rounded ticks and an
/// optional vertical marker (the best epoch).
struct SVGLineChart {
    /// One line: `points` in any order of x; a nil, NaN or infinite y is skipped (the line breaks there).
    struct Series {
        var name: String
        var color: String
        var points: [(x: Double, y: Double?)]
    }

    var title: String
    var xLabel: String
    var yLabel: String
    var series: [Series]
    /// Where to draw the marker line, and its legend text.
    var marker: (x: Double, label: String)?

    static let width = 720.0
    static let height = 320.0
    private static let left = 72.0, right = 24.0, top = 36.0, bottom = 48.0
    private static var plotWidth: Double { width - left - right }
    private static var plotHeight: Double { height - top - bottom }
    /// Above this many points a series is drawn as a bare line, without a dot per point.
    private static let dotLimit = 40

    /// The chart as an `<svg>` element.
    func svg() -> String {
        typealias C = SVGLineChart
        // Each series as runs of consecutive finite values, in x order.
        let runs: [[[(x: Double, y: Double)]]] = series.map { s in
            var runs: [[(x: Double, y: Double)]] = []
            var current: [(x: Double, y: Double)] = []
            for p in s.points.filter({ $0.x.isFinite }).sorted(by: { $0.x < $1.x }) {
                if let y = p.y, y.isFinite {
                    current.append((p.x, y))
                } else if !current.isEmpty {
                    runs.append(current)
                    current = []
                }
            }
            if !current.isEmpty { runs.append(current) }
            return runs
        }
        let finite = runs.map { $0.flatMap { $0 } }
        let xs = series.flatMap { $0.points.map(\.x) }.filter(\.isFinite) + (marker.map { [$0.x] } ?? [])
        let ys = finite.flatMap { $0.map(\.y) }

        var out = "<svg class=\"chart\" viewBox=\"0 0 \(Int(C.width)) \(Int(C.height))\" width=\"\(Int(C.width))\" "
            + "height=\"\(Int(C.height))\" role=\"img\" aria-label=\"\(HTMLText.escape(title))\">\n"
        out += "<title>\(HTMLText.escape(title))</title>\n"
        out += "<rect x=\"0\" y=\"0\" width=\"\(Int(C.width))\" height=\"\(Int(C.height))\" fill=\"#ffffff\"/>\n"

        let xAxis = Axis(integerValues: xs, padSingle: 0.5)
        let yAxis = Axis(values: ys)
        func px(_ x: Double) -> Double { C.left + (x - xAxis.low) / (xAxis.high - xAxis.low) * C.plotWidth }
        func py(_ y: Double) -> Double { C.top + C.plotHeight - (y - yAxis.low) / (yAxis.high - yAxis.low) * C.plotHeight }
        let f = HTMLText.coordinate

        // Grid and y ticks.
        for tick in yAxis.ticks {
            let y = f(py(tick))
            out += "<line x1=\"\(f(C.left))\" y1=\"\(y)\" x2=\"\(f(C.left + C.plotWidth))\" y2=\"\(y)\" stroke=\"#e4e4e4\"/>\n"
            out += "<text x=\"\(f(C.left - 6))\" y=\"\(y)\" text-anchor=\"end\" dominant-baseline=\"middle\" "
                + "class=\"tick\">\(HTMLText.tick(tick, step: yAxis.step))</text>\n"
        }
        // x ticks.
        for tick in xAxis.ticks {
            let x = f(px(tick))
            let base = C.top + C.plotHeight
            out += "<line x1=\"\(x)\" y1=\"\(f(base))\" x2=\"\(x)\" y2=\"\(f(base + 5))\" stroke=\"#444444\"/>\n"
            out += "<text x=\"\(x)\" y=\"\(f(base + 18))\" text-anchor=\"middle\" class=\"tick\">"
                + "\(HTMLText.tick(tick, step: xAxis.step))</text>\n"
        }
        // Axes and their labels.
        out += "<line x1=\"\(f(C.left))\" y1=\"\(f(C.top))\" x2=\"\(f(C.left))\" y2=\"\(f(C.top + C.plotHeight))\" stroke=\"#444444\"/>\n"
        out += "<line x1=\"\(f(C.left))\" y1=\"\(f(C.top + C.plotHeight))\" x2=\"\(f(C.left + C.plotWidth))\" "
            + "y2=\"\(f(C.top + C.plotHeight))\" stroke=\"#444444\"/>\n"
        out += "<text x=\"\(f(C.left + C.plotWidth / 2))\" y=\"\(f(C.height - 8))\" text-anchor=\"middle\" "
            + "class=\"axis\">\(HTMLText.escape(xLabel))</text>\n"
        out += "<text transform=\"rotate(-90)\" x=\"\(f(-(C.top + C.plotHeight / 2)))\" y=\"16\" text-anchor=\"middle\" "
            + "class=\"axis\">\(HTMLText.escape(yLabel))</text>\n"

        if ys.isEmpty {
            out += "<text x=\"\(f(C.left + C.plotWidth / 2))\" y=\"\(f(C.top + C.plotHeight / 2))\" text-anchor=\"middle\" "
                + "class=\"empty\">no values recorded</text>\n"
        }

        // The marker under the lines.
        if let marker {
            let x = f(px(marker.x))
            out += "<line x1=\"\(x)\" y1=\"\(f(C.top))\" x2=\"\(x)\" y2=\"\(f(C.top + C.plotHeight))\" stroke=\"#2ca02c\" "
                + "stroke-width=\"1.5\" stroke-dasharray=\"5 4\"/>\n"
        }

        // The lines: one path per run of consecutive finite values, a dot where a run has one point.
        for ((s, points), runs) in zip(zip(series, finite), runs) where !points.isEmpty {
            let color = HTMLText.escape(s.color)
            for run in runs where run.count > 1 {
                let d = run.enumerated().map { "\($0.offset == 0 ? "M" : "L")\(f(px($0.element.x))) \(f(py($0.element.y)))" }
                out += "<path d=\"\(d.joined(separator: " "))\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" "
                    + "stroke-linejoin=\"round\"/>\n"
            }
            for run in runs {
                guard run.count == 1 || points.count <= C.dotLimit else { continue }
                for p in run {
                    out += "<circle cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"3\" fill=\"\(color)\"/>\n"
                }
            }
            if let marker, let hit = points.first(where: { $0.x == marker.x }) {
                out += "<circle cx=\"\(f(px(hit.x)))\" cy=\"\(f(py(hit.y)))\" r=\"6\" fill=\"none\" stroke=\"\(color)\" "
                    + "stroke-width=\"2\"/>\n"
            }
        }

        // Legend across the top.
        var x = C.left
        func legendItem(_ swatch: String, _ text: String) {
            out += swatch + "<text x=\"\(f(x + 26))\" y=\"16\" dominant-baseline=\"middle\" class=\"legend\">"
                + "\(HTMLText.escape(text))</text>\n"
            x += 26 + Double(text.count) * 7.5 + 24
        }
        for (s, points) in zip(series, finite) where !points.isEmpty {
            legendItem("<line x1=\"\(f(x))\" y1=\"16\" x2=\"\(f(x + 20))\" y2=\"16\" stroke=\"\(HTMLText.escape(s.color))\" "
                       + "stroke-width=\"3\"/>", s.name)
        }
        if let marker {
            legendItem("<line x1=\"\(f(x))\" y1=\"16\" x2=\"\(f(x + 20))\" y2=\"16\" stroke=\"#2ca02c\" stroke-width=\"1.5\" "
                       + "stroke-dasharray=\"5 4\"/>", marker.label)
        }
        out += "</svg>\n"
        return out
    }

    /// An axis range rounded out to whole ticks 1, 2 or 5 times a power of ten apart.
    struct Axis {
        var low: Double
        var high: Double
        var step: Double
        var ticks: [Double]

        /// Three to seven ticks covering `values` (0 to 1 when there are none).
        init(values: [Double]) {
            var lo = values.min() ?? 0
            var hi = values.max() ?? 1
            if hi - lo <= abs(hi) * 1e-12 || !(hi - lo).isFinite {
                let pad = lo == 0 ? 1 : abs(lo) * 0.1
                lo -= pad
                hi += pad
            }
            step = Axis.niceStep((hi - lo) / 6)
            low = (lo / step).rounded(.down) * step
            high = (hi / step).rounded(.up) * step
            ticks = Axis.ticks(from: low, to: high, step: step)
        }

        /// Integer ticks (at least 1 apart, about eight of them) spanning `values` exactly; a single
        /// value gets `padSingle` either side.
        init(integerValues values: [Double], padSingle: Double) {
            let lo = values.min() ?? 0
            let hi = values.max() ?? 1
            if hi > lo {
                low = lo
                high = hi
                step = max(1, Axis.niceStep((hi - lo) / 8))
            } else {
                low = lo - padSingle
                high = hi + padSingle
                step = 1
            }
            ticks = Axis.ticks(from: (low / step).rounded(.up) * step, to: high, step: step)
        }

        /// 1, 2 or 5 times a power of ten, at least `raw`.
        static func niceStep(_ raw: Double) -> Double {
            guard raw > 0, raw.isFinite else { return 1 }
            let power = pow(10, (log10(raw)).rounded(.down))
            let fraction = raw / power
            let nice: Double = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10
            return nice * power
        }

        /// `from`, `from + step`, ... up to `to` (with a little slack for rounding), at most 50 of them.
        static func ticks(from: Double, to: Double, step: Double) -> [Double] {
            let first = (from / step).rounded()
            var ticks: [Double] = []
            var i = 0.0
            while ticks.count < 50 {
                let value = (first + i) * step
                if value > to + step * 1e-9 { break }
                ticks.append(value)
                i += 1
            }
            return ticks
        }
    }
}
