import Foundation

// Note [Single-precision features]: a `Dataset` keeps its features in Double, and every training
// step used to convert its batch's rows to Float while gathering them. With rows from a set larger
// than the caches (the synthetic MLP set: 6554 rows of 784 values, 41 MB in Double) that
// conversion streamed twice the bytes the Float batch needs and cost about 2% of a batch-256 step.
// The first Float gather makes a Float copy of all the features (the same `Float(x)` conversions,
// so the same bits), kept beside them until the features change; later gathers copy whole
// Float rows. It costs half the features' memory again, and only where Float batches are fed.

/// A lazily made Float copy of a dataset's features (Note [Single-precision features]), shared by
/// copies of the dataset until one of them changes its features.
final class SinglePrecisionFeatures: @unchecked Sendable {
    // @unchecked Sendable: `values` is read and written only under `lock`.
    private let lock = NSLock()
    private var values: [Float]?

    /// The copy, made from `features` on first use.
    func floats(of features: [Double]) -> [Float] {
        lock.lock()
        defer { lock.unlock() }
        if let values { return values }
        let made = features.map { Float($0) }
        values = made
        return made
    }
}
