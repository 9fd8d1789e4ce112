import Tensor
/// The minibatches of one epoch: a (seeded, shuffled) order of rows cut into runs of `batchSize`.
/// The last batch keeps the remainder (it is shorter, never dropped).
///
/// The shuffle of epoch `e` comes from `SeededGenerator(seed: Minibatches.shuffleSeed(seed, epoch: e))`,
/// so `(seed, epoch)` is the whole random state of the data order: a run resumed at epoch `e` sees
/// the same batches as one that never stopped.
/// ```swift
/// let batches = Minibatches(rows: train.count, batchSize: 64, seed: 42, epoch: 0)
/// for b in 0..<batches.count {
///     train.gather(rows: batches[b], features: x, labels: y)
/// }
/// ```
public struct Minibatches: Sendable, Equatable {
    /// Row indices in visiting order.
    public let order: [Int]
    /// Rows per batch (the last batch may have fewer).
    public let batchSize: Int

    /// Batches over `rows` in a seeded shuffled order for `epoch`.
    public init(rows: Int, batchSize: Int, seed: UInt64, epoch: Int) {
        var rng = SeededGenerator(seed: Minibatches.shuffleSeed(seed, epoch: epoch))
        self.init(order: rng.permutation(rows), batchSize: batchSize)
    }

    /// Batches over `order` as given (e.g. `Array(0..<n)` for evaluation).
    public init(order: [Int], batchSize: Int) {
        precondition(batchSize > 0, "Minibatches: batch size must be positive, got \(batchSize)")
        self.order = order
        self.batchSize = batchSize
    }

    /// The seed of epoch `epoch`'s shuffle, derived from the run's seed.
    public static func shuffleSeed(_ seed: UInt64, epoch: Int) -> UInt64 {
        seed ^ (UInt64(truncatingIfNeeded: epoch &+ 1) &* 0xD1B5_4A32_D192_ED03)
    }

    /// Number of batches (the last one possibly partial).
    public var count: Int { (order.count + batchSize - 1) / batchSize }

    /// The rows of batch `index`.
    public subscript(index: Int) -> ArraySlice<Int> {
        precondition(index >= 0 && index < count, "Minibatches: batch \(index) outside 0..<\(count)")
        return order[(index * batchSize)..<min((index + 1) * batchSize, order.count)]
    }
}
