import Tensor
/// Why a checkpoint could not be written, read or used.
public enum CheckpointError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(file: String, reason: String)
    /// Writing (or syncing, or renaming into place) failed; the previous checkpoint is untouched.
    case writeFailed(file: String, reason: String)
    /// The file does not start with the checkpoint magic bytes.
    case notACheckpoint(file: String)
    /// The file is a checkpoint of a format version this build does not read.
    case unsupportedVersion(file: String, found: UInt32, supported: UInt32)
    /// The file is shorter than its header says (an interrupted copy, a cut download).
    case truncated(file: String, expectedBytes: Int, foundBytes: Int)
    /// The stored checksum does not match the contents (the file was corrupted).
    case checksumMismatch(file: String, stored: UInt64, computed: UInt64)
    /// The contents are inconsistent at `offset` although the checksum matches (a writer bug).
    case malformed(file: String, offset: Int, reason: String)
    /// The checkpoint does not fit the model or optimizer it is loaded into.
    case mismatch(String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "checkpoint \(file): cannot read: \(reason)"
        case let .writeFailed(file, reason): "checkpoint \(file): cannot write: \(reason)"
        case let .notACheckpoint(file): "checkpoint \(file): not a checkpoint file (bad magic bytes)"
        case let .unsupportedVersion(file, found, supported):
            "checkpoint \(file): format version \(found), this build reads version \(supported)"
        case let .truncated(file, expected, found):
            "checkpoint \(file): truncated: \(found) bytes, the header promises \(expected)"
        case let .checksumMismatch(file, stored, computed):
            "checkpoint \(file): corrupt: checksum \(hex(stored)) stored, \(hex(computed)) computed"
        case let .malformed(file, offset, reason): "checkpoint \(file): malformed at byte \(offset): \(reason)"
        case let .mismatch(reason): "checkpoint does not match: \(reason)"
        }
    }

    private func hex(_ v: UInt64) -> String {
        let digits = String(v, radix: 16)
        return "0x" + String(repeating: "0", count: 16 - digits.count) + digits
    }
}
