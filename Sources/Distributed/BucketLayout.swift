/// How parameters' gradients are grouped for the all-reduce: buckets of about `capBytes`, filled
/// in reverse parameter order (the last layers' gradients are computed first in backprop, so
/// their bucket can be sent while earlier layers' gradients are still being computed). A bucket
/// closes once it holds at least `capBytes` (one parameter larger than that gets a bucket of its
/// own); bucket 0 is reduced first.
///
/// ```swift
/// let layout = BucketLayout(parameterSizes: [784 * 1024, 1024, 1024 * 10, 10], scalarBytes: 4, capBytes: 1 << 20)
/// layout.buckets.map(\.parameters)   // [[3, 2, 1], [0]]: bias and weights of the last layer first
/// ```
public struct BucketLayout: Sendable, Equatable {
    /// One bucket: the parameters it holds (in reduction order) and where each starts in it.
    public struct Bucket: Sendable, Equatable {
        /// Parameter indices, in the order their gradients are laid out.
        public let parameters: [Int]
        /// Element offset of each parameter's gradient in the bucket.
        public let offsets: [Int]
        /// Elements in the bucket.
        public let count: Int
    }

    /// The buckets, in reduction order.
    public let buckets: [Bucket]
    /// Per parameter: its bucket and element offset in that bucket.
    public let location: [(bucket: Int, offset: Int)]

    /// Groups parameters of `parameterSizes` elements (`scalarBytes` each) into buckets of at least
    /// `capBytes` (the last may be smaller).
    public init(parameterSizes: [Int], scalarBytes: Int, capBytes: Int) {
        precondition(scalarBytes > 0 && capBytes > 0, "BucketLayout: scalarBytes and capBytes must be positive")
        var buckets: [Bucket] = []
        var location = [(bucket: Int, offset: Int)](repeating: (0, 0), count: parameterSizes.count)
        var members: [Int] = [], offsets: [Int] = [], count = 0
        for p in parameterSizes.indices.reversed() {
            location[p] = (buckets.count, count)
            members.append(p)
            offsets.append(count)
            count += parameterSizes[p]
            if count * scalarBytes >= capBytes {
                buckets.append(Bucket(parameters: members, offsets: offsets, count: count))
                members = []; offsets = []; count = 0
            }
        }
        if !members.isEmpty { buckets.append(Bucket(parameters: members, offsets: offsets, count: count)) }
        self.buckets = buckets
        self.location = location
    }

    /// The order in which parameters' gradients are sent (bucket 0's first): hooks ranked by
    /// it make the plan compute those gradients first.
    public var sendOrder: [Int] { buckets.flatMap(\.parameters) }

    public static func == (a: BucketLayout, b: BucketLayout) -> Bool {
        a.buckets == b.buckets
    }

    /// One line per bucket, for logs and start-up checks: `bucket 0: 4 parameters, 1.2 MB`.
    public func summary(scalarBytes: Int) -> String {
        buckets.enumerated().map { i, b in
            "bucket \(i): \(b.parameters.count) parameter\(b.parameters.count == 1 ? "" : "s"), \(Communicator.bytes(b.count * scalarBytes))"
        }.joined(separator: "; ")
    }
}
