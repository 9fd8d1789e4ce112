/// Why predictions and targets could not be scored: the arrays do not fit together, or hold a
/// value that cannot be scored. Rows and columns are counted from 0, as array indices are.
public enum MetricsError: Error, Equatable, CustomStringConvertible {
    /// The array sizes or names do not describe rows of predictions (the message gives the sizes).
    case shapeMismatch(String)
    /// An actual class label is outside `0..<classCount`.
    case labelOutOfRange(row: Int, label: Int, classCount: Int)
    /// A value is NaN or infinite; `what` names the array ("probabilities", "actual", "predicted").
    case notFinite(what: String, row: Int, column: Int, value: Double)

    public var description: String {
        switch self {
        case let .shapeMismatch(message): "metrics: \(message)"
        case let .labelOutOfRange(row, label, classCount):
            "metrics: row \(row) (from 0): actual label \(label) is outside 0..<\(classCount)"
        case let .notFinite(what, row, column, value):
            "metrics: \(what) row \(row), column \(column) (from 0): \(value) is not a finite number"
        }
    }
}
