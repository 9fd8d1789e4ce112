import Testing
import Distributed

/// `BucketLayout`: how gradients are grouped for the all-reduce.
@Suite struct BucketLayoutTests {
    /// The MLP 784-1024-1024-10's parameters (w1, b1, w2, b2, w3, b3), in Floats.
    static let mlp = [784 * 1024, 1024, 1024 * 1024, 1024, 1024 * 10, 10]

    @Test func bucketsFillFromTheLastLayerAndCloseOnceFull() {
        let layout = BucketLayout(parameterSizes: Self.mlp, scalarBytes: 4, capBytes: 1 << 20)
        // Reverse order: b3 (40 B), w3 (40 KB), b2 (4 KB) stay under 1 MB; w2 (4 MB) fills the
        // bucket. Then b1 (4 KB) and w1 (3 MB), the rest.
        #expect(layout.buckets.map(\.parameters) == [[5, 4, 3, 2], [1, 0]])
        #expect(layout.buckets[0].offsets == [0, 10, 10 + 10240, 10 + 10240 + 1024])
        #expect(layout.buckets[0].count == 10 + 10240 + 1024 + 1048576)
        #expect(layout.buckets[1].offsets == [0, 1024])
        #expect(layout.buckets[1].count == 1024 + 802816)
        #expect(layout.location[2].bucket == 0 && layout.location[2].offset == 11274)
        #expect(layout.location[0].bucket == 1 && layout.location[0].offset == 1024)
        #expect(layout.sendOrder == [5, 4, 3, 2, 1, 0])
    }

    @Test func aLargeCapMakesOneBucketAndATinyOneABucketPerParameter() {
        let one = BucketLayout(parameterSizes: Self.mlp, scalarBytes: 4, capBytes: 25 << 20)
        #expect(one.buckets.count == 1)
        #expect(one.buckets[0].count == Self.mlp.reduce(0, +))
        let each = BucketLayout(parameterSizes: Self.mlp, scalarBytes: 8, capBytes: 1)
        #expect(each.buckets.map(\.parameters) == [[5], [4], [3], [2], [1], [0]])
        #expect(each.buckets.allSatisfy { $0.offsets == [0] })
    }

    @Test func theSummaryNamesEachBucketsSize() {
        let layout = BucketLayout(parameterSizes: [262144, 256], scalarBytes: 4, capBytes: 1024)
        #expect(layout.summary(scalarBytes: 4) == "bucket 0: 1 parameter, 1.0 KB; bucket 1: 1 parameter, 1.0 MB")
    }
}
