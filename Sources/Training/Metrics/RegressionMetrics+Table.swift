extension RegressionMetrics {
    /// A printable report: one row per target (MAE, RMSE, R², then the residuals' mean, standard
    /// deviation, minimum, quartiles and maximum), and an overall row when there are several targets.
    public func table() -> String {
        var cells: [[String]] = [["target", "MAE", "RMSE", "R²", "resid mean", "std", "min", "q25", "median", "q75", "max"]]
        for s in perTarget {
            let r = s.residuals
            cells.append([s.name] + [s.mae, s.rmse, s.r2, r.mean, r.standardDeviation, r.minimum, r.q25, r.median,
                                     r.q75, r.maximum].map { MetricsText.number($0) })
        }
        if perTarget.count > 1 {
            cells.append(["all"] + [mae, rmse, r2].map { MetricsText.number($0) })
        }
        var text = MetricsText.columns(cells)
        text += "(residual = predicted - actual"
        text += perTarget.count > 1 ? "; overall MAE and RMSE over every element, R² the mean over targets)\n" : ")\n"
        return text
    }

    /// The overall scores as JSON fields named `prefix` + `mae`, `rmse` and `r2`.
    ///
    /// ```swift
    /// m.jsonFields(prefix: "test_").map(\.key)   // ["test_mae", "test_rmse", "test_r2"]
    /// ```
    public func jsonFields(prefix: String) -> [(key: String, value: Double)] {
        [(prefix + "mae", mae), (prefix + "rmse", rmse), (prefix + "r2", r2)]
    }
}
