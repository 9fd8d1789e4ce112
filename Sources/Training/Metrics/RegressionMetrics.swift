#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How close a regression model's predictions come to the actual targets: per target the mean
/// absolute error, root mean squared error, R² and the spread of the residuals; overall MAE and
/// RMSE over every element and the mean R². Every sum runs in `Double`, in row order, so the same
/// inputs always give bitwise the same numbers.
///
/// ```swift
/// let m = try RegressionMetrics(targetNames: ["price"], actual: [1, 2, 3], predicted: [1.5, 2, 2])
/// m.mae          // 0.5
/// m.perTarget[0].residuals.median   // 0
/// print(m.table())
/// ```
public struct RegressionMetrics: Sendable {
    /// One target's scores.
    public struct TargetScores: Sendable {
        /// The target's name.
        public let name: String
        /// Mean of `|predicted - actual|`.
        public let mae: Double
        /// Square root of the mean of `(predicted - actual)²`.
        public let rmse: Double
        /// `1 - SS_res / SS_tot` (residual over total sum of squares around the actual mean). For a
        /// constant actual column (`SS_tot` = 0): 1 when every prediction is exact, else 0, as
        /// scikit-learn's `r2_score` with `force_finite=True`.
        public let r2: Double
        /// Distribution of the residuals `predicted - actual`.
        public let residuals: Spread
    }

    /// Summary of a set of values: mean, population standard deviation (divided by the count, as
    /// numpy's `std`), and the 0, 25, 50, 75 and 100 % quantiles by linear interpolation between
    /// the sorted values (numpy's default `quantile` method: position `q (n - 1)`).
    public struct Spread: Sendable {
        public let mean: Double
        public let standardDeviation: Double
        public let minimum: Double
        public let q25: Double
        public let median: Double
        public let q75: Double
        public let maximum: Double

        /// The spread of `values` (not empty).
        init(_ values: [Double]) {
            let n = Double(values.count)
            var sum = 0.0
            for v in values { sum += v }
            let mean = sum / n
            var squares = 0.0
            for v in values { squares += (v - mean) * (v - mean) }
            let sorted = values.sorted()
            func quantile(_ q: Double) -> Double {
                let position = q * Double(sorted.count - 1)
                let below = Int(position.rounded(.down))
                let above = min(below + 1, sorted.count - 1)
                let fraction = position - Double(below)
                return sorted[below] + (sorted[above] - sorted[below]) * fraction
            }
            self.mean = mean
            standardDeviation = (squares / n).squareRoot()
            minimum = sorted[0]
            q25 = quantile(0.25)
            median = quantile(0.5)
            q75 = quantile(0.75)
            maximum = sorted[sorted.count - 1]
        }
    }

    /// Scores of every target, in target order.
    public let perTarget: [TargetScores]
    /// Mean absolute error over every element (all rows, all targets).
    public let mae: Double
    /// Root mean squared error over every element. (scikit-learn's default for several targets
    /// averages per-target RMSEs instead; with one target the two agree.)
    public let rmse: Double
    /// Unweighted mean of the per-target R² (scikit-learn's default `multioutput="uniform_average"`).
    public let r2: Double

    /// Scores `actual.count / targetNames.count` rows.
    ///
    /// - Parameters:
    ///   - targetNames: one name per target (at least one).
    ///   - actual: rows of `targetNames.count` actual values, row-major, in the targets' own units
    ///     (undo any scaling first).
    ///   - predicted: the model's predictions, laid out like `actual`.
    /// - Throws: `MetricsError` when there are no rows or targets, when the sizes do not fit or a
    ///   value is NaN or infinite (naming the row and column).
    public init(targetNames: [String], actual: [Double], predicted: [Double]) throws {
        let k = targetNames.count
        guard k > 0 else { throw MetricsError.shapeMismatch("no target names") }
        guard !actual.isEmpty else { throw MetricsError.shapeMismatch("no rows to score") }
        guard actual.count % k == 0 else {
            throw MetricsError.shapeMismatch("\(actual.count) actual values are not whole rows of \(k) targets")
        }
        guard predicted.count == actual.count else {
            throw MetricsError.shapeMismatch("\(predicted.count) predicted values for \(actual.count) actual values "
                                             + "(\(actual.count / k) rows of \(k) targets)")
        }
        for (i, v) in actual.enumerated() where !v.isFinite {
            throw MetricsError.notFinite(what: "actual", row: i / k, column: i % k, value: v)
        }
        for (i, v) in predicted.enumerated() where !v.isFinite {
            throw MetricsError.notFinite(what: "predicted", row: i / k, column: i % k, value: v)
        }
        let n = actual.count / k

        var scores: [TargetScores] = []
        var absoluteSum = 0.0
        var squaredSum = 0.0
        var r2Sum = 0.0
        for t in 0..<k {
            var residuals = [Double](repeating: 0, count: n)
            var actualSum = 0.0
            for row in 0..<n {
                residuals[row] = predicted[row * k + t] - actual[row * k + t]
                actualSum += actual[row * k + t]
            }
            let actualMean = actualSum / Double(n)
            var absolute = 0.0
            var squared = 0.0
            var total = 0.0
            for row in 0..<n {
                let r = residuals[row]
                absolute += abs(r)
                squared += r * r
                let d = actual[row * k + t] - actualMean
                total += d * d
            }
            let r2: Double = squared == 0 ? 1 : total == 0 ? 0 : 1 - squared / total
            scores.append(TargetScores(name: targetNames[t], mae: absolute / Double(n),
                                       rmse: (squared / Double(n)).squareRoot(), r2: r2,
                                       residuals: Spread(residuals)))
            absoluteSum += absolute
            squaredSum += squared
            r2Sum += r2
        }
        perTarget = scores
        mae = absoluteSum / Double(actual.count)
        rmse = (squaredSum / Double(actual.count)).squareRoot()
        r2 = r2Sum / Double(k)
    }
}
