#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// How well a classifier's predicted probabilities fit the actual classes: the confusion matrix,
/// accuracy, per-class and macro-averaged precision, recall and F1, log loss and, for two classes,
/// the area under the ROC curve. Computed the way scikit-learn does (see each property), so the
/// numbers can be compared with a Python notebook's.
///
/// ```swift
/// let m = try ClassificationMetrics(classNames: ["no", "yes"], actual: [0, 1, 1],
///                                   probabilities: [0.9, 0.1,  0.2, 0.8,  0.6, 0.4])
/// print(m.table())           // per-class scores, macro average, accuracy, log loss, AUC, confusion
/// m.accuracy                 // 2/3
/// m.jsonFields(prefix: "test_")   // [("test_accuracy", 0.667), ("test_precision_macro", ...), ...]
/// ```
public struct ClassificationMetrics: Sendable {
    /// One class's scores; the rule for empty denominators is scikit-learn's `zero_division=0`.
    public struct ClassScores: Sendable {
        /// The class's name.
        public let name: String
        /// Correct predictions of the class over all predictions of it (0 when it is never predicted).
        public let precision: Double
        /// Correct predictions of the class over its actual samples (0 when it has none).
        public let recall: Double
        /// Harmonic mean of precision and recall, `2 tp / (predicted + support)` (0 when both are 0).
        public let f1: Double
        /// Actual samples of the class.
        public let support: Int
    }

    /// The class names; class `i` (a label, a probability column) is `classNames[i]`.
    public let classNames: [String]
    /// Actual classes (rows) against predicted classes (columns); the prediction is the most
    /// probable class, the first one on ties.
    public let confusion: ConfusionMatrix
    /// Scores of every class, in class order (also the classes left out of the macro averages).
    public let perClass: [ClassScores]
    /// Unweighted means of the per-class scores over scikit-learn's label set: the classes that
    /// occur in `actual` or among the predictions. A class with no samples that is never predicted
    /// has no bearing on the model and is left out; a class predicted but without samples counts
    /// (with recall 0), as does one with samples that is never predicted (with precision 0).
    public let macroPrecision: Double
    /// See `macroPrecision`.
    public let macroRecall: Double
    /// See `macroPrecision`.
    public let macroF1: Double
    /// Mean over rows of `-log(p)`, `p` the probability given to the actual class clamped to
    /// `[1e-15, 1 - 1e-15]` (as scikit-learn's `log_loss`; rows are taken as given, not renormalized).
    public let logLoss: Double
    /// For two classes: the area under the ROC curve of `p(class 1)` as a score for "actual is
    /// class 1", i.e. the chance that a random class-1 row scores above a random class-0 row, ties
    /// counting one half (the Mann-Whitney U statistic). Nil with other class counts, or when one
    /// of the two classes does not occur in `actual`.
    public let rocAUC: Double?
    /// The classes the macro averages are over (see `macroPrecision`), ascending.
    let averagedClasses: [Int]

    /// Share of rows whose predicted class is the actual one.
    public var accuracy: Double { confusion.accuracy }

    /// Scores `actual.count` rows.
    ///
    /// - Parameters:
    ///   - classNames: one name per class (at least one).
    ///   - actual: each row's actual class, in `0..<classNames.count`.
    ///   - probabilities: `actual.count` rows of `classNames.count` probabilities, row-major
    ///     (softmax outputs; for a binary model with output `p`, rows `[1 - p, p]`). All finite.
    /// - Throws: `MetricsError` when there are no rows or no classes, when the sizes do not fit,
    ///   when a label is out of range or a probability is NaN or infinite (naming the row).
    public init(classNames: [String], actual: [Int], probabilities: [Double]) throws {
        let k = classNames.count
        let n = actual.count
        guard k > 0 else { throw MetricsError.shapeMismatch("no class names") }
        guard n > 0 else { throw MetricsError.shapeMismatch("no rows to score") }
        guard probabilities.count == n * k else {
            throw MetricsError.shapeMismatch("\(probabilities.count) probabilities for \(n) rows of \(k) classes "
                                             + "(expected \(n * k))")
        }
        for (row, label) in actual.enumerated() where label < 0 || label >= k {
            throw MetricsError.labelOutOfRange(row: row, label: label, classCount: k)
        }
        for (i, p) in probabilities.enumerated() where !p.isFinite {
            throw MetricsError.notFinite(what: "probabilities", row: i / k, column: i % k, value: p)
        }

        var confusion = ConfusionMatrix(classCount: k)
        var lossSum = 0.0
        for row in 0..<n {
            let base = row * k
            var best = 0
            for c in 1..<k where probabilities[base + c] > probabilities[base + best] { best = c }
            confusion.add(actual: actual[row], predicted: best)
            let p = min(max(probabilities[base + actual[row]], 1e-15), 1 - 1e-15)
            lossSum -= log(p)
        }
        self.classNames = classNames
        self.confusion = confusion
        logLoss = lossSum / Double(n)

        var scores: [ClassScores] = []
        var averaged: [Int] = []
        for c in 0..<k {
            let truePositives = confusion[c, c]
            var support = 0
            var predicted = 0
            for other in 0..<k {
                support += confusion[c, other]
                predicted += confusion[other, c]
            }
            let precision = predicted > 0 ? Double(truePositives) / Double(predicted) : 0
            let recall = support > 0 ? Double(truePositives) / Double(support) : 0
            let f1 = predicted + support > 0 ? 2 * Double(truePositives) / Double(predicted + support) : 0
            scores.append(ClassScores(name: classNames[c], precision: precision, recall: recall, f1: f1,
                                      support: support))
            if predicted + support > 0 { averaged.append(c) }
        }
        perClass = scores
        averagedClasses = averaged
        // n > 0, so some class has support: the label set is never empty.
        let count = Double(averaged.count)
        macroPrecision = averaged.reduce(0.0) { $0 + scores[$1].precision } / count
        macroRecall = averaged.reduce(0.0) { $0 + scores[$1].recall } / count
        macroF1 = averaged.reduce(0.0) { $0 + scores[$1].f1 } / count

        rocAUC = k == 2 ? ClassificationMetrics.rocAUC(scores: (0..<n).map { probabilities[$0 * 2 + 1] },
                                                        positive: actual.map { $0 == 1 }) : nil
    }

    /// The Mann-Whitney AUC of `scores` for the rows where `positive` is true against the others:
    /// rank all scores ascending (tied scores share their mean rank), then
    /// `(sum of positive ranks - P (P + 1) / 2) / (P N)`. Nil when P or N is 0. O(n log n).
    static func rocAUC(scores: [Double], positive: [Bool]) -> Double? {
        let positives = positive.reduce(0) { $0 + ($1 ? 1 : 0) }
        let negatives = positive.count - positives
        guard positives > 0, negatives > 0 else { return nil }
        let order = scores.indices.sorted { scores[$0] < scores[$1] }
        var positiveRankSum = 0.0
        var start = 0
        while start < order.count {
            var end = start + 1
            while end < order.count && scores[order[end]] == scores[order[start]] { end += 1 }
            // Rows start..<end tie; their ranks (from 1) are start+1 ... end, with mean (start+1+end)/2.
            let meanRank = Double(start + 1 + end) / 2
            for i in start..<end where positive[order[i]] { positiveRankSum += meanRank }
            start = end
        }
        let p = Double(positives)
        return (positiveRankSum - p * (p + 1) / 2) / (p * Double(negatives))
    }
}
