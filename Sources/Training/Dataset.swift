import Tensor

/// A table of samples ready for training: a row-major feature matrix and, per row, the target:
/// a class index (classification) or `targetCount` values (regression). Values are kept in Double
/// and converted to the plan's scalar type (Float or Double) as batches are fed.
///
/// Build one from a numeric CSV file (`Dataset(csvFile:options:)`), from any CSV through a fitted
/// `Preprocessor` (text labels, categorical features, missing cells), from arrays, or synthetically;
/// then split, scale and batch it:
/// ```swift
/// let all = try Dataset(csvFile: "Data/digits.csv")
/// let (train, test) = all.split(testFraction: 0.2, seed: 42)
/// let scaler = FeatureScaler(standardizing: train)
/// let trainSet = scaler.apply(to: train), testSet = scaler.apply(to: test)
/// ```
public struct Dataset: Sendable, Equatable {
    /// `count * featureCount` values, row after row.
    public internal(set) var features: [Double] {
        didSet { singlePrecision = SinglePrecisionFeatures() }
    }
    /// `features` in Float, made by the first Float gather (Note [Single-precision features]);
    /// replaced whenever `features` changes.
    var singlePrecision = SinglePrecisionFeatures()
    /// `count * targetCount` values, row after row: class indices (as numbers) for classification.
    public internal(set) var targets: [Double]
    /// Columns of `features`.
    public let featureCount: Int
    /// Target values per row (1 for classification).
    public let targetCount: Int
    /// What the targets are.
    public let task: LearningTask
    /// Number of classes (every class index is below it); 0 for regression.
    public let classCount: Int

    /// Rows (samples).
    public var count: Int { targetCount > 0 ? targets.count / targetCount : 0 }

    /// The class index of every row (classification).
    public var labels: [Int32] { targets.map { Int32($0) } }

    /// A classification dataset from row-major features and class indices, checking that they agree
    /// (two classes make a binary task, more a multiclass one).
    public init(features: [Float], labels: [Int32], featureCount: Int, classCount: Int) throws {
        try self.init(features: features.map(Double.init), targets: labels.map(Double.init), featureCount: featureCount,
                      targetCount: 1, task: classCount == 2 ? .binary : .multiclass, classCount: classCount)
    }

    /// A dataset of any task from row-major features and targets, checking that they agree: class
    /// indices in `0..<classCount` for classification (one per row), finite values for regression.
    public init(features: [Double], targets: [Double], featureCount: Int, targetCount: Int, task: LearningTask,
                classCount: Int = 0) throws {
        guard featureCount > 0 else { throw DatasetError.invalid("feature count must be positive, got \(featureCount)") }
        guard targetCount > 0 else { throw DatasetError.invalid("target count must be positive, got \(targetCount)") }
        guard targets.count % targetCount == 0, features.count == targets.count / targetCount * featureCount else {
            throw DatasetError.invalid("\(features.count) feature values and \(targets.count) targets do not make rows of \(featureCount) features and \(targetCount) targets")
        }
        if let bad = features.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError.invalid("row \(bad / featureCount), feature \(bad % featureCount) is \(features[bad]), not a finite number")
        }
        if task.isClassification {
            guard classCount > 0 else { throw DatasetError.invalid("class count must be positive, got \(classCount)") }
            guard targetCount == 1 else { throw DatasetError.invalid("classification takes one label per row, got \(targetCount)") }
            if let bad = targets.firstIndex(where: { $0 < 0 || $0 >= Double(classCount) || $0.rounded() != $0 }) {
                throw DatasetError.invalid("row \(bad) has label \(targets[bad]), outside the classes 0..<\(classCount)")
            }
        } else if let bad = targets.firstIndex(where: { !$0.isFinite }) {
            throw DatasetError.invalid("row \(bad / targetCount) has target \(targets[bad]), not a finite number")
        }
        self.init(unchecked: features, targets: targets, featureCount: featureCount, targetCount: targetCount,
                  task: task, classCount: task.isClassification ? classCount : 0)
    }

    init(unchecked features: [Double], targets: [Double], featureCount: Int, targetCount: Int, task: LearningTask,
         classCount: Int) {
        self.features = features
        self.targets = targets
        self.featureCount = featureCount
        self.targetCount = targetCount
        self.task = task
        self.classCount = classCount
    }

    /// Equal features, targets and shape (the single-precision copy does not count).
    public static func == (a: Dataset, b: Dataset) -> Bool {
        a.features == b.features && a.targets == b.targets && a.featureCount == b.featureCount
            && a.targetCount == b.targetCount && a.task == b.task && a.classCount == b.classCount
    }

    /// The rows at `indices`, in that order (indices may repeat).
    public func rows(_ indices: some Collection<Int>) -> Dataset {
        var f = [Double](), t = [Double]()
        f.reserveCapacity(indices.count * featureCount)
        t.reserveCapacity(indices.count * targetCount)
        let k = targetCount
        features.withUnsafeBufferPointer { src in
            for i in indices {
                precondition(i >= 0 && i < count, "Dataset.rows: row \(i) outside 0..<\(count)")
                f.append(contentsOf: src[(i * featureCount)..<((i + 1) * featureCount)])
                t.append(contentsOf: targets[(i * k)..<((i + 1) * k)])
            }
        }
        return Dataset(unchecked: f, targets: t, featureCount: featureCount, targetCount: k, task: task, classCount: classCount)
    }

    /// The row order `split` uses: a seeded permutation, train rows first.
    public static func splitOrder(count: Int, testFraction: Double, seed: UInt64) -> (train: ArraySlice<Int>, test: ArraySlice<Int>) {
        precondition(testFraction >= 0 && testFraction <= 1, "Dataset.split: testFraction \(testFraction) outside 0...1")
        var rng = SeededGenerator(seed: seed)
        let order = rng.permutation(count)
        var testCount = Int((Double(count) * testFraction).rounded())
        if count >= 2 && testFraction > 0 && testFraction < 1 { testCount = min(max(testCount, 1), count - 1) }
        return (order[..<(count - testCount)], order[(count - testCount)...])
    }

    /// Shuffles the rows with `SeededGenerator(seed:)` and cuts off the last `testFraction` of them
    /// (rounded to the nearest row, at least one row on each side when there are two or more).
    public func split(testFraction: Double, seed: UInt64) -> (train: Dataset, test: Dataset) {
        let (train, test) = Dataset.splitOrder(count: count, testFraction: testFraction, seed: seed)
        return (rows(train), rows(test))
    }

    /// How many rows carry each class (classification; empty for regression).
    public var classCounts: [Int] {
        var counts = [Int](repeating: 0, count: classCount)
        guard task.isClassification else { return counts }
        for t in targets { counts[Int(t)] += 1 }
        return counts
    }
}
