import Tensor
/// What went wrong while reading or building a dataset; the description names the file, the line
/// and the column (both counted from 1, as editors do).
public enum DatasetError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened or read.
    case unreadable(file: String, reason: String)
    /// The file holds no data rows (it is empty, blank, or only a header).
    case empty(file: String)
    /// A row has another number of fields than the first data row.
    case raggedRow(file: String, line: Int, expected: Int, found: Int)
    /// A feature field is not a (finite) number.
    case notANumber(file: String, line: Int, column: Int, text: String)
    /// The label field is not a non-negative integer.
    case labelNotAnInteger(file: String, line: Int, column: Int, text: String)
    /// The label is an integer outside `0..<classCount` (negative when `classCount` is nil: not given).
    case labelOutOfRange(file: String, line: Int, column: Int, label: Int, classCount: Int?)
    /// The label column does not exist in the file's rows.
    case labelColumnOutOfRange(file: String, labelColumn: Int, columns: Int)
    /// A data row has another number of fields than the header names columns.
    case headerMismatch(file: String, line: Int, headerLine: Int, expected: Int, found: Int)
    /// A double-quoted field is not closed on its line (quoted fields cannot span lines).
    case unterminatedQuote(file: String, line: Int, column: Int)
    /// Text other than spaces follows the closing quote of a double-quoted field.
    case textAfterQuote(file: String, line: Int, column: Int)
    /// Two header fields name the same column (columns counted from 1).
    case duplicateColumnName(file: String, line: Int, name: String, first: Int, second: Int)
    /// A report or other output file could not be written; nothing was left half-written.
    case writeFailed(file: String, reason: String)
    /// Arrays or options that do not describe a dataset.
    case invalid(String)

    public var description: String {
        switch self {
        case let .unreadable(file, reason): "\(file): cannot read: \(reason)"
        case let .empty(file): "\(file): no data rows"
        case let .raggedRow(file, line, expected, found):
            "\(file):\(line): ragged row: \(found) fields, expected \(expected) like the first data row"
        case let .notANumber(file, line, column, text):
            "\(file):\(line): column \(column): '\(text)' is not a number"
        case let .labelNotAnInteger(file, line, column, text):
            "\(file):\(line): column \(column): label '\(text)' is not a non-negative integer"
        case let .labelOutOfRange(file, line, column, label, classCount?):
            "\(file):\(line): column \(column): label \(label) is outside 0..<\(classCount)"
        case let .labelOutOfRange(file, line, column, label, nil):
            "\(file):\(line): column \(column): label \(label) is negative"
        case let .labelColumnOutOfRange(file, labelColumn, columns):
            "\(file): label column \(labelColumn) (counted from 0) does not exist: rows have \(columns) columns"
        case let .headerMismatch(file, line, headerLine, expected, found):
            "\(file):\(line): \(found) fields, but the header (line \(headerLine)) names \(expected) columns"
        case let .unterminatedQuote(file, line, column):
            "\(file):\(line):\(column): quoted field is not closed on its line (quoted fields cannot span lines)"
        case let .textAfterQuote(file, line, column):
            "\(file):\(line):\(column): text after the closing quote of a quoted field (write a quote inside quotes as \"\")"
        case let .duplicateColumnName(file, line, name, first, second):
            "\(file):\(line): columns \(first) and \(second) are both named '\(name)'"
        case let .writeFailed(file, reason): "\(file): cannot write: \(reason)"
        case let .invalid(message): "dataset: \(message)"
        }
    }
}
