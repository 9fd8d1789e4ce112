extension ClassificationMetrics {
    /// A printable report: one row per class (precision, recall, F1, support), the macro average,
    /// accuracy, log loss and ROC AUC (when there is one), then the confusion matrix labelled with
    /// the class names. With more than `maxClasses` classes (a character-level model's vocabulary),
    /// only the `maxClasses` classes of most support get a row and the matrix is left out (the
    /// averages still cover every class).
    ///
    /// ```
    /// class      precision  recall      f1  support
    /// no            1.0000  1.0000  1.0000        1
    /// ...
    /// ```
    public func table(maxClasses: Int = 20) -> String {
        let rows = confusion.total
        var cells: [[String]] = [["class", "precision", "recall", "f1", "support"]]
        let many = classNames.count > maxClasses
        let shown = many ? perClass.indices.sorted { perClass[$0].support > perClass[$1].support }.prefix(maxClasses).sorted()
                         : Array(perClass.indices)
        for s in shown.map({ perClass[$0] }) {
            cells.append([s.name, MetricsText.number(s.precision), MetricsText.number(s.recall),
                          MetricsText.number(s.f1), String(s.support)])
        }
        cells.append(["macro avg", MetricsText.number(macroPrecision), MetricsText.number(macroRecall),
                      MetricsText.number(macroF1), String(rows)])
        var text = MetricsText.columns(cells)
        if many { text += "(rows for the \(maxClasses) of \(classNames.count) classes with the most support)\n" }
        if averagedClasses.count < classNames.count {
            let left = classNames.indices.filter { !averagedClasses.contains($0) }.map { classNames[$0] }
            text += "(macro avg over \(averagedClasses.count) of \(classNames.count) classes; left out, "
                + "neither present nor predicted: \(left.joined(separator: ", ")))\n"
        }
        text += "\naccuracy:  \(MetricsText.number(accuracy)) (\(diagonal) of \(rows) rows)\n"
        text += "log loss:  \(MetricsText.number(logLoss))\n"
        if let rocAUC { text += "ROC AUC:   \(MetricsText.number(rocAUC))\n" }
        if many { return text + "(confusion matrix of \(classNames.count) classes not printed)\n" }
        text += "\nconfusion matrix (rows: actual class, columns: predicted class):\n"
        text += confusion.description(classNames: classNames)
        return text
    }

    /// The summary scores as JSON fields named `prefix` + `accuracy`, `precision_macro`,
    /// `recall_macro`, `f1_macro`, `log_loss` and, when `rocAUC` is not nil, `auc`.
    ///
    /// ```swift
    /// m.jsonFields(prefix: "test_").map(\.key)   // ["test_accuracy", "test_precision_macro", ...]
    /// ```
    public func jsonFields(prefix: String) -> [(key: String, value: Double)] {
        var fields: [(key: String, value: Double)] = [
            (prefix + "accuracy", accuracy),
            (prefix + "precision_macro", macroPrecision),
            (prefix + "recall_macro", macroRecall),
            (prefix + "f1_macro", macroF1),
            (prefix + "log_loss", logLoss),
        ]
        if let rocAUC { fields.append((prefix + "auc", rocAUC)) }
        return fields
    }

    /// Rows predicted correctly.
    private var diagonal: Int { (0..<confusion.classCount).reduce(0) { $0 + confusion[$1, $1] } }
}
