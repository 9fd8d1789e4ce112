import Tensor

/// How a trained model performs on a data set: classification metrics (accuracy, per-class
/// precision/recall/F1, log loss, ROC AUC for binary tasks, the confusion matrix) or regression
/// metrics (MAE, RMSE, R² per target and overall, in the targets' own units, and the residuals).
///
/// ```swift
/// let test = try trainer.evaluate(testSet)
/// let analysis = try ModelAnalysis(test, of: testSet, loss: .crossEntropy, preprocessor: prep)
/// print(analysis.table())
/// ```
public enum ModelAnalysis: Sendable {
    case classification(ClassificationMetrics)
    case regression(RegressionMetrics)

    /// Metrics of `evaluation` (the trainer's predictions over `data`). `preprocessor` supplies class
    /// and target names and the targets' units (nil: names are numbers, units as fed).
    public init(_ evaluation: Trainer<some TensorScalar>.Evaluation, of data: Dataset, loss: Loss,
                preprocessor: Preprocessor? = nil) throws {
        let width = evaluation.predictionWidth
        if data.task.isClassification {
            let names = preprocessor?.target.classNames ?? (0..<data.classCount).map(String.init)
            var probabilities: [Double] = []
            probabilities.reserveCapacity(data.count * names.count)
            for r in 0..<data.count {
                let p = loss.probabilities(row: evaluation.predictions[(r * width)..<((r + 1) * width)])
                probabilities.append(contentsOf: (0..<names.count).map { $0 < p.count ? p[$0] : 0 })
            }
            self = .classification(try ClassificationMetrics(classNames: names, actual: data.targets.map { Int($0) },
                                                             probabilities: probabilities))
        } else {
            let names = preprocessor?.target.names ?? (0..<data.targetCount).map { "target\($0)" }
            let units: ([Double]) -> [Double] = { preprocessor?.targetsInOriginalUnits($0) ?? $0 }
            self = .regression(try RegressionMetrics(targetNames: names, actual: units(data.targets),
                                                     predicted: units(evaluation.predictions)))
        }
    }

    /// The printable report.
    public func table() -> String {
        switch self {
        case let .classification(m): m.table()
        case let .regression(m): m.table()
        }
    }

    /// Named figures for `--json` (`test_accuracy`, `test_f1_macro`, `test_auc`, `test_r2`, ...).
    public func jsonFields(prefix: String) -> [(key: String, value: Double)] {
        switch self {
        case let .classification(m): m.jsonFields(prefix: prefix)
        case let .regression(m): m.jsonFields(prefix: prefix)
        }
    }

    /// The main figure: accuracy or R².
    public var mainMetric: Double {
        switch self {
        case let .classification(m): m.accuracy
        case let .regression(m): m.r2
        }
    }
}
