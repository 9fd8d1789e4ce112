/// Why a graph could not be compiled or a run did not complete.
public enum SchedulerError: Error, Equatable, CustomStringConvertible {
    /// The graph has a cycle; `task` names one task on it (and `index` is its index).
    case cycle(task: String, index: Int)
    /// An edge joins tasks of two different graphs.
    case foreignTask(operation: String, task: String)
    /// The run was cancelled before it completed.
    case cancelled
    /// The executor was shut down before the run could start (`Executor.shutdown()` or deinit).
    case shutDown
    /// `limit` runs were already in progress at once (the run table is full); the run did not
    /// start. Wait for some runs to finish, or bound how many you keep in flight.
    case tooManyRuns(limit: Int)
    /// An argument was out of range (for example a worker count below 1).
    case invalidArgument(String)

    public var description: String {
        switch self {
        case let .cycle(task, index): "task graph has a cycle through task '\(task)' (#\(index))"
        case let .foreignTask(operation, task): "\(operation): task '\(task)' belongs to another graph"
        case .cancelled: "the run was cancelled"
        case .shutDown: "the executor was shut down"
        case let .tooManyRuns(limit): "too many runs in progress: all \(limit) slots of the run table are taken; wait for runs to finish"
        case let .invalidArgument(message): message
        }
    }
}
