/// A training setup that cannot work: a loss that does not fit the task, data that does not fit the
/// model or its preprocessing. The message names the option, column or shapes. (Models that cannot
/// be built throw `ModelSpecError`.)
public enum TrainingError: Error, Equatable, CustomStringConvertible {
    /// The loss cannot train this kind of target (BCE on 5 classes, MSE on class labels).
    case lossDoesNotFit(String)
    /// The data does not fit the model or the preprocessing (missing columns, text in a numeric target).
    case invalidData(String)

    public var description: String {
        switch self {
        case let .lossDoesNotFit(m), let .invalidData(m): m
        }
    }
}
