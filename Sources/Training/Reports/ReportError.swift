/// Why a report could not be written.
public enum ReportError: Error, Equatable, CustomStringConvertible {
    /// Creating the directory or writing (syncing, renaming into place) the file failed; a previous
    /// file at that path is untouched.
    case writeFailed(file: String, reason: String)

    public var description: String {
        switch self {
        case let .writeFailed(file, reason): "report \(file): cannot write: \(reason)"
        }
    }
}
