/// A table read from CSV: named columns, each numeric or text, with missing cells kept as nil.
///
/// Unlike `Dataset` (all numbers, a class label), a `DataTable` keeps whatever the file holds, so it
/// can be explored (`DataSummary`) and cleaned before it becomes training data.
///
/// ```swift
/// let table = try DataTable(csvFile: "Data/iris.csv", options: DataTable.ReadOptions(header: .present))
/// let label = table.columns[table.columns.count - 1]
/// print(table.rowCount, label.kind, label.missingCount)       // 150 numeric 0
/// let firstTen = table.rows(0..<10)
/// print(table.place(row: 3, column: 1))                       // Data/iris.csv:5:2
/// ```
public struct DataTable: Sendable, Equatable {
    /// What a column holds.
    public enum ColumnKind: String, Sendable {
        /// Every present cell is a finite number.
        case numeric
        /// At least one present cell is not a finite number.
        case text
    }

    /// One named column: numbers or texts, one entry per row, `nil` where the cell is missing.
    ///
    /// ```swift
    /// let age = DataTable.Column(name: "age", numbers: [31, nil, 40])
    /// print(age.missingCount, age.isMissing(1))    // 1 true
    /// ```
    public struct Column: Sendable, Equatable {
        /// The header field, or "column N" (N counted from 1) when the file has no header.
        public let name: String
        /// `.numeric` when every present cell parses as a finite number (`Double`), else `.text`.
        public let kind: ColumnKind
        /// For numeric columns: one entry per row (`nil` = missing); empty for text columns.
        public let numbers: [Double?]
        /// For text columns: one entry per row (`nil` = missing); empty for numeric columns.
        public let texts: [String?]

        /// A numeric column.
        public init(name: String, numbers: [Double?]) {
            self.name = name
            kind = .numeric
            self.numbers = numbers
            texts = []
        }

        /// A text column.
        public init(name: String, texts: [String?]) {
            self.name = name
            kind = .text
            numbers = []
            self.texts = texts
        }

        /// Whether the cell in `row` is missing.
        public func isMissing(_ row: Int) -> Bool {
            kind == .numeric ? numbers[row] == nil : texts[row] == nil
        }

        /// How many cells are missing.
        public var missingCount: Int {
            kind == .numeric ? numbers.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
                             : texts.reduce(0) { $0 + ($1 == nil ? 1 : 0) }
        }

        /// Rows (cells, missing ones included).
        public var count: Int { kind == .numeric ? numbers.count : texts.count }

        /// The cells at `indices`, in that order.
        func rows(_ indices: some Collection<Int>) -> Column {
            kind == .numeric ? Column(name: name, numbers: indices.map { numbers[$0] })
                             : Column(name: name, texts: indices.map { texts[$0] })
        }
    }

    /// Whether the first non-blank line of a CSV file names the columns.
    public enum Header: Sendable, Equatable {
        /// The first non-blank line is a header when none of its fields parses as a number
        /// (so a header with numeric names must be declared `.present`).
        case automatic
        /// The first non-blank line is a header.
        case present
        /// Every line is data; columns are named "column 1", "column 2", ...
        case absent
    }

    /// How to read a CSV file into a `DataTable`.
    public struct ReadOptions: Sendable, Equatable {
        /// Whether the first non-blank line is a header.
        public var header: Header = .automatic
        /// The field separator (one ASCII character other than the double quote).
        public var separator: Character = ","
        /// Cells (after trimming, and unquoting for quoted fields) that mean "missing".
        public var missingMarkers: Set<String> = ReadOptions.defaultMissingMarkers

        /// The markers most CSV writers use for a missing value: empty, NA, N/A, NaN, nan, null, ?.
        public static let defaultMissingMarkers: Set<String> = ["", "NA", "N/A", "NaN", "nan", "null", "?"]

        /// Options; the defaults read a comma-separated file with or without a header.
        public init(header: Header = .automatic, separator: Character = ",",
                    missingMarkers: Set<String> = ReadOptions.defaultMissingMarkers) {
            self.header = header
            self.separator = separator
            self.missingMarkers = missingMarkers
        }
    }

    /// The file path (or the name given for text in memory), for messages.
    public let name: String
    /// The columns, in file order; all have `rowCount` cells.
    public let columns: [Column]
    /// The 1-based source line of each row, for messages.
    public let lines: [Int]
    /// Whether the source had a header line.
    public let hasHeader: Bool

    /// Rows (data lines; the header and blank lines are not counted).
    public var rowCount: Int { lines.count }

    /// A table from parts; every column must have one cell per entry of `lines`.
    public init(name: String, columns: [Column], lines: [Int]) {
        self.init(name: name, columns: columns, lines: lines, hasHeader: false)
    }

    init(name: String, columns: [Column], lines: [Int], hasHeader: Bool) {
        precondition(columns.allSatisfy { $0.count == lines.count },
                     "DataTable: every column needs \(lines.count) cells, one per line")
        self.name = name
        self.columns = columns
        self.lines = lines
        self.hasHeader = hasHeader
    }

    /// The index of the first column called `named`, if any.
    public func columnIndex(named: String) -> Int? {
        columns.firstIndex { $0.name == named }
    }

    /// The rows at `indices`, in that order (repeats allowed), with their source lines kept.
    public func rows(_ indices: some Collection<Int>) -> DataTable {
        DataTable(name: name, columns: columns.map { $0.rows(indices) }, lines: indices.map { lines[$0] },
                  hasHeader: hasHeader)
    }

    /// Where a cell came from, as "file:LINE:COLUMN" (`column` is an index from 0; the text counts
    /// from 1, as editors do), for error messages.
    public func place(row: Int, column: Int) -> String {
        "\(name):\(lines[row]):\(column + 1)"
    }
}
