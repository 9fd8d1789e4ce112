import Foundation

extension LearningCurves {
    /// Colours of the training and held-out series (blue and orange: told apart with most colour
    /// vision deficiencies).
    static let trainColor = "#1f77b4"
    static let heldOutColor = "#ff7f0e"

    /// The learning-curves page: `title`, a table of `facts` (data set, model, loss, optimizer...)
    /// followed by the number of epochs and the best one, a chart of the loss per epoch and one of
    /// the metric per epoch (training and held-out series, the best epoch marked), and a table of
    /// every epoch. Self-contained: inline CSS and SVG, no script, nothing fetched from elsewhere;
    /// every piece of text is escaped.
    public func html(title: String, facts: [(String, String)]) -> String {
        let e = HTMLText.escape
        let sorted = epochs.enumerated().sorted { ($0.element.epoch, $0.offset) < ($1.element.epoch, $1.offset) }
            .map(\.element)
        let heldOut = heldOutName.isEmpty ? "held-out" : heldOutName
        let metric = metricName.isEmpty ? "metric" : metricName

        var page = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(e(title))</title>
            <style>
            body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px; color: #222222; }
            h1 { font-size: 1.5em; }
            h2 { font-size: 1.15em; margin-top: 1.6em; }
            table { border-collapse: collapse; }
            th, td { padding: 3px 12px; border-bottom: 1px solid #dddddd; }
            table.facts th { text-align: left; font-weight: 600; }
            table.epochs td { text-align: right; font-variant-numeric: tabular-nums; }
            table.epochs th { text-align: right; }
            tr.best td { background: #e8f5e9; font-weight: 600; }
            svg.chart { max-width: 100%; height: auto; }
            svg.chart text { font-size: 12px; fill: #333333; }
            svg.chart text.axis { font-size: 13px; }
            svg.chart text.empty { fill: #888888; }
            </style>
            </head>
            <body>
            <h1>\(e(title))</h1>

            """

        var rows = facts
        let totalSeconds = sorted.reduce(0.0) { $0 + $1.seconds }
        rows.append(("epochs", "\(sorted.count) (\(String(format: "%.2f", totalSeconds)) s)"))
        if let bestEpoch {
            var text = "\(bestEpoch)"
            if let best = sorted.first(where: { $0.epoch == bestEpoch }) {
                var parts: [String] = []
                if let loss = best.heldOutLoss { parts.append("\(heldOut) loss \(HTMLText.number(loss))") }
                if let value = best.heldOutMetric { parts.append("\(heldOut) \(metric) \(HTMLText.number(value))") }
                if !parts.isEmpty { text += " (" + parts.joined(separator: ", ") + ")" }
            }
            rows.append(("best epoch", text))
        }
        page += "<table class=\"facts\">\n"
        for (key, value) in rows { page += "<tr><th>\(e(key))</th><td>\(e(value))</td></tr>\n" }
        page += "</table>\n"

        let marker = bestEpoch.map { (x: Double($0), label: "best epoch (\($0))") }
        let lossChart = SVGLineChart(
            title: "loss per epoch", xLabel: "epoch", yLabel: "loss",
            series: [.init(name: "train", color: Self.trainColor, points: sorted.map { (Double($0.epoch), $0.trainLoss) }),
                     .init(name: heldOut, color: Self.heldOutColor, points: sorted.map { (Double($0.epoch), $0.heldOutLoss) })],
            marker: marker)
        let metricChart = SVGLineChart(
            title: "\(metric) per epoch", xLabel: "epoch", yLabel: metric,
            series: [.init(name: "train", color: Self.trainColor, points: sorted.map { (Double($0.epoch), $0.trainMetric) }),
                     .init(name: heldOut, color: Self.heldOutColor, points: sorted.map { (Double($0.epoch), $0.heldOutMetric) })],
            marker: marker)
        page += "<h2>Loss per epoch</h2>\n" + lossChart.svg()
        page += "<h2>\(e(metric.prefix(1).uppercased() + metric.dropFirst())) per epoch</h2>\n" + metricChart.svg()

        // The table leaves out the columns nothing was measured for.
        var columns: [(String, (Epoch) -> Double?)] = [("train loss", { $0.trainLoss })]
        if sorted.contains(where: { $0.heldOutLoss != nil }) { columns.append(("\(heldOut) loss", { $0.heldOutLoss })) }
        if sorted.contains(where: { $0.trainMetric != nil }) { columns.append(("train \(metric)", { $0.trainMetric })) }
        if sorted.contains(where: { $0.heldOutMetric != nil }) { columns.append(("\(heldOut) \(metric)", { $0.heldOutMetric })) }
        page += "<h2>Epochs</h2>\n<table class=\"epochs\">\n<tr><th>epoch</th>"
        page += columns.map { "<th>\(e($0.0))</th>" }.joined() + "<th>seconds</th></tr>\n"
        for epoch in sorted {
            let best = epoch.epoch == bestEpoch
            page += best ? "<tr class=\"best\"><td>\(epoch.epoch) (best)</td>" : "<tr><td>\(epoch.epoch)</td>"
            page += columns.map { "<td>\($0.1(epoch).map(HTMLText.number) ?? "&ndash;")</td>" }.joined()
            page += "<td>\(String(format: "%.2f", epoch.seconds))</td></tr>\n"
        }
        page += "</table>\n</body>\n</html>\n"
        return page
    }
}
