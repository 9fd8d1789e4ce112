import Foundation

/// Turns the columns of a `DataTable` into a `Dataset` the same way for training, evaluation and
/// prediction: numeric features standardized, text features one-hot encoded, missing cells imputed
/// (or refused with their place), labels mapped to classes or standardized targets. Every statistic
/// is fitted on the training rows only, and the whole encoding is kept (`Codable`) in checkpoints,
/// so `bench predict` applies exactly what training did.
///
/// ```swift
/// let table = try DataTable(csvFile: "Data/breast-cancer.csv")
/// let (trainRows, testRows) = Dataset.splitOrder(count: table.rowCount, testFraction: 0.2, seed: 42)
/// let prep = try Preprocessor(fitting: table, rows: Array(trainRows), labelColumns: [30])
/// let train = try prep.dataset(table, rows: Array(trainRows)), test = try prep.dataset(table, rows: Array(testRows))
/// print(prep.task, prep.target.classNames)     // binary ["benign", "malignant"]
/// ```
public struct Preprocessor: Sendable, Equatable, Codable {
    /// How missing feature cells are filled (from the training rows).
    public enum Imputation: String, Sendable, Codable, CaseIterable {
        /// Missing cells are errors naming their file, line and column.
        case none
        /// Numeric: the mean; text: the most frequent value.
        case mean
        /// Numeric: the median; text: the most frequent value.
        case median
    }

    /// What the fit is asked to do.
    public struct Options: Sendable, Equatable {
        /// nil: inferred from the label column(s) (see `LearningTask.infer`).
        public var task: LearningTask?
        public var imputation: Imputation = .none
        /// Standardize numeric features (zero mean, unit variance on the training rows).
        public var standardizeFeatures = true
        /// Regression: train on standardized targets (predictions and reports are in the targets' units).
        public var standardizeTargets = true
        public init(task: LearningTask? = nil, imputation: Imputation = .none, standardizeFeatures: Bool = true,
                    standardizeTargets: Bool = true) {
            self.task = task
            self.imputation = imputation
            self.standardizeFeatures = standardizeFeatures
            self.standardizeTargets = standardizeTargets
        }
    }

    /// One source column's encoding.
    public struct Feature: Sendable, Equatable, Codable {
        /// The column's header name (how prediction data finds it).
        public var name: String
        /// Text columns are one-hot encoded over `categories`; numeric ones scaled.
        public var categories: [String]?
        /// Numeric: `(x - mean) * scale`.
        public var mean: Double
        public var scale: Double
        /// The value a missing cell takes (nil: missing cells are errors).
        public var fillNumber: Double?
        public var fillText: String?
        /// Columns this feature becomes.
        public var width: Int { categories?.count ?? 1 }
    }

    /// The label columns' encoding.
    public struct Target: Sendable, Equatable, Codable {
        /// The label columns' header names.
        public var names: [String]
        /// Classification: class names in class-index order.
        public var classNames: [String]?
        /// Regression: training targets are `(y - mean) * scale` per column (1/std, or 1).
        public var mean: [Double]
        public var scale: [Double]
    }

    public var task: LearningTask
    public var features: [Feature]
    public var target: Target
    /// Why the task is what it is: "given", or the inference (printed by `bench train`).
    public var taskReason: String

    /// Encoded feature columns (one-hot columns count one each).
    public var featureCount: Int { features.reduce(0) { $0 + $1.width } }
    /// Names of the encoded columns: a numeric column's name, or `name=category` for one-hot columns.
    public var encodedFeatureNames: [String] {
        features.flatMap { f in f.categories.map { $0.map { "\(f.name)=\($0)" } } ?? [f.name] }
    }
    /// Number of classes (0 for regression).
    public var classCount: Int { target.classNames?.count ?? 0 }

    // MARK: - Fitting

    /// Fits the encoding on `rows` of `table` (every other column than `labelColumns` is a feature).
    /// Class names come from every row's label (knowing the set of classes leaks nothing); every
    /// other statistic from `rows` only.
    public init(fitting table: DataTable, rows: [Int], labelColumns: [Int], options: Options = Options()) throws {
        guard !labelColumns.isEmpty else { throw TrainingError.invalidData("\(table.name): no label column") }
        for c in labelColumns where c < 0 || c >= table.columns.count {
            throw TrainingError.invalidData("\(table.name): label column \(c) (counted from 0) does not exist: rows have \(table.columns.count) columns")
        }
        guard Set(labelColumns).count == labelColumns.count else {
            throw TrainingError.invalidData("\(table.name): label columns \(labelColumns) repeat")
        }
        guard table.columns.count > labelColumns.count else {
            throw TrainingError.invalidData("\(table.name): no feature columns besides the label column(s)")
        }
        guard !rows.isEmpty else { throw TrainingError.invalidData("\(table.name): no training rows") }
        let labels = labelColumns.map { table.columns[$0] }
        for (c, column) in zip(labelColumns, labels) {
            if let r = (0..<table.rowCount).first(where: { column.isMissing($0) }) {
                throw TrainingError.invalidData("\(table.place(row: r, column: c)): the label column '\(column.name)' has a missing cell")
            }
        }
        let (task, reason) = try Preprocessor.task(of: labels, columns: labelColumns, table: table, given: options.task)
        self.task = task
        taskReason = reason
        // The target.
        if task.isClassification {
            let column = labels[0]
            let names: [String]
            if column.kind == .text {
                names = Set(column.texts.compactMap { $0 }).sorted()
            } else {
                let values = Set(column.numbers.compactMap { $0 }).sorted()
                // Labels 0..<k keep their numbers as class indices; other sets are ranked.
                let isRange = values.allSatisfy { $0 >= 0 && $0.rounded() == $0 } && values.last.map { Int($0) + 1 } == values.count
                names = isRange ? (0..<values.count).map(String.init) : values.map(Preprocessor.format)
            }
            if task == .binary && names.count != 2 {
                throw TrainingError.lossDoesNotFit("\(table.name): a binary task needs 2 classes, the label column '\(column.name)' has \(names.count)")
            }
            target = Target(names: [column.name], classNames: names, mean: [0], scale: [1])
        } else {
            var mean: [Double] = [], scale: [Double] = []
            for column in labels {
                let values = rows.map { column.numbers[$0]! }
                let (m, s) = Preprocessor.meanAndStd(values)
                mean.append(options.standardizeTargets ? m : 0)
                scale.append(options.standardizeTargets && s > 1e-12 ? 1 / s : 1)
            }
            target = Target(names: labels.map(\.name), classNames: nil, mean: mean, scale: scale)
        }
        // The features.
        var features: [Feature] = []
        for (c, column) in table.columns.enumerated() where !labelColumns.contains(c) {
            var f = Feature(name: column.name, categories: nil, mean: 0, scale: 1, fillNumber: nil, fillText: nil)
            if column.kind == .text {
                let present = rows.compactMap { column.texts[$0] }
                f.categories = Set(present).sorted()
                if options.imputation != .none { f.fillText = Preprocessor.mostFrequent(present) }
            } else {
                let present = rows.compactMap { column.numbers[$0] }
                let (m, s) = Preprocessor.meanAndStd(present)
                if options.standardizeFeatures && !present.isEmpty {
                    f.mean = m
                    f.scale = s > 1e-12 ? 1 / s : 1
                }
                switch options.imputation {
                case .none: break
                case .mean: f.fillNumber = present.isEmpty ? 0 : m
                case .median: f.fillNumber = present.isEmpty ? 0 : Preprocessor.median(present)
                }
            }
            features.append(f)
        }
        self.features = features
    }

    /// The task of the label columns: several columns are regression targets; a text column is
    /// classification; a numeric column of at most 20 distinct integers is classification; anything
    /// else is regression. Two classes make a binary task.
    static func task(of labels: [DataTable.Column], columns: [Int], table: DataTable,
                     given: LearningTask?) throws -> (LearningTask, String) {
        for (c, column) in zip(columns, labels) {
            let values = column.kind == .text ? Set(column.texts.compactMap { $0 }).map { $0 }
                                              : Set(column.numbers.compactMap { $0 }).map(Preprocessor.format)
            if values.count == 1 {
                throw TrainingError.invalidData("\(table.name): the label column '\(column.name)' (column \(c + 1)) holds a single value ('\(values[0])') in all \(table.rowCount) rows: there is nothing to learn")
            }
        }
        let textLabel = zip(columns, labels).first { $0.1.kind == .text }
        if let given {
            if given == .regression, let (c, column) = textLabel {
                let r = Preprocessor.firstText(in: column, rows: 0..<table.rowCount)
                throw TrainingError.invalidData("\(table.place(row: r, column: c)): the regression target '\(column.name)' holds text ('\(column.texts[r]!)')")
            }
            if given != .regression && labels.count > 1 {
                throw TrainingError.invalidData("\(table.name): a \(given.rawValue) task takes one label column, got \(labels.count)")
            }
            return (given, "given")
        }
        if labels.count > 1 {
            if let (c, column) = textLabel {
                let r = Preprocessor.firstText(in: column, rows: 0..<table.rowCount)
                throw TrainingError.invalidData("\(table.place(row: r, column: c)): the regression target '\(column.name)' holds text ('\(column.texts[r]!)')")
            }
            return (.regression, "\(labels.count) label columns: regression")
        }
        let column = labels[0]
        if column.kind == .text {
            let distinct = Set(column.texts.compactMap { $0 }).count
            return (distinct == 2 ? .binary : .multiclass, "the label column '\(column.name)' holds text with \(distinct) distinct values")
        }
        let distinct = Set(column.numbers.compactMap { $0 })
        let integers = distinct.allSatisfy { $0.rounded() == $0 }
        if integers && distinct.count <= 20 && distinct.count >= 2 {
            return (distinct.count == 2 ? .binary : .multiclass,
                    "the label column '\(column.name)' holds \(distinct.count) distinct integers")
        }
        return (.regression, "the label column '\(column.name)' holds \(integers ? "\(distinct.count) distinct integers" : "non-integer numbers")")
    }

    // MARK: - Applying

    /// The rows of `table` encoded (all rows when `rows` is nil). The table must have every feature
    /// column (found by name) and, when `targets` is true, the label columns; missing cells without
    /// imputation, unknown classes and text in numeric columns are errors naming file, line and column.
    /// With `targets: false` the targets are zeros (for prediction).
    public func dataset(_ table: DataTable, rows: [Int]? = nil, targets: Bool = true) throws -> Dataset {
        let rows = rows ?? Array(0..<table.rowCount)
        var x = [Double](repeating: 0, count: rows.count * featureCount)
        var offset = 0
        let width = featureCount
        for f in features {
            guard let c = table.columnIndex(named: f.name) else {
                throw TrainingError.invalidData("\(table.name): the model needs the feature column '\(f.name)', which the file does not have (columns: \(table.columns.map(\.name).joined(separator: ", ")))")
            }
            let column = table.columns[c]
            if let categories = f.categories {
                let index = Dictionary(uniqueKeysWithValues: categories.enumerated().map { ($1, $0) })
                for (i, r) in rows.enumerated() {
                    let text: String
                    if column.kind == .text { text = column.texts[r] ?? "" } else { text = column.numbers[r].map(Preprocessor.format) ?? "" }
                    let value = column.isMissing(r) ? f.fillText : text
                    guard let value else { throw missing(table, r, c, column.name) }
                    if let k = index[value] { x[i * width + offset + k] = 1 }   // unseen categories: all zeros
                }
            } else {
                guard column.kind == .numeric || column.texts.allSatisfy({ $0 == nil }) else {
                    let r = rows.first { column.texts[$0] != nil } ?? 0
                    throw TrainingError.invalidData("\(table.place(row: r, column: c)): column '\(f.name)' is numeric in the training data, here it holds text ('\(column.texts[r] ?? "")')")
                }
                for (i, r) in rows.enumerated() {
                    guard let v = (column.kind == .numeric ? column.numbers[r] : nil) ?? f.fillNumber else {
                        throw missing(table, r, c, column.name)
                    }
                    x[i * width + offset] = (v - f.mean) * f.scale
                }
            }
            offset += f.width
        }
        let k = task.isClassification ? 1 : target.names.count
        var y = [Double](repeating: 0, count: rows.count * k)
        if targets { try encodeTargets(table, rows, into: &y) }
        return try Dataset(features: x, targets: y, featureCount: width, targetCount: k, task: task,
                           classCount: classCount)
    }

    /// Whether `table` has every label column (so predictions can be scored).
    public func hasTargets(_ table: DataTable) -> Bool {
        target.names.allSatisfy { table.columnIndex(named: $0) != nil }
    }

    private func encodeTargets(_ table: DataTable, _ rows: [Int], into y: inout [Double]) throws {
        let k = task.isClassification ? 1 : target.names.count
        for (j, name) in target.names.enumerated() {
            guard let c = table.columnIndex(named: name) else {
                throw TrainingError.invalidData("\(table.name): no label column '\(name)'")
            }
            let column = table.columns[c]
            for (i, r) in rows.enumerated() {
                guard !column.isMissing(r) else {
                    throw TrainingError.invalidData("\(table.place(row: r, column: c)): the label column '\(name)' has a missing cell")
                }
                if let classNames = target.classNames {
                    let text = column.kind == .text ? column.texts[r]! : Preprocessor.format(column.numbers[r]!)
                    guard let index = classNames.firstIndex(of: text) else {
                        throw TrainingError.invalidData("\(table.place(row: r, column: c)): label '\(text)' is not one of the model's classes (\(classNames.joined(separator: ", ")))")
                    }
                    y[i] = Double(index)
                } else {
                    guard column.kind == .numeric else {
                        let t = Preprocessor.firstText(in: column, rows: rows)
                        throw TrainingError.invalidData("\(table.place(row: t, column: c)): the regression target '\(name)' holds text ('\(column.texts[t]!)')")
                    }
                    y[i * k + j] = (column.numbers[r]! - target.mean[j]) * target.scale[j]
                }
            }
        }
    }

    /// Regression predictions (`rows x targets`, standardized as trained) back in the targets' units.
    public func targetsInOriginalUnits(_ values: [Double]) -> [Double] {
        guard task == .regression else { return values }
        let k = target.names.count
        return values.enumerated().map { i, v in v / target.scale[i % k] + target.mean[i % k] }
    }

    /// The row of `rows` whose cell of the text `column` is not a number (the cell that made the
    /// column text, for messages), else the first row of the table with one, else the first present cell.
    static func firstText(in column: DataTable.Column, rows: some Collection<Int>) -> Int {
        let notNumber = { (r: Int) in column.texts[r].map { Double($0).map { !$0.isFinite } ?? true } ?? false }
        return rows.first(where: notNumber) ?? column.texts.indices.first(where: notNumber)
            ?? column.texts.firstIndex { $0 != nil }!
    }

    private func missing(_ table: DataTable, _ r: Int, _ c: Int, _ name: String) -> TrainingError {
        .invalidData("\(table.place(row: r, column: c)): missing value in column '\(name)' (fill missing cells with --impute mean|median)")
    }

    // MARK: - Serialization

    /// The encoding as one line of JSON (what checkpoints keep).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// An encoding from `json()`'s text.
    public init(json: String) throws {
        do { self = try JSONDecoder().decode(Preprocessor.self, from: Data(json.utf8)) } catch {
            throw TrainingError.invalidData("the saved preprocessing cannot be read: \(error)")
        }
    }

    // MARK: - Statistics (Double sums in row order)

    static func meanAndStd(_ values: [Double]) -> (Double, Double) {
        guard !values.isEmpty else { return (0, 0) }
        let mean = values.reduce(0, +) / Double(values.count)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
        return (mean, variance.squareRoot())
    }

    static func median(_ values: [Double]) -> Double {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }

    static func mostFrequent(_ values: [String]) -> String? {
        var counts: [String: Int] = [:]
        for v in values { counts[v, default: 0] += 1 }
        return counts.max { a, b in a.value < b.value || (a.value == b.value && a.key > b.key) }?.key
    }

    /// A number as a class name: integers without a decimal point.
    static func format(_ v: Double) -> String {
        v.rounded() == v && abs(v) < 1e15 ? String(Int(v)) : String(v)
    }
}
