import Foundation
import Tensor
import Training

extension TrainCommand {
    /// The train and test splits of the chosen data, scaled as asked.
    struct PreparedData {
        let name: String
        let train: Dataset
        let test: Dataset
        let classCount: Int
        let standardized: Bool

        static func load(_ o: Options) throws -> PreparedData {
            let all: Dataset
            let name: String
            var standardize = o.standardize ?? false
            switch o.data {
            case "digits", "iris":
                guard o.labelColumn == nil else { throw ArgumentError("--label-column applies to PATH.csv data only") }
                let path = try bundledFile("\(o.data).csv")
                all = try Dataset(csvFile: path, options: CSVOptions(header: o.data == "iris" ? .present : .absent))
                name = o.data
                standardize = o.standardize ?? true
            case "synthetic":
                guard o.labelColumn == nil else { throw ArgumentError("--label-column applies to PATH.csv data only") }
                let widths = o.model ?? [64, 128, 10]
                all = try Dataset.synthetic(count: o.samples, featureCount: widths.first!, classCount: widths.last!,
                                            seed: o.seed &+ 1)
                name = "synthetic"
            default:
                all = try Dataset(csvFile: o.data, options: CSVOptions(labelColumn: o.labelColumn))
                name = o.data
            }
            let (train, test) = all.split(testFraction: o.testFraction, seed: o.seed)
            guard train.count > 0 && test.count > 0 else {
                throw ArgumentError("\(name): \(all.count) samples are too few to split into training and test sets")
            }
            if standardize {
                let scaler = FeatureScaler(standardizing: train)
                return PreparedData(name: name, train: scaler.apply(to: train), test: scaler.apply(to: test),
                                    classCount: all.classCount, standardized: true)
            }
            return PreparedData(name: name, train: train, test: test, classCount: all.classCount, standardized: false)
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
