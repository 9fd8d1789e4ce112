import Foundation
import Tensor
import Training

extension TrainCommand {
    /// The training, validation and test splits of the chosen data, encoded by a preprocessing fitted
    /// on the training rows.
    struct PreparedData {
        let name: String
        let train: Dataset
        /// Early stopping's split of the training rows (`--validation-fraction`).
        let validation: Dataset?
        let test: Dataset
        let preprocessor: Preprocessor
        /// How the CSV's first line was read (prediction reads new files the same way).
        let header: DataTable.Header

        var task: LearningTask { preprocessor.task }
        var classNames: [String]? { preprocessor.target.classNames }

        static func load(_ o: Options, task: LearningTask?) throws -> PreparedData {
            if o.data == "synthetic" { return try synthetic(o) }
            if isText(o.data) { return try text(o) }
            let (path, header) = try resolve(o.data)
            let table = try readTable(o.data, path: path, options: DataTable.ReadOptions(header: header))
            let labelColumns = try (o.labelColumns ?? [String(table.columns.count - 1)]).map { try column($0, in: table) }
            var trainRows: [Int], testTable: DataTable, testRows: [Int]
            if let testPath = o.testData {
                trainRows = Array(0..<table.rowCount)
                testTable = try DataTable(csvFile: testPath, options: DataTable.ReadOptions(header: header))
                testRows = Array(0..<testTable.rowCount)
            } else {
                let (a, b) = Dataset.splitOrder(count: table.rowCount, testFraction: o.testFraction, seed: o.seed)
                (trainRows, testTable, testRows) = (Array(a), table, Array(b))
            }
            var validationRows: [Int] = []
            if let f = o.validationFraction {
                let (a, b) = Dataset.splitOrder(count: trainRows.count, testFraction: f, seed: o.seed &+ 1)
                (trainRows, validationRows) = (a.map { trainRows[$0] }, b.map { trainRows[$0] })
            }
            guard !trainRows.isEmpty && !testRows.isEmpty else {
                throw ArgumentError("\(path): \(table.rowCount) samples are too few to split into training and test sets")
            }
            let options = Preprocessor.Options(task: task, imputation: o.impute, standardizeFeatures: o.standardize,
                                               standardizeTargets: o.standardizeTargets)
            let prep = try Preprocessor(fitting: table, rows: trainRows, labelColumns: labelColumns, options: options)
            return PreparedData(name: o.data, train: try prep.dataset(table, rows: trainRows),
                                validation: validationRows.isEmpty ? nil : try prep.dataset(table, rows: validationRows),
                                test: try prep.dataset(testTable, rows: testRows), preprocessor: prep, header: header)
        }

        /// `--data synthetic`: Gaussian clusters as wide as the model, for throughput runs.
        static func synthetic(_ o: Options) throws -> PreparedData {
            let widths = o.model ?? [64, 128, 10]
            let all = try Dataset.synthetic(count: o.samples, featureCount: widths.first!, classCount: widths.last!,
                                            seed: o.seed &+ 1)
            let (train, test) = all.split(testFraction: o.testFraction, seed: o.seed)
            let table = syntheticTable(widths.first!, widths.last!)
            let prep = try Preprocessor(fitting: table, rows: Array(0..<table.rowCount),
                                        labelColumns: [widths.first!], options: .init(task: .multiclass))
            return PreparedData(name: "synthetic", train: train, validation: nil, test: test, preprocessor: prep, header: .absent)
        }

        /// A two-row table with the synthetic data's columns and every class, so the preprocessing
        /// describes it (names, class list) like any CSV's.
        private static func syntheticTable(_ features: Int, _ classes: Int) -> DataTable {
            let rows = max(classes, 2)
            var columns = (0..<features).map { DataTable.Column(name: "x\($0)", numbers: [Double](repeating: 0, count: rows)) }
            columns.append(DataTable.Column(name: "label", numbers: (0..<rows).map { Double($0 % classes) }))
            return DataTable(name: "synthetic", columns: columns, lines: Array(1...rows))
        }

        /// A label column given as a number (from 0) or a header name.
        static func column(_ text: String, in table: DataTable) throws -> Int {
            if let i = Int(text) {
                guard i >= 0 && i < table.columns.count else {
                    throw ArgumentError("label column \(i) (counted from 0) does not exist in \(table.name): rows have \(table.columns.count) columns")
                }
                return i
            }
            guard let i = table.columnIndex(named: text) else {
                throw ArgumentError("\(table.name) has no column named '\(text)' (columns: \(table.columns.map(\.name).joined(separator: ", ")))")
            }
            return i
        }

        /// Reads `path`; the bundled iris, whose first line is a scikit-learn style count header
        /// (`150,4,setosa,versicolor,virginica`), gets its columns' real names and its species as labels.
        static func readTable(_ data: String, path: String, options: DataTable.ReadOptions) throws -> DataTable {
            let table = try DataTable(csvFile: path, options: options)
            guard data == "iris", table.columns.count == 5, table.columns[4].kind == .numeric else { return table }
            let species = table.columns.count == 5 ? table.columns[2...4].map(\.name) : []
            let names = ["sepal_length", "sepal_width", "petal_length", "petal_width"]
            var columns = zip(names, table.columns.prefix(4)).map { DataTable.Column(name: $0, numbers: $1.numbers) }
            columns.append(DataTable.Column(name: "species", texts: table.columns[4].numbers.map { value in
                value.flatMap { v in v >= 0 && Int(v) < species.count ? species[Int(v)] : nil }
            }))
            return DataTable(name: table.name, columns: columns, lines: table.lines)
        }

        /// A bundled data set's path and header, or a CSV path (header detected).
        static func resolve(_ data: String) throws -> (String, DataTable.Header) {
            switch data {
            case "digits": (try bundledFile("digits.csv"), .absent)
            case "iris": (try bundledFile("iris.csv"), .present)
            case "diabetes", "breast-cancer": (try bundledFile("\(data).csv"), .present)
            default: (data, .automatic)
            }
        }

        /// `Data/<file>` from the current directory, or from the package root this source lives in.
        static func bundledFile(_ file: String) throws -> String {
            let here = FileManager.default.currentDirectoryPath + "/Data/" + file
            if FileManager.default.fileExists(atPath: here) { return here }
            var root = URL(fileURLWithPath: #filePath)
            for _ in 0..<3 { root.deleteLastPathComponent() }      // Sources/bench/<this file>
            let packaged = root.path + "/Data/" + file
            if FileManager.default.fileExists(atPath: packaged) { return packaged }
            throw ArgumentError("cannot find Data/\(file) in the current directory or in \(root.path)")
        }
    }
}
