import Foundation
import Tensor
import Training

/// Paths and scratch files for the training tests.
enum TrainingFixtures {
    /// The package root, found from this file's path (Tests/TensorTests/<file>).
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static var digits: String { root + "/Data/digits.csv" }
    static var iris: String { root + "/Data/iris.csv" }

    /// A fresh empty directory under the system's temporary directory.
    static func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "training-tests-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// Parses `text` as CSV named `name`.
    static func csv(_ text: String, name: String = "t.csv", options: CSVOptions = CSVOptions()) throws -> Dataset {
        try Dataset(csvText: Array(text.utf8), name: name, options: options)
    }
}
