/// What a model predicts, which decides the target encoding, the default loss and the metrics.
///
/// ```swift
/// let task = LearningTask(rawValue: "binary")!     // one logit per target, BCE, ROC AUC
/// task.defaultLoss                                  // .binaryCrossEntropy
/// ```
public enum LearningTask: String, Sendable, CaseIterable, Codable {
    /// Real-valued targets (one or several columns); MSE by default; MAE, RMSE and R² reported.
    case regression
    /// Two classes: one logit per row, BCE by default; accuracy, F1 and ROC AUC reported.
    case binary
    /// Three or more classes (or two, with one logit each): softmax cross-entropy by default.
    case multiclass

    /// The loss a model of this task trains on unless told otherwise.
    public var defaultLoss: Loss {
        switch self {
        case .regression: .meanSquaredError
        case .binary: .binaryCrossEntropy
        case .multiclass: .crossEntropy
        }
    }

    /// Whether targets are classes (binary or multiclass).
    public var isClassification: Bool { self != .regression }
}
