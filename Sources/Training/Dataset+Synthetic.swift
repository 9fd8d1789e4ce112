import Tensor
extension Dataset {
    /// A seeded random classification set: each class has a centre drawn from N(0, 1) per feature,
    /// and each sample is its class's centre plus N(0, `noise`^2) per feature. Labels cycle through
    /// the classes in a shuffled order, so classes are balanced.
    ///
    /// Used for throughput runs whose width follows the model (`--data synthetic --model 784,1024,10`).
    /// ```swift
    /// let data = try Dataset.synthetic(count: 4096, featureCount: 784, classCount: 10, seed: 1)
    /// ```
    public static func synthetic(count: Int, featureCount: Int, classCount: Int, noise: Double = 1.5,
                                 seed: UInt64) throws -> Dataset {
        guard count > 0 else { throw DatasetError.invalid("synthetic data needs at least one sample, got \(count)") }
        guard featureCount > 0, classCount > 0 else {
            throw DatasetError.invalid("synthetic data needs positive widths, got \(featureCount) features, \(classCount) classes")
        }
        var rng = SeededGenerator(seed: seed)
        var centres = [Float](repeating: 0, count: classCount * featureCount)
        for i in centres.indices { centres[i] = Float(rng.nextNormal()) }
        var labels = (0..<count).map { Int32($0 % classCount) }
        rng.shuffle(&labels)
        var features = [Float](repeating: 0, count: count * featureCount)
        for r in 0..<count {
            let centre = Int(labels[r]) * featureCount
            for c in 0..<featureCount {
                features[r * featureCount + c] = centres[centre + c] + Float(noise * rng.nextNormal())
            }
        }
        return Dataset(unchecked: features.map(Double.init), targets: labels.map(Double.init), featureCount: featureCount,
                       targetCount: 1, task: classCount == 2 ? .binary : .multiclass, classCount: classCount)
    }
}
