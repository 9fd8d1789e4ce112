import Tensor
/// Per-feature affine scaling `x' = (x - mean) * scale`, fitted on one split and applied to others.
///
/// Standardizing uses the training split's statistics only, so nothing about the test split leaks
/// into training. A constant feature (zero variance) is only centred.
/// ```swift
/// let scaler = FeatureScaler(standardizing: train)
/// let (trainSet, testSet) = (scaler.apply(to: train), scaler.apply(to: test))
/// ```
public struct FeatureScaler: Sendable, Equatable {
    /// Subtracted from each feature.
    public let mean: [Double]
    /// Multiplies each centred feature (1 / standard deviation, or 1 for a constant feature).
    public let scale: [Double]

    /// Fits zero mean and unit (population) variance per feature of `data`; sums run in Double.
    public init(standardizing data: Dataset) {
        let n = data.count, f = data.featureCount
        var sum = [Double](repeating: 0, count: f), sumSq = [Double](repeating: 0, count: f)
        data.features.withUnsafeBufferPointer { x in
            for r in 0..<n {
                for c in 0..<f {
                    let v = Double(x[r * f + c])
                    sum[c] += v
                    sumSq[c] += v * v
                }
            }
        }
        var mean = [Double](repeating: 0, count: f), scale = [Double](repeating: 1, count: f)
        if n > 0 {
            for c in 0..<f {
                let m = sum[c] / Double(n)
                let variance = max(0, sumSq[c] / Double(n) - m * m)
                mean[c] = m
                if variance > 1e-12 { scale[c] = 1 / variance.squareRoot() }
            }
        }
        self.init(mean: mean, scale: scale)
    }

    /// A scaler with given statistics (one entry per feature).
    public init(mean: [Double], scale: [Double]) {
        precondition(mean.count == scale.count, "FeatureScaler: \(mean.count) means, \(scale.count) scales")
        self.mean = mean
        self.scale = scale
    }

    /// `data` with every feature scaled; labels unchanged.
    public func apply(to data: Dataset) -> Dataset {
        precondition(data.featureCount == mean.count,
                     "FeatureScaler.apply: dataset has \(data.featureCount) features, scaler \(mean.count)")
        var out = data
        let f = mean.count
        out.features.withUnsafeMutableBufferPointer { x in
            for i in 0..<x.count {
                let c = i % f
                x[i] = (x[i] - mean[c]) * scale[c]
            }
        }
        return out
    }
}
