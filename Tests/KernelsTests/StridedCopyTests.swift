import Testing
import Kernels
import TestSupport

struct StridedCopyTests {
    @Test func transposeSliceBroadcastAndConcat() throws {
        var rng = TestRandom(seed: 41)
        let x: [Float] = rng.floats(63 * 257)
        // Transpose 63×257 → 257×63.
        var t = [Float](repeating: 0, count: x.count)
        try StridedCopy.copy(shape: [257, 63], from: x, strides: [1, 257], to: &t)
        #expect(t == gather(x, shape: [257, 63], strides: [1, 257]))
        // Slice rows 5..<12, every second column from 3, read backwards in rows.
        var s = [Float](repeating: 0, count: 7 * 100)
        try x.withUnsafeBufferPointer { p in
            try StridedCopy.copy(shape: [7, 100], from: p.baseAddress! + 11 * 257 + 3, strides: [-257, 2], to: &s)
        }
        #expect(s == gather(x, offset: 11 * 257 + 3, shape: [7, 100], strides: [-257, 2]))
        // Broadcast a row to 17 rows.
        var b = [Float](repeating: 0, count: 17 * 257)
        try StridedCopy.copy(shape: [17, 257], from: x, strides: [0, 1], to: &b)
        #expect(b == gather(x, shape: [17, 257], strides: [0, 1]))
        // Concatenate two 7×3 blocks side by side into 7×6.
        var cat = [Float](repeating: 0, count: 7 * 6)
        try cat.withUnsafeMutableBufferPointer { c in
            try StridedCopy.copy(shape: [7, 3], from: x, strides: [3, 1], to: c.baseAddress!, strides: [6, 1])
            try StridedCopy.copy(shape: [7, 3], from: x, strides: [1, 7], to: c.baseAddress! + 3, strides: [6, 1])
        }
        for i in 0..<7 {
            for j in 0..<3 {
                #expect(cat[i * 6 + j] == x[i * 3 + j] && cat[i * 6 + 3 + j] == x[j * 7 + i])
            }
        }
        // Integers too (labels).
        var labels: [Int32] = [0, 0, 0]
        try StridedCopy.copy(shape: [3], from: [Int32(4), 5, 6], strides: [1], to: &labels)
        #expect(labels == [4, 5, 6])
    }

    /// Transposes of 4-byte values (8×8 register blocks, scalar edges) only move bits: Int32
    /// patterns that are signalling NaNs as floats come through unchanged, in a batch of
    /// transposes (a [2, 37, 45] tensor read as [2, 45, 37]) with sizes that are not multiples of 8.
    @Test func transposesMoveBitsExactly() throws {
        var rng = TestRandom(seed: 43)
        var x = (0..<(2 * 37 * 45)).map { _ in Int32(truncatingIfNeeded: rng.next()) }
        x[5] = Int32(bitPattern: 0x7f80_0001)     // a signalling NaN as a Float
        x[100] = Int32(bitPattern: 0xffc0_1234)   // a quiet NaN with a payload
        var t = [Int32](repeating: 0, count: x.count)
        try StridedCopy.copy(shape: [2, 45, 37], from: x, strides: [37 * 45, 1, 45], to: &t)
        #expect(t == gather(x, shape: [2, 45, 37], strides: [37 * 45, 1, 45]))
        let f = x.map { Float(bitPattern: UInt32(bitPattern: $0)) }
        var ft = [Float](repeating: 0, count: f.count)
        try StridedCopy.copy(shape: [2, 45, 37], from: f, strides: [37 * 45, 1, 45], to: &ft)
        #expect(ft.map(\.bitPattern) == t.map { UInt32(bitPattern: $0) })
    }

    /// Runs of contiguous values moved a last outer dimension at a time (`copy_runs`): attention's
    /// head split [b, t, h, d] -> [b, h, t, d] and merge back, with run lengths below, at and
    /// above a vector, 4-byte patterns that are NaNs as floats, and every worker count.
    @Test func headSplitAndMergeMoveRunsExactly() throws {
        var rng = TestRandom(seed: 44)
        for (b, t, h, d) in [(3, 5, 4, 16), (2, 7, 3, 5), (64, 32, 4, 16), (2, 3, 2, 9)] {
            var x = (0..<(b * t * h * d)).map { _ in Int32(truncatingIfNeeded: rng.next()) }
            x[0] = Int32(bitPattern: 0x7f80_0001)   // a signalling NaN as a Float
            let splitStrides = [t * h * d, d, h * d, 1]   // read [b, h, t, d] out of [b, t, h, d]
            let expected = gather(x, shape: [b, h, t, d], strides: splitStrides)
            for loop in [SerialLoop()] + workerLoops {
                var split = [Int32](repeating: 0, count: x.count)
                try StridedCopy.copy(shape: [b, h, t, d], from: x, strides: splitStrides, to: &split, loop: loop)
                #expect(split == expected, "split \([b, t, h, d]), \(loop.concurrency) workers")
                var merged = [Int32](repeating: 0, count: x.count)
                try StridedCopy.copy(shape: [b, t, h, d], from: split, strides: [h * t * d, d, t * d, 1], to: &merged, loop: loop)
                #expect(merged == x, "merge \([b, t, h, d]), \(loop.concurrency) workers")
            }
        }
    }

    @Test func sameBitsForAnyWorkerCount() throws {
        var rng = TestRandom(seed: 42)
        let x: [Float] = rng.floats(300 * 500)
        var serial = [Float](repeating: 0, count: x.count)
        try StridedCopy.copy(shape: [500, 300], from: x, strides: [1, 500], to: &serial)
        for loop in workerLoops {
            var out = [Float](repeating: 0, count: x.count)
            try StridedCopy.copy(shape: [500, 300], from: x, strides: [1, 500], to: &out, loop: loop)
            #expect(out == serial)
        }
    }

    @Test func badRankThrows() {
        var out = [Float](repeating: 0, count: 4)
        #expect(throws: KernelError.self) { try StridedCopy.copy(shape: [2, 2], from: [1, 2, 3, 4], strides: [1], to: &out) }
    }
}
