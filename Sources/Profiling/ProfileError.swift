import Scheduler

/// Why a `Profile` could not be built or written; each case names the tasks or events at fault.
public enum ProfileError: Error, Equatable, CustomStringConvertible {
    /// An event or edge refers to a task index outside `0..<taskCount`.
    case unknownTask(index: Int, taskCount: Int, context: String)
    /// An event ends before it begins.
    case negativeDuration(task: String, run: Int, beginNanos: UInt64, endNanos: UInt64)
    /// A task ran twice in the same run.
    case duplicateTask(task: String, run: Int)
    /// Two events on one worker overlap without one containing the other.
    case overlappingEvents(worker: Int, first: String, second: String)
    /// The dependency edges form a cycle through this task.
    case cycle(task: String)
    /// Writing a file failed.
    case writeFailed(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unknownTask(index, count, context):
            "profile: \(context) refers to task \(index), but the graph has \(count) tasks"
        case let .negativeDuration(task, run, b, e):
            "profile: task '\(task)' in run \(run) ends (\(e) ns) before it begins (\(b) ns)"
        case let .duplicateTask(task, run):
            "profile: task '\(task)' appears twice in run \(run)"
        case let .overlappingEvents(worker, first, second):
            "profile: on worker \(worker), '\(first)' and '\(second)' overlap without nesting"
        case let .cycle(task):
            "profile: the dependency edges form a cycle through task '\(task)'"
        case let .writeFailed(path, reason):
            "profile: cannot write \(path): \(reason)"
        }
    }
}
