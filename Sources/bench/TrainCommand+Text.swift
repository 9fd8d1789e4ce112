import Foundation
import Training

extension TrainCommand.PreparedData {
    /// Whether `--data` names a text (the bundled `shakespeare`, or a `.txt` file): a character-level
    /// next-character task.
    static func isText(_ data: String) -> Bool { data == "shakespeare" || data.hasSuffix(".txt") }

    /// A text as a next-character classification task: each sample is `--context` consecutive
    /// characters (as indices into the text's sorted character set, the model's vocabulary) and its
    /// label the character that follows. The text is cut, in order, into training, validation
    /// (`--validation-fraction`) and test (`--test-fraction`) parts, so held-out windows never
    /// overlap training ones.
    static func text(_ o: TrainCommand.Options) throws -> TrainCommand.PreparedData {
        let path = o.data == "shakespeare" ? try bundledFile("shakespeare.txt") : o.data
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ArgumentError("\(path): cannot read the file (\(FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file"))")
        }
        guard let string = String(data: data, encoding: .utf8) else {
            throw ArgumentError("\(path): not UTF-8 text")
        }
        let characters = Array(string.unicodeScalars)
        let context = o.context
        let vocabulary = Array(Set(characters)).sorted { $0.value < $1.value }
        guard vocabulary.count >= 2 else {
            throw ArgumentError("\(path): the text has \(vocabulary.count) distinct character(s); there is nothing to predict")
        }
        // A small table with every character as a label, so the preprocessing names the classes.
        let names = vocabulary.map(Self.className)
        var columns = (0..<context).map { DataTable.Column(name: "c\($0)", numbers: [Double](repeating: 0, count: names.count)) }
        columns.append(DataTable.Column(name: "next", texts: names))
        let table = DataTable(name: path, columns: columns, lines: Array(1...names.count))
        let prep = try Preprocessor(fitting: table, rows: Array(0..<names.count), labelColumns: [context],
                                    options: .init(task: .multiclass, standardizeFeatures: false))
        let classOf = Dictionary(uniqueKeysWithValues: vocabulary.map { c in (c, prep.target.classNames!.firstIndex(of: Self.className(c))!) })
        let indices = characters.map { Double(classOf[$0]!) }

        let windows = indices.count - context
        let testCount = Int((Double(windows) * o.testFraction).rounded())
        let validationCount = o.validationFraction.map { Int((Double(windows - testCount) * $0).rounded()) } ?? 0
        let trainCount = windows - testCount - validationCount
        guard trainCount > 0, testCount > 0 else {
            throw ArgumentError("\(path): \(characters.count) characters give \(max(windows, 0)) windows of --context \(context): too few to split into training and test parts")
        }
        func dataset(_ range: Range<Int>) throws -> Dataset {
            var features: [Double] = []
            features.reserveCapacity(range.count * context)
            for start in range { features += indices[start..<(start + context)] }
            return try Dataset(features: features, targets: range.map { indices[$0 + context] }, featureCount: context,
                               targetCount: 1, task: .multiclass, classCount: vocabulary.count)
        }
        // Held-out windows start after the last training window's target.
        let validation = validationCount > 0 ? try dataset(trainCount..<(trainCount + validationCount)) : nil
        return TrainCommand.PreparedData(name: o.data, train: try dataset(0..<trainCount), validation: validation,
                                         test: try dataset((windows - testCount)..<windows), preprocessor: prep,
                                         header: .absent)
    }

    /// A character as a class name: itself, or an escape for spaces and control characters.
    static func className(_ c: Unicode.Scalar) -> String {
        switch c {
        case " ": "space"
        case "\n": "\\n"
        case "\t": "\\t"
        case "\r": "\\r"
        default: c.properties.generalCategory == .control ? "U+\(String(c.value, radix: 16, uppercase: true))" : String(c)
        }
    }
}
