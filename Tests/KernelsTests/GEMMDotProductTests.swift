import Testing
import Kernels
import DispatchLoop
import TestSupport

/// The dot-product path of `GEMM.multiply` (Note [GEMM dot products]): A·Bᵀ with a deep k and few
/// rows, read in place. Checked on every level this CPU runs that has it (AVX2, AVX-512; the
/// baseline must not take it): which shapes take it, accuracy
/// against the Double reference (edges of every tile, alpha and beta), the same bits for any worker
/// count and for rows that are or are not vector-aligned, and the epilogue's blocks.
@Suite struct GEMMDotProductTests {
    /// k from 513 to 1024: deep enough (32 vectors of 16 floats), within
    /// `CacheSizes.default`'s L1 for a tile's rows of B; m at most k/2. m not a multiple of 2 or 3
    /// (a last tile of 1 or 2 rows), n not a multiple of any tile width, k not a multiple of any
    /// vector.
    static let cases: [GEMMCase] = [
        GEMMCase(m: 64, n: 1024, k: 1024, tb: true),
        GEMMCase(m: 37, n: 203, k: 700, tb: true),
        GEMMCase(m: 1, n: 1, k: 513, tb: true),
        GEMMCase(m: 5, n: 3, k: 600, tb: true, alpha: 2.5),
        GEMMCase(m: 30, n: 77, k: 530, tb: true, alpha: -0.5, beta: 2),
        GEMMCase(m: 12, n: 40, k: 777, tb: true, beta: 1, pad: 3),
    ]

    /// The levels with dot-product tiles (AVX2, AVX-512) that this CPU runs.
    static let levels = KernelLevel.supported.filter { $0 != .baseline }

    @Test func whichProductsTakeIt() {
        for level in KernelLevel.supported where !Self.levels.contains(level) {
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 64, k: 1024, level: level))
        }
        for level in Self.levels {
            #expect(GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 64, k: 1024, level: level))
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: true, transposeB: true, m: 64, k: 1024, level: level))
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: false, m: 64, k: 1024, level: level))
            #expect(!GEMM.usesDotProducts(Double.self, transposeA: false, transposeB: true, m: 64, k: 1024, level: level))
            // Many rows (the packed path's transpose of B pays for itself) or a short k.
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 1024, k: 1024, level: level))
            // At most k/2 rows on AVX-512 and k/8 on AVX2 (its 3×4 tile).
            #expect(GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 256, k: 1024, level: level)
                    == (level == .avx512))
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 8, k: 64, level: level))
            // A tile's rows of B must fit in L1.
            let tiny = CacheSizes(l1: 4 << 10, l2: 64 << 10, l3: 1 << 20)
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 64, k: 1024, level: level,
                                          cache: tiny))
        }
    }

    @Test(arguments: 0..<cases.count)
    func withinTheErrorBound(index: Int) throws {
        let cs = Self.cases[index]
        for level in Self.levels {
            #expect(GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: cs.m, k: cs.k, level: level),
                    "\(cs) takes the dot-product path at \(level)")
            try checkGEMM(Float.self, cs, level: level)
            try checkGEMM(Float.self, cs, loop: DispatchParallelLoop(workers: 3), seed: 5, level: level)
        }
    }

    /// B's rows at every offset from a vector boundary (copied to aligned scratch when not
    /// aligned), A likewise, and 1 to 8 workers: all the same bits.
    @Test func sameBitsForAnyAlignmentAndWorkerCount() throws {
        let m = 24, n = 100, k = 1000
        var rng = TestRandom(seed: 31)
        let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(n * k)
        for level in Self.levels {
            var reference: [Float]? = nil
            for offset in [0, 1, 3, 8] {
                // Copies at `offset` floats past a 64-byte boundary.
                let aStore = UnsafeMutableRawPointer.allocate(byteCount: (m * k + 16) * 4, alignment: 64)
                let bStore = UnsafeMutableRawPointer.allocate(byteCount: (n * k + 16) * 4, alignment: 64)
                defer { aStore.deallocate(); bStore.deallocate() }
                let ap = aStore.bindMemory(to: Float.self, capacity: m * k + 16) + offset
                // B at 0, 5, 15 and 8 floats: on a 64-byte boundary (read in place), off it (copied).
                let bp = bStore.bindMemory(to: Float.self, capacity: n * k + 16) + offset * 5 % 16
                ap.update(from: a, count: m * k)
                bp.update(from: b, count: n * k)
                for loop in [SerialLoop()] + workerLoops {
                    var c = [Float](repeating: .nan, count: m * n)
                    try GEMM.multiply(transposeB: true, m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: k,
                                      c: &c, ldc: n, loop: loop, level: level)
                    if let reference {
                        let same = c == reference
                        #expect(same, "\(level), offset \(offset), \(loop.concurrency) workers")
                    } else {
                        reference = c
                    }
                }
            }
        }
    }

    /// An epilogue sees every element once, after its value is final: `relu(C + bias)` in the
    /// epilogue gives the bits of a second pass. With a 128 KiB L2 (a row block takes half of it)
    /// 100 rows of depth 800 make several row blocks, whose runs of column blocks the epilogue
    /// takes at once.
    @Test(arguments: [70, 100]) func epilogueBlocks(m: Int) throws {
        let n = 300, k = 800
        let cache = CacheSizes(l1: 32 << 10, l2: 128 << 10, l3: 8 << 20)
        var rng = TestRandom(seed: 9)
        let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(n * k), bias: [Float] = rng.floats(n)
        guard !Self.levels.isEmpty else { return }   // neither AVX2 nor AVX-512 here
        let level = Self.levels[0]
        #expect(GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: m, k: k, level: level,
                                     cache: cache))
        var plain = [Float](repeating: .nan, count: m * n)
        try GEMM.multiply(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: k, c: &plain, ldc: n, cache: cache,
                          level: level)
        for i in 0..<m { for j in 0..<n { plain[i * n + j] = Swift.max(0, plain[i * n + j] + bias[j]) } }
        for loop in [SerialLoop()] + workerLoops {
            var c = [Float](repeating: .nan, count: m * n)
            let visits = Locked([Int](repeating: 0, count: m * n))
            try c.withUnsafeMutableBufferPointer { cp in
                let address = Int(bitPattern: cp.baseAddress!)
                try a.withUnsafeBufferPointer { ap in
                    try b.withUnsafeBufferPointer { bp in
                        try GEMM.multiply(transposeB: true, m: m, n: n, k: k, a: ap.baseAddress!, lda: k,
                                          b: bp.baseAddress!, ldb: k, c: cp.baseAddress!, ldc: n, loop: loop,
                                          cache: cache, level: level) { rows, columns in
                            let y = UnsafeMutablePointer<Float>(bitPattern: address)!
                            for i in rows { for j in columns { y[i * n + j] = Swift.max(0, y[i * n + j] + bias[j]) } }
                            visits.withLock { v in for i in rows { for j in columns { v[i * n + j] += 1 } } }
                        }
                    }
                }
            }
            let same = c == plain
            #expect(same, "\(loop.concurrency) workers")
            #expect(visits.withLock { $0 }.allSatisfy { $0 == 1 }, "\(loop.concurrency) workers")
        }
    }

    /// Products A·B with a B narrower than two vectors and a deep k (Note [Narrow products as dot
    /// products]): they take the path through a transposed copy of B, within the error bound, with
    /// the bits of the same product with Bᵀ stored, for 1 to 8 workers. k not a multiple of a
    /// vector (the copy's rows are padded), n of 1 and up to 15, alpha, beta, padded rows.
    @Test func narrowProductsTakeItThroughATransposedB() throws {
        let cases = [
            GEMMCase(m: 32, n: 10, k: 256), GEMMCase(m: 7, n: 1, k: 300, alpha: 2), GEMMCase(m: 33, n: 15, k: 700, beta: 1),
            GEMMCase(m: 64, n: 9, k: 1024, alpha: -0.5, beta: 2, pad: 3),
        ]
        for level in KernelLevel.supported {
            let lanes = level == .avx512 ? 16 : 8
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: false, m: 32, n: 2 * lanes, k: 256,
                                          level: level), "\(level): as wide as two vectors")
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: true, transposeB: false, m: 32, n: 10, k: 256,
                                          level: level), "\(level): Aᵀ")
            #expect(!GEMM.usesDotProducts(Double.self, transposeA: false, transposeB: false, m: 32, n: 10, k: 256,
                                          level: level), "\(level): Double")
        }
        for level in Self.levels {
            var taken = 0
            for cs in cases {
                // As A·Bᵀ would (AVX-512 needs k of at least 512).
                let expected = GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: cs.m, k: cs.k,
                                                    level: level)
                #expect(GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: false, m: cs.m, n: cs.n, k: cs.k,
                                             level: level) == expected, "\(cs) at \(level)")
                guard expected else { continue }
                taken += 1
                let serial = try checkGEMM(Float.self, cs, level: level)
                for loop in workerLoops {
                    let c = try checkGEMM(Float.self, cs, loop: loop, level: level)
                    #expect(c == serial, "\(cs) at \(level), \(loop.concurrency) workers")
                }
                // The same product with Bᵀ stored: the same bits.
                var rng = TestRandom(seed: 4)
                let ldb = cs.k + cs.pad
                let a: [Float] = rng.floats(cs.m * (cs.k + cs.pad)), bt: [Float] = rng.floats(cs.n * ldb)
                var b = [Float](repeating: .nan, count: cs.k * (cs.n + cs.pad))
                for p in 0..<cs.k { for j in 0..<cs.n { b[p * (cs.n + cs.pad) + j] = bt[j * ldb + p] } }
                let c0: [Float] = rng.floats(cs.m * cs.n)
                var viaB = c0, viaBt = c0
                try GEMM.multiply(m: cs.m, n: cs.n, k: cs.k, alpha: Float(cs.alpha), a: a, lda: cs.k + cs.pad,
                                  b: b, ldb: cs.n + cs.pad, beta: Float(cs.beta), c: &viaB, ldc: cs.n, level: level)
                try GEMM.multiply(transposeB: true, m: cs.m, n: cs.n, k: cs.k, alpha: Float(cs.alpha), a: a,
                                  lda: cs.k + cs.pad, b: bt, ldb: ldb, beta: Float(cs.beta), c: &viaBt, ldc: cs.n,
                                  level: level)
                #expect(viaB == viaBt, "\(cs) at \(level)")
            }
            #expect(taken >= 3, "\(level)")
        }
    }
}

/// Products Aᵀ·B with a B narrower than two vectors and many rows, computed as the transpose of
/// Bᵀ·A (Note [Narrow products of a transposed A]): the first n columns of the same product with a
/// B 40 columns wide (which stays on the direct path) have the same bits, for any worker count
/// and alpha, and the epilogue sees every element once, after it is final.
@Suite struct GEMMTransposedResultTests {
    @Test(arguments: KernelLevel.supported)
    func sameBitsAsTheWideProduct(level: KernelLevel) throws {
        let wide = 40
        for (m, n, k, alpha) in [(256, 10, 32, Float(1)), (128, 1, 100, -0.5), (64, 15, 50, 2), (300, 7, 20, 1)] {
            var rng = TestRandom(seed: UInt64(m + n))
            let a: [Float] = rng.floats(k * m), b: [Float] = rng.floats(k * wide), bias: [Float] = rng.floats(n)
            var reference = [Float](repeating: .nan, count: m * wide)
            try GEMM.multiply(transposeA: true, m: m, n: wide, k: k, alpha: alpha, a: a, lda: m, b: b, ldb: wide,
                              c: &reference, ldc: wide, level: level)
            for loop in [SerialLoop()] + workerLoops {
                var c = [Float](repeating: .nan, count: m * n)
                let visits = Locked([Int](repeating: 0, count: m * n))
                try c.withUnsafeMutableBufferPointer { cp in
                    let address = Int(bitPattern: cp.baseAddress!)
                    try GEMM.multiply(transposeA: true, m: m, n: n, k: k, alpha: alpha, a: a, lda: m, b: b, ldb: wide,
                                      c: cp.baseAddress!, ldc: n, loop: loop, level: level) { rows, columns in
                        let y = UnsafeMutablePointer<Float>(bitPattern: address)!
                        for i in rows { for j in columns { y[i * n + j] += bias[j] } }
                        visits.withLock { v in for i in rows { for j in columns { v[i * n + j] += 1 } } }
                    }
                }
                let expected = (0..<m).flatMap { i in (0..<n).map { j in reference[i * wide + j] + bias[j] } }
                #expect(c == expected, "\(m)×\(n)×\(k) at \(level), \(loop.concurrency) workers")
                #expect(visits.withLock { $0 }.allSatisfy { $0 == 1 }, "\(m)×\(n)×\(k) at \(level)")
            }
        }
    }
}
