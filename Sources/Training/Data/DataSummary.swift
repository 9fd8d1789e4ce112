import Foundation

/// Exploration statistics of a `DataTable`: per-column figures, histograms and value counts,
/// constant and duplicate columns, the label column(s) (class balance or the target's spread), and
/// each numeric feature's correlation with each numeric label.
///
/// Missing cells are skipped in every statistic. Every list has a fixed order (columns in table
/// order, values by count then text), so the same table always gives the same summary.
///
/// ```swift
/// let table = try DataTable(csvFile: "Data/iris.csv", options: .init(header: .present))
/// let summary = DataSummary(table: table, labelColumns: [4])
/// print(summary.text())                         // aligned tables for a terminal
/// let page = summary.html(title: "iris")        // a self-contained page with SVG charts
/// ```
public struct DataSummary: Sendable, Equatable {
    /// The figures of a set of numbers (the present cells of a numeric column).
    public struct NumericStatistics: Sendable, Equatable {
        /// Arithmetic mean.
        public let mean: Double
        /// Sample standard deviation (divided by n - 1); `nil` for fewer than two values.
        public let standardDeviation: Double?
        /// Smallest value.
        public let min: Double
        /// First quartile (linear interpolation between order statistics, as numpy's default).
        public let q25: Double
        /// Median.
        public let median: Double
        /// Third quartile.
        public let q75: Double
        /// Largest value.
        public let max: Double

        /// The statistics of `values`; `nil` when there are none.
        public init?(_ values: [Double]) {
            guard !values.isEmpty else { return nil }
            self.init(sorted: values.sorted())
        }

        init(sorted: [Double]) {
            let n = sorted.count
            var sum = 0.0
            for x in sorted { sum += x }
            mean = sum / Double(n)
            if n > 1 {
                var squares = 0.0
                for x in sorted { squares += (x - mean) * (x - mean) }
                standardDeviation = (squares / Double(n - 1)).squareRoot()
            } else {
                standardDeviation = nil
            }
            min = sorted[0]
            max = sorted[n - 1]
            q25 = Self.quantile(sorted, 0.25)
            median = Self.quantile(sorted, 0.5)
            q75 = Self.quantile(sorted, 0.75)
        }

        /// The `p`-quantile of sorted values: position p (n - 1), interpolated linearly.
        static func quantile(_ sorted: [Double], _ p: Double) -> Double {
            let position = p * Double(sorted.count - 1)
            let lower = Int(position.rounded(.down))
            let fraction = position - Double(lower)
            guard lower + 1 < sorted.count, fraction > 0 else { return sorted[lower] }
            return sorted[lower] + fraction * (sorted[lower + 1] - sorted[lower])
        }
    }

    /// Counts of values in equal-width bins; bin i covers `edges[i]..<edges[i + 1]` (the last bin
    /// includes its upper edge).
    public struct Histogram: Sendable, Equatable {
        /// `counts.count + 1` increasing bin edges.
        public let edges: [Double]
        /// Values per bin.
        public let counts: [Int]
        /// Whether each bin holds one integer (at its centre): small integer ranges, such as class labels.
        public let integerBins: Bool

        /// At most this many bins.
        public static let maxBins = 20

        /// 20 bins from min to max; integers within a range of at most 20 values get one bin per integer
        /// (centred on it), and a single value one bin.
        init?(sorted: [Double]) {
            guard let lo = sorted.first, let hi = sorted.last else { return nil }
            let integers = sorted.allSatisfy { $0.rounded() == $0 && abs($0) < 1e15 }
            let bins: Int, start: Double, width: Double
            integerBins = integers && hi - lo < Double(Self.maxBins)
            if integerBins {
                bins = Int(hi - lo) + 1
                start = lo - 0.5
                width = 1
            } else if lo == hi {
                bins = 1
                start = lo
                width = 0
            } else {
                bins = Self.maxBins
                start = lo
                width = (hi - lo) / Double(bins)
            }
            var counts = [Int](repeating: 0, count: bins)
            for x in sorted {
                let bin = width > 0 ? Int(((x - start) / width).rounded(.down)) : 0
                counts[Swift.min(Swift.max(bin, 0), bins - 1)] += 1
            }
            self.counts = counts
            edges = width > 0 ? (0...bins).map { start + Double($0) * width } : [lo, hi]
        }
    }

    /// A value and how many cells hold it.
    public struct ValueCount: Sendable, Equatable {
        /// The cell text (for numeric classes, the number as written by `DataSummary.format`).
        public let value: String
        /// Cells holding it.
        public let count: Int

        public init(value: String, count: Int) {
            self.value = value
            self.count = count
        }
    }

    /// The figures of one column.
    public struct ColumnSummary: Sendable, Equatable {
        /// The column's name.
        public let name: String
        /// Numeric or text.
        public let kind: DataTable.ColumnKind
        /// Present (not missing) cells.
        public let count: Int
        /// Missing cells.
        public let missing: Int
        /// Distinct present values.
        public let distinct: Int
        /// Numeric columns with at least one present value: mean, spread, quartiles; else `nil`.
        public let statistics: NumericStatistics?
        /// Numeric columns with at least one present value: the histogram; else `nil`.
        public let histogram: Histogram?
        /// Text columns: the most frequent values, most frequent first (ties by value), at most
        /// `maxValueCounts`; empty for numeric columns.
        public let valueCounts: [ValueCount]

        /// How many value counts a text column keeps (for the report's chart).
        public static let maxValueCounts = 30

        /// Text columns: the 10 most frequent values.
        public var topValues: ArraySlice<ValueCount> { valueCounts.prefix(10) }
        /// Whether every present cell holds the same value.
        public var isConstant: Bool { distinct == 1 }
    }

    /// A column whose cells (missing ones included) are identical to an earlier column's.
    public struct Duplicate: Sendable, Equatable {
        /// The later column (index in the table).
        public let column: Int
        /// The first earlier column it repeats.
        public let duplicateOf: Int

        public init(column: Int, duplicateOf: Int) {
            self.column = column
            self.duplicateOf = duplicateOf
        }
    }

    /// What a label column holds: classes or a continuous target.
    public struct LabelSummary: Sendable, Equatable {
        /// The label column (index in the table).
        public let column: Int
        /// Its name.
        public let name: String
        /// For a class label (text, or integers with at most `maxClasses` distinct values): every
        /// class with its count, in class order (numbers ascending, texts sorted); `nil` for a
        /// continuous target.
        public let classes: [ValueCount]?
        /// For a continuous target: its spread; `nil` for a class label or when no cell is present.
        public let target: NumericStatistics?

        /// Integer labels with more distinct values than this are treated as a continuous target.
        public static let maxClasses = 20

        /// Whether the label holds classes.
        public var isClassification: Bool { classes != nil }
        /// The smallest class's share of the labelled rows (1 means balanced against the largest).
        public var smallestClassShare: Double? { share { $0.min() } }
        /// The largest class's share of the labelled rows.
        public var largestClassShare: Double? { share { $0.max() } }

        private func share(_ pick: ([Int]) -> Int?) -> Double? {
            guard let classes, !classes.isEmpty else { return nil }
            let counts = classes.map(\.count)
            let total = counts.reduce(0, +)
            return total > 0 ? Double(pick(counts)!) / Double(total) : nil
        }
    }

    /// The Pearson correlation of a numeric feature with a numeric label, over the rows where both
    /// are present; `nil` when undefined (fewer than two such rows, or a constant side).
    public struct Correlation: Sendable, Equatable {
        /// The feature column (index in the table).
        public let feature: Int
        /// The label column (index in the table).
        public let label: Int
        /// The coefficient in -1...1, or `nil`.
        public let r: Double?

        public init(feature: Int, label: Int, r: Double?) {
            self.feature = feature
            self.label = label
            self.r = r
        }
    }

    /// The table's name (its file path).
    public let name: String
    /// Data rows.
    public let rows: Int
    /// One summary per table column, in table order.
    public let columns: [ColumnSummary]
    /// The label columns, as given.
    public let labelColumns: [Int]
    /// Columns with a single distinct present value, in table order.
    public let constantColumns: [Int]
    /// Columns repeating an earlier column, in table order.
    public let duplicateColumns: [Duplicate]
    /// One entry per label column, in `labelColumns` order.
    public let labels: [LabelSummary]
    /// For each numeric label column (in `labelColumns` order), each numeric feature column (in
    /// table order; label columns are not features).
    public let correlations: [Correlation]

    /// Summarizes `table`; `labelColumns` are indices of its columns (each must exist).
    public init(table: DataTable, labelColumns: [Int]) {
        precondition(labelColumns.allSatisfy { table.columns.indices.contains($0) },
                     "DataSummary: label columns \(labelColumns) outside 0..<\(table.columns.count)")
        name = table.name
        rows = table.rowCount
        self.labelColumns = labelColumns
        var summaries: [ColumnSummary] = []
        var presentSorted: [[Double]] = []               // numeric columns' present values, sorted
        for column in table.columns {
            let (summary, sorted) = Self.summarize(column)
            summaries.append(summary)
            presentSorted.append(sorted)
        }
        columns = summaries
        constantColumns = summaries.indices.filter { summaries[$0].isConstant }
        duplicateColumns = Self.duplicates(table.columns)
        labels = labelColumns.map { Self.label(table.columns[$0], index: $0, sorted: presentSorted[$0]) }
        var correlations: [Correlation] = []
        for l in labelColumns where table.columns[l].kind == .numeric {
            for f in table.columns.indices where table.columns[f].kind == .numeric && !labelColumns.contains(f) {
                correlations.append(Correlation(feature: f, label: l,
                                                r: Self.pearson(table.columns[f].numbers, table.columns[l].numbers)))
            }
        }
        self.correlations = correlations
    }

    private static func summarize(_ column: DataTable.Column) -> (ColumnSummary, [Double]) {
        switch column.kind {
        case .numeric:
            let sorted = column.numbers.compactMap { $0 }.sorted()
            var distinct = 0
            for i in sorted.indices where i == 0 || sorted[i] != sorted[i - 1] { distinct += 1 }
            let summary = ColumnSummary(name: column.name, kind: .numeric, count: sorted.count,
                                        missing: column.count - sorted.count, distinct: distinct,
                                        statistics: sorted.isEmpty ? nil : NumericStatistics(sorted: sorted),
                                        histogram: Histogram(sorted: sorted), valueCounts: [])
            return (summary, sorted)
        case .text:
            let counts = valueCounts(column.texts.compactMap { $0 })
            let present = counts.reduce(0) { $0 + $1.count }
            let summary = ColumnSummary(name: column.name, kind: .text, count: present,
                                        missing: column.count - present, distinct: counts.count, statistics: nil,
                                        histogram: nil, valueCounts: Array(counts.prefix(ColumnSummary.maxValueCounts)))
            return (summary, [])
        }
    }

    /// Every distinct value with its count, most frequent first, ties in value order.
    private static func valueCounts(_ values: [String]) -> [ValueCount] {
        var counts: [String: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return counts.map { ValueCount(value: $0.key, count: $0.value) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.value < $1.value }
    }

    private static func duplicates(_ columns: [DataTable.Column]) -> [Duplicate] {
        var found: [Duplicate] = []
        for later in columns.indices {
            let a = columns[later]
            if let earlier = columns[..<later].firstIndex(where: {
                $0.kind == a.kind && $0.numbers == a.numbers && $0.texts == a.texts
            }) {
                found.append(Duplicate(column: later, duplicateOf: earlier))
            }
        }
        return found
    }

    private static func label(_ column: DataTable.Column, index: Int, sorted: [Double]) -> LabelSummary {
        switch column.kind {
        case .text:
            let classes = valueCounts(column.texts.compactMap { $0 }).sorted { $0.value < $1.value }
            return LabelSummary(column: index, name: column.name, classes: classes, target: nil)
        case .numeric:
            let integers = sorted.allSatisfy { $0.rounded() == $0 && abs($0) < 1e15 }
            var classes: [ValueCount] = []
            var i = 0
            while i < sorted.count {                         // runs of equal values in sorted order
                var j = i
                while j < sorted.count && sorted[j] == sorted[i] { j += 1 }
                classes.append(ValueCount(value: format(sorted[i]), count: j - i))
                i = j
            }
            if integers && classes.count <= LabelSummary.maxClasses {
                return LabelSummary(column: index, name: column.name, classes: classes, target: nil)
            }
            return LabelSummary(column: index, name: column.name, classes: nil,
                                target: sorted.isEmpty ? nil : NumericStatistics(sorted: sorted))
        }
    }

    /// Pearson's r over the rows where both cells are present.
    static func pearson(_ x: [Double?], _ y: [Double?]) -> Double? {
        var n = 0, sx = 0.0, sy = 0.0
        for (a, b) in zip(x, y) { if let a, let b { n += 1; sx += a; sy += b } }
        guard n >= 2 else { return nil }
        let mx = sx / Double(n), my = sy / Double(n)
        var sxy = 0.0, sxx = 0.0, syy = 0.0
        for (a, b) in zip(x, y) {
            if let a, let b {
                sxy += (a - mx) * (b - my)
                sxx += (a - mx) * (a - mx)
                syy += (b - my) * (b - my)
            }
        }
        guard sxx > 0, syy > 0 else { return nil }
        return Swift.max(-1, Swift.min(1, sxy / (sxx * syy).squareRoot()))
    }

    /// A number for people: integers in full, others with 6 significant digits.
    public static func format(_ x: Double) -> String {
        if x.rounded() == x && abs(x) < 1e15 { return String(Int64(x)) }
        return String(format: "%.6g", x)
    }
}
