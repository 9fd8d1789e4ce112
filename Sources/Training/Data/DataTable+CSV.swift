import Foundation

extension DataTable {
    /// Reads a CSV file. See `init(csvText:name:options:)` for the format.
    ///
    /// - Throws: `DatasetError.unreadable` when the file cannot be read, and the errors of
    ///   `init(csvText:name:options:)`.
    public init(csvFile path: String, options: ReadOptions = ReadOptions()) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            let reason = FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"
            throw DatasetError.unreadable(file: path, reason: reason)
        }
        try self.init(csvText: [UInt8](data), name: path, options: options)
    }

    /// Parses CSV text already in memory; `name` stands for the file in messages.
    ///
    /// The format: one row per line (`\n` or `\r\n`); blank lines are skipped; fields are split at
    /// `options.separator` and trimmed of spaces, tabs and `\r`. A field may be double-quoted
    /// (RFC 4180): separators inside the quotes are kept and `""` stands for one quote; spaces inside
    /// the quotes are kept. A quoted field must close on its line (newlines inside quotes are not
    /// supported). A quote inside an unquoted field is kept as is. Cells equal to one of
    /// `options.missingMarkers` (quoted or not) are missing. A column is numeric when every
    /// present cell parses as a finite `Double`; any other cell, including a NaN or infinity that is
    /// not a missing marker, makes it a text column.
    ///
    /// - Throws: `DatasetError`: `.empty` (no data rows), `.raggedRow` (a row with another number of
    ///   fields than the first), `.headerMismatch`, `.unterminatedQuote`, `.textAfterQuote`,
    ///   `.duplicateColumnName`, `.invalid` (separator not one ASCII character, or a file of 4 GiB or more).
    public init(csvText bytes: [UInt8], name: String, options: ReadOptions = ReadOptions()) throws {
        guard let sep = options.separator.asciiValue, sep != quote, sep != UInt8(ascii: "\n") else {
            throw DatasetError.invalid("CSV separator '\(options.separator)' is not one ASCII character other than a quote or newline")
        }
        guard bytes.count < Int(UInt32.max) else {
            throw DatasetError.invalid("\(name): files of 4 GiB or more are not supported")
        }
        let markers = MissingMarkers(options.missingMarkers)
        let scan = try bytes.withUnsafeBufferPointer { b in
            try scanCells(b, sep: sep, header: options.header, name: name)
        }
        guard !scan.lines.isEmpty, scan.width > 0 else { throw DatasetError.empty(file: name) }

        let names: [String]
        if let header = scan.header {
            names = header.enumerated().map { $0.element.isEmpty ? "column \($0.offset + 1)" : $0.element }
            var seen: [String: Int] = [:]
            for (index, columnName) in names.enumerated() {
                if let first = seen[columnName] {
                    throw DatasetError.duplicateColumnName(file: name, line: scan.headerLine, name: columnName,
                                                           first: first + 1, second: index + 1)
                }
                seen[columnName] = index
            }
        } else {
            names = (0..<scan.width).map { "column \($0 + 1)" }
        }
        let columns = bytes.withUnsafeBufferPointer { b in
            (0..<scan.width).map { c in
                buildColumn(b, cells: scan.cells, column: c, width: scan.width, name: names[c], markers: markers)
            }
        }
        self.init(name: name, columns: columns, lines: scan.lines, hasHeader: scan.header != nil)
    }
}

private let quote = UInt8(ascii: "\"")

/// The cells of a file: `cells` holds a (start, end) byte range per field, row after row (a quoted
/// field's range includes its quotes); `lines` the source line of each row.
private struct CellScan {
    var cells: [UInt32] = []
    var lines: [Int] = []
    var width = 0
    var header: [String]? = nil
    var headerLine = 0
}

/// Splits the text into lines and fields, checks that every row has the same number of fields, and
/// takes the header off.
private func scanCells(_ b: UnsafeBufferPointer<UInt8>, sep: UInt8, header: DataTable.Header,
                       name: String) throws -> CellScan {
    var scan = CellScan()
    var row: [UInt32] = []
    var lineNumber = 0
    var start = 0
    var first = true
    let count = b.count
    while start < count {
        var end = start
        while end < count && b[end] != UInt8(ascii: "\n") { end += 1 }
        lineNumber += 1
        defer { start = end + 1 }
        var blank = true
        for i in start..<end where !isBlank(b[i]) { blank = false; break }
        if blank { continue }
        row.removeAll(keepingCapacity: true)
        try splitLine(b, start, end, sep, into: &row, name: name, line: lineNumber)
        let fieldCount = row.count / 2
        if first {
            first = false
            scan.width = fieldCount
            let texts = stride(from: 0, to: row.count, by: 2).map { fieldText(b, Int(row[$0]), Int(row[$0 + 1])) }
            let isHeader: Bool
            switch header {
            case .present: isHeader = true
            case .absent: isHeader = false
            case .automatic: isHeader = !texts.contains { Double($0) != nil }
            }
            if isHeader {
                scan.header = texts
                scan.headerLine = lineNumber
                continue
            }
        }
        guard fieldCount == scan.width else {
            if scan.header != nil {
                throw DatasetError.headerMismatch(file: name, line: lineNumber, headerLine: scan.headerLine,
                                                  expected: scan.width, found: fieldCount)
            }
            throw DatasetError.raggedRow(file: name, line: lineNumber, expected: scan.width, found: fieldCount)
        }
        scan.cells.append(contentsOf: row)
        scan.lines.append(lineNumber)
    }
    return scan
}

/// Appends the (start, end) range of each field of the line `b[start..<end]` to `fields`: trimmed,
/// quotes included for a quoted field.
private func splitLine(_ b: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, _ sep: UInt8,
                       into fields: inout [UInt32], name: String, line: Int) throws {
    var i = start
    while true {
        while i < end && b[i] != sep && isBlank(b[i]) { i += 1 }
        if i < end && b[i] == quote {
            let open = i
            i += 1
            while true {
                guard i < end else {
                    throw DatasetError.unterminatedQuote(file: name, line: line, column: fields.count / 2 + 1)
                }
                if b[i] == quote {
                    if i + 1 < end && b[i + 1] == quote { i += 2; continue }
                    break
                }
                i += 1
            }
            i += 1                                                  // past the closing quote
            fields.append(UInt32(open))
            fields.append(UInt32(i))
            while i < end && b[i] != sep && isBlank(b[i]) { i += 1 }
            guard i == end || b[i] == sep else {
                throw DatasetError.textAfterQuote(file: name, line: line, column: fields.count / 2)
            }
        } else {
            let lo = i
            while i < end && b[i] != sep { i += 1 }
            var hi = i
            while hi > lo && isBlank(b[hi - 1]) { hi -= 1 }
            fields.append(UInt32(lo))
            fields.append(UInt32(hi))
        }
        if i == end { return }
        i += 1                                                      // past the separator
    }
}

/// The text of a field: as is, or without its quotes and with `""` turned into `"`.
private func fieldText(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> String {
    if lo < hi && b[lo] == quote {
        var unquoted: [UInt8] = []
        unquoted.reserveCapacity(hi - lo - 2)
        var i = lo + 1
        while i < hi - 1 {
            unquoted.append(b[i])
            i += b[i] == quote ? 2 : 1
        }
        return String(decoding: unquoted, as: UTF8.self)
    }
    return String(decoding: UnsafeBufferPointer(rebasing: b[lo..<hi]), as: UTF8.self)
}

/// The missing markers, with a quick test that rules most cells out without hashing.
private struct MissingMarkers {
    let set: Set<String>
    let longest: Int
    var firstBytes = [Bool](repeating: false, count: 256)
    let empty: Bool

    init(_ set: Set<String>) {
        self.set = set
        longest = set.map(\.utf8.count).max() ?? -1
        empty = set.contains("")
        for marker in set { if let f = marker.utf8.first { firstBytes[Int(f)] = true } }
    }

    func contains(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Bool {
        if lo == hi { return empty }
        if b[lo] == quote { return set.contains(fieldText(b, lo, hi)) }
        guard hi - lo <= longest, firstBytes[Int(b[lo])] else { return false }
        return set.contains(fieldText(b, lo, hi))
    }
}

/// Column `column` of the scanned cells: numeric while every present cell is a finite number.
private func buildColumn(_ b: UnsafeBufferPointer<UInt8>, cells: [UInt32], column: Int, width: Int,
                         name: String, markers: MissingMarkers) -> DataTable.Column {
    let rows = cells.count / (2 * width)
    var numbers: [Double?] = []
    numbers.reserveCapacity(rows)
    var numeric = true
    cells.withUnsafeBufferPointer { cells in
        for r in 0..<rows {
            let lo = Int(cells[2 * (r * width + column)]), hi = Int(cells[2 * (r * width + column) + 1])
            if markers.contains(b, lo, hi) {
                numbers.append(nil)
            } else if let value = parseNumber(b, lo, hi), value.isFinite {
                numbers.append(value)
            } else {
                numeric = false
                return
            }
        }
    }
    if numeric { return DataTable.Column(name: name, numbers: numbers) }
    numbers = []
    var texts: [String?] = []
    texts.reserveCapacity(rows)
    cells.withUnsafeBufferPointer { cells in
        for r in 0..<rows {
            let lo = Int(cells[2 * (r * width + column)]), hi = Int(cells[2 * (r * width + column) + 1])
            texts.append(markers.contains(b, lo, hi) ? nil : fieldText(b, lo, hi))
        }
    }
    return DataTable.Column(name: name, texts: texts)
}

/// The field as a `Double`, as `Double(String)` reads it; `nil` when it is not a number.
private func parseNumber(_ b: UnsafeBufferPointer<UInt8>, _ lo: Int, _ hi: Int) -> Double? {
    Double(fieldText(b, lo, hi))
}

@inline(__always) private func isBlank(_ c: UInt8) -> Bool {
    c == UInt8(ascii: " ") || c == UInt8(ascii: "\t") || c == UInt8(ascii: "\r")
}
