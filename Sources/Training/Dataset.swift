import Tensor
/// A table of samples for classification: a row-major `Float` feature matrix and one integer class
/// label per row.
///
/// Build one from a CSV file (`Dataset(csvFile:options:)`), from arrays, or synthetically
/// (`Dataset.synthetic`); then split, scale and batch it:
/// ```swift
/// let all = try Dataset(csvFile: "Data/digits.csv")
/// let (train, test) = all.split(testFraction: 0.2, seed: 42)
/// let scaler = FeatureScaler(standardizing: train)
/// let trainSet = scaler.apply(to: train), testSet = scaler.apply(to: test)
/// ```
public struct Dataset: Sendable, Equatable {
    /// `count * featureCount` values, row after row.
    public internal(set) var features: [Float]
    /// One class index in `0..<classCount` per row.
    public internal(set) var labels: [Int32]
    /// Columns of `features`.
    public let featureCount: Int
    /// Number of classes; every label is below it.
    public let classCount: Int

    /// Rows (samples).
    public var count: Int { labels.count }

    /// Creates a dataset from row-major features and labels, checking that they agree.
    public init(features: [Float], labels: [Int32], featureCount: Int, classCount: Int) throws {
        guard featureCount > 0 else { throw DatasetError.invalid("feature count must be positive, got \(featureCount)") }
        guard classCount > 0 else { throw DatasetError.invalid("class count must be positive, got \(classCount)") }
        guard features.count == labels.count * featureCount else {
            throw DatasetError.invalid("\(features.count) feature values do not make \(labels.count) rows of \(featureCount)")
        }
        if let bad = labels.firstIndex(where: { $0 < 0 || Int($0) >= classCount }) {
            throw DatasetError.invalid("row \(bad) has label \(labels[bad]), outside 0..<\(classCount)")
        }
        self.init(unchecked: features, labels: labels, featureCount: featureCount, classCount: classCount)
    }

    init(unchecked features: [Float], labels: [Int32], featureCount: Int, classCount: Int) {
        self.features = features
        self.labels = labels
        self.featureCount = featureCount
        self.classCount = classCount
    }

    /// The rows at `indices`, in that order (indices may repeat).
    public func rows(_ indices: some Collection<Int>) -> Dataset {
        var f = [Float](), l = [Int32]()
        f.reserveCapacity(indices.count * featureCount)
        l.reserveCapacity(indices.count)
        features.withUnsafeBufferPointer { src in
            for i in indices {
                precondition(i >= 0 && i < count, "Dataset.rows: row \(i) outside 0..<\(count)")
                f.append(contentsOf: src[(i * featureCount)..<((i + 1) * featureCount)])
                l.append(labels[i])
            }
        }
        return Dataset(unchecked: f, labels: l, featureCount: featureCount, classCount: classCount)
    }

    /// Shuffles the rows with `SeededGenerator(seed:)` and cuts off the last `testFraction` of them
    /// (rounded to the nearest row, at least one row on each side when there are two or more).
    public func split(testFraction: Double, seed: UInt64) -> (train: Dataset, test: Dataset) {
        precondition(testFraction >= 0 && testFraction <= 1, "Dataset.split: testFraction \(testFraction) outside 0...1")
        var rng = SeededGenerator(seed: seed)
        let order = rng.permutation(count)
        var testCount = Int((Double(count) * testFraction).rounded())
        if count >= 2 && testFraction > 0 && testFraction < 1 { testCount = min(max(testCount, 1), count - 1) }
        return (rows(order[..<(count - testCount)]), rows(order[(count - testCount)...]))
    }

    /// How many rows carry each label.
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        for l in labels { counts[Int(l)] += 1 }
        return counts
    }
}
