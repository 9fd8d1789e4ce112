import Testing
import Kernels
import DispatchLoop
import TestSupport

/// Double reference of a reduction over `axes` of a contiguous tensor, plus Σ|x| per output.
func referenceReduce(_ op: ReduceOp, _ x: [Float], shape: [Int], axes: Set<Int>) -> (values: [Double], magnitude: [Double], counts: Int) {
    let kept = shape.indices.filter { !axes.contains($0) }
    let outCount = kept.reduce(1) { $0 * shape[$1] }
    var values = [Double](repeating: op == .max ? -.infinity : (op == .min ? .infinity : 0), count: outCount)
    var mag = [Double](repeating: 0, count: outCount)
    var nan = [Bool](repeating: false, count: outCount)
    let strides = Broadcast.contiguousStrides(shape)
    for flat in x.indices {
        var o = 0
        for d in kept { o = o * shape[d] + (flat / strides[d]) % shape[d] }
        let v = Double(x[flat])
        if v.isNaN { nan[o] = true }
        switch op {
        case .sum, .mean: values[o] += v
        case .max: values[o] = max(values[o], v)
        case .min: values[o] = min(values[o], v)
        }
        mag[o] += abs(v)
    }
    let n = shape.reduce(1, *) / max(1, outCount)
    for o in 0..<outCount {
        if nan[o] { values[o] = .nan }
        if op == .mean { values[o] /= Double(n); mag[o] /= Double(n) }
    }
    return (values, mag, n)
}

struct ReductionTests {
    static let cases: [([Int], [Int])] = [
        ([1000], [0]), ([7], [0]), ([1], [0]), ([257, 63], [1]), ([257, 63], [0]), ([63, 257], [0, 1]),
        ([17, 7, 255], [0, 2]), ([17, 7, 255], [1]), ([4, 17, 1, 63], [0, 1]), ([3, 5, 7, 9], [1, 3]),
        ([2, 3, 4], []), ([17, 1], [1]),
    ]

    @Test func matchesReference() throws {
        var rng = TestRandom(seed: 11)
        for (shape, axes) in Self.cases {
            let x: [Float] = rng.floats(shape.reduce(1, *))
            for op in ReduceOp.allCases {
                let ref = referenceReduce(op, x, shape: shape, axes: Set(axes))
                var out = [Float](repeating: -7, count: ref.values.count)
                try Reduction.reduce(op, x, shape: shape, axes: axes, into: &out)
                let eps = Double(Float.ulpOfOne)
                for i in out.indices {
                    // Sums: any order is within (n-1)·eps·Σ|x|; max/min are exact.
                    let bound = (op == .sum || op == .mean) ? Double(ref.counts + 1) * eps * ref.magnitude[i] : 0
                    #expect(abs(Double(out[i]) - ref.values[i]) <= bound, "\(op) \(shape) axes \(axes) at \(i)")
                }
            }
        }
    }

    /// A NaN among the first 32 values of a row (the folds' initial accumulators), in the middle
    /// (the vector loop) or in the last 4 (the tail) makes the row's result NaN, and no other.
    @Test func nanPropagates() throws {
        var x = (0..<600).map { Float($0 % 97) - 40 }
        x[2 * 100 + 37] = .nan
        x[4 * 100 + 3] = .nan
        x[5 * 100 + 98] = .nan
        for op in ReduceOp.allCases {
            var rows = [Float](repeating: 0, count: 6), cols = [Float](repeating: 0, count: 100)
            try Reduction.reduce(op, x, shape: [6, 100], axes: [1], into: &rows)
            try Reduction.reduce(op, x, shape: [6, 100], axes: [0], into: &cols)
            #expect(rows.map(\.isNaN) == [false, false, true, false, true, true], "\(op)")
            #expect(cols.indices.filter { cols[$0].isNaN } == [3, 37, 98], "\(op)")
        }
        var idx: [Int32] = [0]
        try Reduction.argmax([1, .nan, 5, Float.nan], shape: [4], axis: 0, into: &idx)
        #expect(idx == [1])
    }

    @Test func argmaxMatchesReference() throws {
        var rng = TestRandom(seed: 12)
        let shape = [7, 63, 17]
        var x: [Float] = rng.floats(shape.reduce(1, *))
        x[5] = x[4]   // a tie: the first index wins
        for axis in 0..<3 {
            let n = shape[axis], outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
            var out = [Int32](repeating: -1, count: outer * inner)
            try Reduction.argmax(x, shape: shape, axis: axis, into: &out, loop: DispatchParallelLoop(workers: 3))
            for o in 0..<outer {
                for i in 0..<inner {
                    var best = 0
                    for j in 1..<n where x[(o * n + j) * inner + i] > x[(o * n + best) * inner + i] { best = j }
                    #expect(out[o * inner + i] == Int32(best))
                }
            }
        }
    }

    @Test func badAxesThrow() {
        var out = [Float](repeating: 0, count: 4)
        #expect(throws: KernelError.self) { try Reduction.reduce(.sum, [1, 2, 3, 4], shape: [2, 2], axes: [2], into: &out) }
        #expect(throws: KernelError.self) { try Reduction.reduce(.sum, [1, 2, 3, 4], shape: [2, 2], axes: [0, 0], into: &out) }
        var idx: [Int32] = [0]
        #expect(throws: KernelError.self) { try Reduction.argmax([1, 2], shape: [2], axis: 1, into: &idx) }
    }

    @Test func sameBitsForAnyWorkerCount() throws {
        var rng = TestRandom(seed: 13)
        let shape = [64, 33, 129]
        let x: [Float] = rng.floats(shape.reduce(1, *))
        for axes in [[0], [2], [0, 2], [1], [0, 1, 2]] {
            for op in ReduceOp.allCases {
                let outCount = shape.indices.filter { !axes.contains($0) }.reduce(1) { $0 * shape[$1] }
                var serial = [Float](repeating: 0, count: outCount)
                try Reduction.reduce(op, x, shape: shape, axes: axes, into: &serial)
                for loop in workerLoops {
                    var out = [Float](repeating: 0, count: outCount)
                    try Reduction.reduce(op, x, shape: shape, axes: axes, into: &out, loop: loop)
                    #expect(out == serial, "\(op) axes \(axes) with \(loop.concurrency) workers")
                }
            }
        }
    }

    /// Sums down the rows of a matrix (a bias gradient) add the rows in order, `((x₀ + x₁) + x₂) + …`
    /// for every column, bitwise, at every width around the column kernel's vector blocks (and
    /// beyond its 2048-column pieces, on several workers too); max and min give the column's
    /// extreme, and a NaN only its own column's NaN. (One column is a contiguous run: the run
    /// order above applies to it.)
    @Test(arguments: [2, 7, 8, 9, 63, 64, 65, 100, 257, 2100])
    func columnFoldsAddTheRowsInOrder(n: Int) throws {
        var random = TestRandom(seed: UInt64(100 + n))
        for rows in [1, 2, 33] {
            var x = (0..<(rows * n)).map { _ in Float.random(in: -1...1, using: &random) * 1000 }
            var expected = Array(x[0..<n])
            for r in 1..<rows { for j in 0..<n { expected[j] += x[r * n + j] } }
            for loop in [SerialLoop()] + workerLoops {
                var out = [Float](repeating: 0, count: n)
                try Reduction.reduce(.sum, x, shape: [rows, n], axes: [0], into: &out, loop: loop)
                #expect(out.map(\.bitPattern) == expected.map(\.bitPattern), "\(rows)×\(n), \(loop.concurrency) workers")
            }
            let nanColumn = n / 2
            x[(rows - 1) * n + nanColumn] = .nan
            for op in [ReduceOp.max, .min] {
                var out = [Float](repeating: 0, count: n)
                try Reduction.reduce(op, x, shape: [rows, n], axes: [0], into: &out)
                for j in 0..<n {
                    let column = (0..<rows).map { x[$0 * n + j] }
                    if j == nanColumn { #expect(out[j].isNaN, "\(op) \(rows)×\(n) column \(j)"); continue }
                    #expect(out[j] == (op == .max ? column.max()! : column.min()!), "\(op) \(rows)×\(n) column \(j)")
                }
            }
        }
    }

    /// The summation order documented on `Reduction`, written out in scalar code: 4 accumulators
    /// of 8 lanes over whole 32-element blocks, `(a0 + a1) + (a2 + a3)`, lanes halved pairwise,
    /// then the tail in order. Sums over all axes and over trailing axes (the direct path) match it
    /// bitwise, for small and awkward lengths.
    @Test(arguments: [1, 7, 31, 32, 33, 63, 64, 100, 257, 1000])
    func sumOrderIsTheDocumentedOne(n: Int) throws {
        var random = TestRandom(seed: UInt64(n))
        let rows = 3
        let x = (0..<(rows * n)).map { _ in Float.random(in: -1...1, using: &random) * 1000 }
        func documented(_ v: ArraySlice<Float>) -> Float {
            let v = Array(v)
            var i = 0
            var result: Float
            if v.count >= 32 {
                var acc = (0..<4).map { a in (0..<8).map { l in v[a * 8 + l] } }
                i = 32
                while i + 32 <= v.count {
                    for a in 0..<4 { for l in 0..<8 { acc[a][l] += v[i + a * 8 + l] } }
                    i += 32
                }
                var lanes = (0..<8).map { l in (acc[0][l] + acc[1][l]) + (acc[2][l] + acc[3][l]) }
                var half = 4
                while half >= 1 {
                    for l in 0..<half { lanes[l] += lanes[l + half] }
                    half /= 2
                }
                result = lanes[0]
            } else {
                result = v[0]
                i = 1
            }
            while i < v.count { result += v[i]; i += 1 }
            return result
        }
        var all = [Float](repeating: 0, count: 1)
        try Reduction.reduce(.sum, x, shape: [rows * n], axes: [0], into: &all)
        #expect(all[0].bitPattern == documented(x[...]).bitPattern)
        var perRow = [Float](repeating: 0, count: rows)
        try Reduction.reduce(.sum, x, shape: [rows, 1, n], axes: [2, 1], into: &perRow)
        for r in 0..<rows {
            #expect(perRow[r].bitPattern == documented(x[(r * n)..<((r + 1) * n)]).bitPattern, "row \(r) of length \(n)")
        }
    }
}
