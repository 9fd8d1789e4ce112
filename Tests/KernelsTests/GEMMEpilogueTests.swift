import Testing
import Kernels
import DispatchLoop
import TestSupport

/// `GEMM.multiply`'s epilogue (Note [GEMM epilogues]): every element of C is handed over exactly
/// once, after its last k block, and an elementwise epilogue gives the same bits as a second pass
/// over C, for every path (small and packed, several k blocks, panels in runs) and worker count.
@Suite struct GEMMEpilogueTests {
    /// Small (direct path), packed with one and several k blocks, wide enough for several column
    /// runs, column groups per worker with several k blocks, column chunks (several per worker),
    /// and edges that are not multiples of
    /// any tile.
    static let shapes: [(m: Int, n: Int, k: Int)] = [
        (1, 1, 1), (7, 5, 3), (64, 64, 64), (37, 130, 21), (256, 1024, 300), (200, 300, 700), (33, 2100, 40), (40, 800, 900),
        GEMMTests.chunkedCase.shape,
    ]

    /// `y = relu(A·B + bias)` with the bias and activation in the epilogue, against the product
    /// followed by a separate pass: the same bits.
    @Test(arguments: 0..<shapes.count)
    func biasAndActivationMatchASecondPass(index: Int) throws {
        let (m, n, k) = Self.shapes[index]
        var rng = TestRandom(seed: UInt64(index + 11))
        let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(k * n), bias: [Float] = rng.floats(n)
        // A small L2 makes the packed path cut wide items into several column runs.
        let caches: [CacheSizes] = [.default, CacheSizes(l1: 32 << 10, l2: 256 << 10, l3: 8 << 20)]
        for cache in caches {
            var plain = [Float](repeating: .nan, count: m * n)
            try GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &plain, ldc: n, cache: cache)
            for i in 0..<m { for j in 0..<n { plain[i * n + j] = Swift.max(0, plain[i * n + j] + bias[j]) } }
            for loop in [SerialLoop()] + workerLoops {
                let fused = try Self.fused(m: m, n: n, k: k, a: a, b: b, bias: bias, loop: loop, cache: cache)
                #expect(fused.values == plain, "m\(m) n\(n) k\(k) \(cache) workers \(loop.concurrency)")
                #expect(fused.visits.allSatisfy { $0 == 1 }, "every element handed over once: m\(m) n\(n) k\(k)")
            }
        }
    }

    /// `beta` and an empty `k`: the epilogue still sees all of C once, after C is scaled.
    @Test func epilogueAfterScaling() throws {
        let m = 5, n = 9
        var c = [Float](repeating: 2, count: m * n)
        let seen = Locked([Int](repeating: 0, count: m * n))
        try c.withUnsafeMutableBufferPointer { cp in
            let address = Int(bitPattern: cp.baseAddress!)
            try GEMM.multiply(m: m, n: n, k: 0, a: [], lda: 1, b: [], ldb: n, beta: 3, c: cp.baseAddress!, ldc: n) { rows, columns in
                let p = UnsafeMutablePointer<Float>(bitPattern: address)!
                seen.withLock { s in for i in rows { for j in columns { s[i * n + j] += 1; p[i * n + j] += 1 } } }
            }
        }
        #expect(c.allSatisfy { $0 == 7 })
        #expect(seen.withLock { $0 }.allSatisfy { $0 == 1 })
    }

    static func fused(m: Int, n: Int, k: Int, a: [Float], b: [Float], bias: [Float], loop: any ParallelLoop,
                      cache: CacheSizes) throws -> (values: [Float], visits: [Int]) {
        var c = [Float](repeating: .nan, count: m * n)
        let visits = Locked([Int](repeating: 0, count: m * n))
        try c.withUnsafeMutableBufferPointer { cp in
            try bias.withUnsafeBufferPointer { bp in
                let out = Int(bitPattern: cp.baseAddress!), row = Int(bitPattern: bp.baseAddress!)
                try GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: cp.baseAddress!, ldc: n,
                                  loop: loop, cache: cache) { rows, columns in
                    let y = UnsafeMutablePointer<Float>(bitPattern: out)!, v = UnsafePointer<Float>(bitPattern: row)!
                    for i in rows { for j in columns { y[i * n + j] = Swift.max(0, y[i * n + j] + v[j]) } }
                    visits.withLock { s in for i in rows { for j in columns { s[i * n + j] += 1 } } }
                }
            }
        }
        return (c, visits.withLock { $0 })
    }
}
