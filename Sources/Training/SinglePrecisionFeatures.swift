import Foundation
import Kernels

// Note [Single-precision features]: a `Dataset` keeps its features in Double, and every training
// step used to convert its batch's rows to Float while gathering them. With rows from a set larger
// than the caches (the synthetic MLP set: 6554 rows of 784 values, 41 MB in Double) that
// conversion streamed twice the bytes the Float batch needs and cost about 2% of a batch-256 step.
// The first Float gather makes a Float copy of all the features (the same `Float(x)` conversions,
// so the same bits), kept beside them until the features change; later gathers copy whole
// Float rows. It costs half the features' memory again, and only where Float batches are fed.

/// A lazily made Float copy of a dataset's features (Note [Single-precision features]), shared by
/// copies of the dataset until one of them changes its features. The copy lives on huge pages
/// where the system grants them (`LargeAllocation`): a shuffled batch reads its rows from all over
/// it, and with 4 KiB pages nearly every row costs a page walk. A C harness gathering 256 random
/// rows of 784 values from a 20 MB copy, the caches flushed between gathers: 76-84 µs on 4 KiB
/// pages, 41-42 µs on 2 MiB pages.
final class SinglePrecisionFeatures: @unchecked Sendable {
    // @unchecked Sendable: `storage` is written once under `lock`, then only read.
    private let lock = NSLock()
    private var storage: UnsafeMutableBufferPointer<Float>?   // the whole allocation
    private var count = 0

    deinit { storage.map { UnsafeMutableRawPointer($0.baseAddress!).deallocate() } }

    /// Calls `body` with the copy, made from `features` on first use.
    func withFloats<R>(of features: [Double], _ body: (UnsafeBufferPointer<Float>) throws -> R) rethrows -> R {
        try body(floats(of: features))
    }

    private func floats(of features: [Double]) -> UnsafeBufferPointer<Float> {
        lock.lock()
        defer { lock.unlock() }
        if storage == nil {
            let made = LargeAllocation.allocate(Float.self, capacity: features.count)
            for (i, x) in features.enumerated() { made[i] = Float(x) }
            storage = made
            count = features.count
        }
        return UnsafeBufferPointer(start: storage!.baseAddress, count: count)
    }
}
