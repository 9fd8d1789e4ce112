import Tensor
import Foundation

/// How to read a CSV table into a `Dataset`.
///
/// ```swift
/// // iris: a header line, the label in the last column, three classes
/// let iris = try Dataset(csvFile: "Data/iris.csv", options: CSVOptions(header: .present, classCount: 3))
/// ```
public struct CSVOptions: Sendable, Equatable {
    /// Whether the first non-blank line names the columns.
    public enum Header: Sendable, Equatable {
        /// A header when any of its fields is not a number (so a numeric header must be declared `.present`).
        case automatic
        /// The first non-blank line is a header and is skipped.
        case present
        /// Every line is data.
        case absent
    }

    /// Whether the first line is a header.
    public var header: Header
    /// The label column, counted from 0; `nil` means the last column.
    public var labelColumn: Int?
    /// The number of classes; `nil` infers it as the largest label + 1 (at most `maxInferredClasses`).
    public var classCount: Int?
    /// The field separator (one ASCII character).
    public var separator: Character

    /// Labels above this bound are rejected when `classCount` is inferred (a stray value would
    /// otherwise make a huge output layer or confusion matrix).
    public static let maxInferredClasses = 65_536

    /// Options; the defaults read a headerless or headed table with the label in the last column.
    public init(header: Header = .automatic, labelColumn: Int? = nil, classCount: Int? = nil, separator: Character = ",") {
        self.header = header
        self.labelColumn = labelColumn
        self.classCount = classCount
        self.separator = separator
    }
}

extension Dataset {
    /// Reads a numeric CSV table: every field but the label is a feature (a finite number), the label
    /// is a non-negative integer. Blank lines are skipped; fields may carry surrounding spaces;
    /// `\r\n` line ends are accepted.
    ///
    /// - Throws: `DatasetError` naming the file, line and column: unreadable or empty file, ragged
    ///   rows, non-numeric fields, labels that are not integers or out of range.
    public init(csvFile path: String, options: CSVOptions = CSVOptions()) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw DatasetError.unreadable(file: path, reason: reason)
        }
        try self.init(csvText: [UInt8](data), name: path, options: options)
    }

    /// Parses CSV text already in memory; `name` stands for the file in error messages.
    public init(csvText bytes: [UInt8], name: String, options: CSVOptions = CSVOptions()) throws {
        guard let sep = options.separator.asciiValue else {
            throw DatasetError.invalid("CSV separator '\(options.separator)' is not one ASCII character")
        }
        if let c = options.classCount, c <= 0 { throw DatasetError.invalid("class count must be positive, got \(c)") }
        var features: [Double] = [], labels: [Double] = []
        var width = -1, labelAt = -1, maxLabel = -1
        var headerPending = options.header != .absent
        var fields: [String] = []
        var lineNumber = 0
        var start = 0
        while start < bytes.count {
            var end = start
            while end < bytes.count && bytes[end] != UInt8(ascii: "\n") { end += 1 }
            lineNumber += 1
            defer { start = end + 1 }
            splitFields(bytes, start, end, sep, into: &fields)
            if fields.count == 1 && fields[0].isEmpty { continue }     // blank line
            if headerPending {
                headerPending = false
                if options.header == .present || fields.contains(where: { Float($0) == nil }) { continue }
            }
            if width < 0 {
                width = fields.count
                labelAt = options.labelColumn ?? width - 1
                guard labelAt >= 0 && labelAt < width, width >= 2 else {
                    throw DatasetError.labelColumnOutOfRange(file: name, labelColumn: labelAt, columns: width)
                }
            }
            guard fields.count == width else {
                throw DatasetError.raggedRow(file: name, line: lineNumber, expected: width, found: fields.count)
            }
            for (column, text) in fields.enumerated() {
                if column == labelAt {
                    guard let value = Double(text), value.isFinite, value.rounded() == value, abs(value) < 1e15 else {
                        throw DatasetError.labelNotAnInteger(file: name, line: lineNumber, column: column + 1, text: text)
                    }
                    let label = Int(value)
                    let bound = options.classCount ?? CSVOptions.maxInferredClasses
                    guard label >= 0 && label < bound else {
                        throw DatasetError.labelOutOfRange(file: name, line: lineNumber, column: column + 1, label: label,
                                                           classCount: label < 0 ? options.classCount : bound)
                    }
                    labels.append(Double(label))
                    maxLabel = max(maxLabel, label)
                } else {
                    guard let value = Double(text), value.isFinite else {
                        throw DatasetError.notANumber(file: name, line: lineNumber, column: column + 1, text: text)
                    }
                    features.append(value)
                }
            }
        }
        guard !labels.isEmpty else { throw DatasetError.empty(file: name) }
        let classCount = options.classCount ?? maxLabel + 1
        self.init(unchecked: features, targets: labels, featureCount: width - 1, targetCount: 1,
                  task: classCount == 2 ? .binary : .multiclass, classCount: classCount)
    }
}

/// Splits `bytes[start..<end]` at `sep` into trimmed fields (spaces, tabs and a final `\r` removed).
private func splitFields(_ bytes: [UInt8], _ start: Int, _ end: Int, _ sep: UInt8, into fields: inout [String]) {
    fields.removeAll(keepingCapacity: true)
    bytes.withUnsafeBufferPointer { b in
        var fieldStart = start
        var i = start
        while true {
            if i == end || b[i] == sep {
                var lo = fieldStart, hi = i
                while lo < hi && isBlank(b[lo]) { lo += 1 }
                while hi > lo && isBlank(b[hi - 1]) { hi -= 1 }
                fields.append(String(decoding: UnsafeBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self))
                if i == end { break }
                fieldStart = i + 1
            }
            i += 1
        }
    }
}

@inline(__always) private func isBlank(_ c: UInt8) -> Bool {
    c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
}
