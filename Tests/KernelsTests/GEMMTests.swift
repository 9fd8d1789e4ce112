import Testing
import Kernels
import DispatchLoop
import TestSupport

/// Plain triple-loop reference in Double: C = alpha·op(A)·op(B) + beta·C, plus Σ|a||b| per element
/// for the error bound.
func referenceGEMM<T: KernelFloat>(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: T, a: [T], lda: Int,
    b: [T], ldb: Int, beta: T, c: [T], ldc: Int
) -> (values: [Double], magnitude: [Double]) {
    var out = c.map { Double($0) }, mag = [Double](repeating: 0, count: c.count)
    for i in 0..<m {
        for j in 0..<n {
            var s = 0.0, sa = 0.0
            for p in 0..<k {
                let x = Double(transposeA ? a[p * lda + i] : a[i * lda + p])
                let y = Double(transposeB ? b[j * ldb + p] : b[p * ldb + j])
                s += x * y
                sa += abs(x * y)
            }
            let old = Double(c[i * ldc + j])
            out[i * ldc + j] = Double(alpha) * s + (beta == 0 ? 0 : Double(beta) * old)
            mag[i * ldc + j] = abs(Double(alpha)) * sa + abs(Double(beta) * old)
        }
    }
    return (out, mag)
}

struct GEMMCase: CustomStringConvertible, Sendable {
    var m: Int, n: Int, k: Int, ta = false, tb = false, alpha = 1.0, beta = 0.0, pad = 0
    var description: String { "m\(m) n\(n) k\(k) ta\(ta) tb\(tb) α\(alpha) β\(beta) pad\(pad)" }
    var shape: (m: Int, n: Int, k: Int) { (m, n, k) }
}

/// Runs one case in type T and checks every element against the reference within
/// `(k + 2) · eps · (|alpha| Σ|a||b| + |beta c|)` (the standard dot-product error bound);
/// returns C for bitwise comparisons.
@discardableResult
func checkGEMM<T: KernelFloat>(_ t: T.Type, _ cs: GEMMCase, loop: any ParallelLoop = SerialLoop(),
                               cache: CacheSizes = .default, seed: UInt64 = 1,
                               level: KernelLevel = .current) throws -> [T]
where T.RawSignificand: FixedWidthInteger {
    var rng = TestRandom(seed: seed)
    let (aRows, aCols) = cs.ta ? (cs.k, cs.m) : (cs.m, cs.k)
    let (bRows, bCols) = cs.tb ? (cs.n, cs.k) : (cs.k, cs.n)
    let lda = aCols + cs.pad, ldb = bCols + cs.pad, ldc = cs.n + cs.pad
    let a: [T] = rng.floats(max(1, aRows * lda)), b: [T] = rng.floats(max(1, bRows * ldb))
    var c: [T] = rng.floats(max(1, cs.m * ldc))
    let c0 = c
    let ref = referenceGEMM(transposeA: cs.ta, transposeB: cs.tb, m: cs.m, n: cs.n, k: cs.k, alpha: T(cs.alpha),
                            a: a, lda: lda, b: b, ldb: ldb, beta: T(cs.beta), c: c, ldc: ldc)
    try a.withUnsafeBufferPointer { ap in
        try b.withUnsafeBufferPointer { bp in
            try c.withUnsafeMutableBufferPointer { cp in
                try GEMM.multiply(transposeA: cs.ta, transposeB: cs.tb, m: cs.m, n: cs.n, k: cs.k, alpha: T(cs.alpha),
                                  a: ap.baseAddress!, lda: lda, b: bp.baseAddress!, ldb: ldb, beta: T(cs.beta),
                                  c: cp.baseAddress!, ldc: ldc, loop: loop, cache: cache, level: level)
            }
        }
    }
    let eps = Double(T.ulpOfOne)
    var bad = 0
    for i in 0..<cs.m {
        for j in 0..<ldc {
            let idx = i * ldc + j
            if j >= cs.n {
                if c[idx] != c0[idx] { bad += 1 }   // padding untouched
                continue
            }
            let bound = Double(cs.k + 2) * eps * ref.magnitude[idx] + Double(T.leastNormalMagnitude)
            if abs(Double(c[idx]) - ref.values[idx]) > bound { bad += 1 }
        }
    }
    #expect(bad == 0, "\(T.self) \(cs) at \(level): \(bad) elements outside the bound")
    return c
}

@Suite struct GEMMTests {
    static let sizes = [1, 7, 17, 63, 255, 257]

    @Test(arguments: [false, true], [false, true])
    func awkwardSizesFloat(ta: Bool, tb: Bool) throws {
        for m in [1, 7, 17, 63] {
            for n in [1, 7, 17, 63] {
                for k in [1, 7, 63] {
                    try checkGEMM(Float.self, GEMMCase(m: m, n: n, k: k, ta: ta, tb: tb))
                }
            }
        }
        try checkGEMM(Float.self, GEMMCase(m: 255, n: 257, k: 255, ta: ta, tb: tb))
        try checkGEMM(Float.self, GEMMCase(m: 257, n: 63, k: 1000, ta: ta, tb: tb))
    }

    @Test(arguments: [(1.0, 0.0), (2.5, 0.0), (1.0, 1.0), (-0.5, 2.0), (0.0, 3.0)])
    func alphaBeta(alpha: Double, beta: Double) throws {
        for cs in [GEMMCase(m: 17, n: 33, k: 9), GEMMCase(m: 200, n: 300, k: 700, pad: 3)] {
            var c = cs; c.alpha = alpha; c.beta = beta
            try checkGEMM(Float.self, c)
            try checkGEMM(Double.self, c)
        }
    }

    /// Widths that are whole panels (B read in place on the direct path), with padded rows.
    @Test func wholePanelWidths() throws {
        for cs in [GEMMCase(m: 64, n: 64, k: 64), GEMMCase(m: 7, n: 32, k: 17, beta: 1, pad: 3),
                   GEMMCase(m: 33, n: 256, k: 100, alpha: -1, beta: 0.5, pad: 1), GEMMCase(m: 5, n: 48, k: 9, ta: true)] {
            try checkGEMM(Float.self, cs)
            try checkGEMM(Double.self, cs)
        }
    }

    @Test func doublePrecision() throws {
        for cs in [GEMMCase(m: 7, n: 9, k: 5), GEMMCase(m: 63, n: 17, k: 255, ta: true),
                   GEMMCase(m: 130, n: 257, k: 300, tb: true), GEMMCase(m: 257, n: 255, k: 257, ta: true, tb: true)] {
            try checkGEMM(Double.self, cs)
        }
    }

    /// Small caches force the packed path with several k, m and n blocks on modest sizes.
    @Test func packedPathWithSmallBlocks() throws {
        let tiny = CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10)
        for cs in [GEMMCase(m: 100, n: 150, k: 200), GEMMCase(m: 61, n: 77, k: 130, ta: true, tb: true, beta: 1, pad: 5)] {
            try checkGEMM(Float.self, cs, cache: tiny)
            try checkGEMM(Double.self, cs, cache: tiny)
        }
    }

    /// A product that takes column chunks: 4 per worker on 2 workers in release builds; one per
    /// worker in debug builds (the sanitizer runs), where the large case takes minutes and holds
    /// up the time-limited Scheduler tests running beside it.
    #if DEBUG
    static let chunkedCase = GEMMCase(m: 200, n: 1100, k: 120, beta: 0.5)
    #else
    static let chunkedCase = GEMMCase(m: 2048, n: 1100, k: 120, beta: 0.5)
    #endif

    @Test func sameBitsForAnyWorkerCount() throws {
        let tiny = CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10)
        for (cs, cache) in [(GEMMCase(m: 300, n: 200, k: 100), CacheSizes.default),
                            (GEMMCase(m: 6, n: 1000, k: 300, tb: true, beta: 1), CacheSizes.default),
                            (GEMMCase(m: 130, n: 97, k: 150, ta: true, alpha: 2, beta: 0.5), tiny),
                            (GEMMCase(m: 257, n: 513, k: 300), CacheSizes.default),
                            // Column chunks claimed by whichever worker is free (Note [GEMM column
                            // chunks]) through several k blocks (Note [GEMM chunks of several k
                            // blocks]), also with tiny caches; one k block; and fixed column groups
                            // (Note [GEMM column groups]) where a worker's copy of op(A) would exceed
                            // four times the L2 (16 KiB here), with several k blocks in the second.
                            (GEMMCase(m: 70, n: 1100, k: 900, ta: true, beta: 1, pad: 3), CacheSizes.default),
                            (GEMMCase(m: 50, n: 800, k: 100, tb: true, alpha: -1), tiny),
                            (Self.chunkedCase, CacheSizes.default),
                            (GEMMCase(m: 200, n: 600, k: 100, tb: true), tiny),
                            (GEMMCase(m: 120, n: 600, k: 300, beta: 1), tiny),
                            // Fewer row tiles than workers, cut into one block per tile and shared
                            // (Note [Row blocks for many workers]): on 8 workers several start on
                            // the same block and wait for it; on 2 the rows are two blocks.
                            (GEMMCase(m: 20, n: 2100, k: 400, beta: 0.5), CacheSizes.default)] {
            let serial = try checkGEMM(Float.self, cs, cache: cache)
            for loop in workerLoops {
                let parallel = try checkGEMM(Float.self, cs, loop: loop, cache: cache)
                // (Not `#expect(serial == parallel)`: a failure would print both arrays, millions of
                // values, which takes minutes.)
                let mismatch = serial.indices.first { serial[$0].bitPattern != parallel[$0].bitPattern }
                #expect(mismatch == nil, "\(cs) with \(loop.concurrency) workers: first difference at \(mismatch ?? -1)")
            }
        }
    }

    /// Random shapes, transposes, scalars, paddings, cache sizes and worker counts.
    @Test func randomCases() throws {
        var rng = TestRandom(seed: 2026)
        let caches = [CacheSizes.default, CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10),
                      CacheSizes(l1: 48 << 10, l2: 1 << 20, l3: 8 << 20)]
        for i in 0..<40 {
            var cs = GEMMCase(m: Int.random(in: 1...300, using: &rng), n: Int.random(in: 1...300, using: &rng),
                              k: Int.random(in: 1...400, using: &rng))
            cs.ta = Bool.random(using: &rng); cs.tb = Bool.random(using: &rng)
            cs.alpha = [1, -1, 0.5, 3][i % 4]; cs.beta = [0, 1, -2, 0.25][(i / 4) % 4]
            cs.pad = Int.random(in: 0...3, using: &rng)
            let cache = caches[i % caches.count]
            let loop: any ParallelLoop = i % 2 == 0 ? SerialLoop() : DispatchParallelLoop(workers: 1 + i % 4)
            if i % 5 == 0 {
                try checkGEMM(Double.self, cs, loop: loop, cache: cache, seed: UInt64(i))
            } else {
                try checkGEMM(Float.self, cs, loop: loop, cache: cache, seed: UInt64(i))
            }
        }
    }

    /// A transposed B is packed by 8×8 register transposes (Float, whole panels) or a scalar gather
    /// (edges, Double); either way the packed panels hold the same values as when Bᵀ is stored, so
    /// op(A)·Bᵀ must give exactly the bits of op(A)·(Bᵀ materialized), on the direct and packed paths,
    /// with k not a multiple of 8, n not a multiple of 16 and padded rows.
    @Test func transposedBSameBitsAsMaterialized() throws {
        let tiny = CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10)
        var rng = TestRandom(seed: 77)
        let loops: [any ParallelLoop] = [SerialLoop()] + workerLoops
        let cases: [(Int, Int, Int, Bool, CacheSizes)] = [
            (20, 100, 203, false, .default), (70, 300, 777, false, .default), (33, 64, 64, true, .default),
            (61, 157, 130, true, tiny), (64, 784, 1024, false, .default), (500, 300, 777, false, .default),
            (64, 784, 1024, false, tiny)]
        for (m, n, k, ta, cache) in cases {
            // Products of rows by rows with a deep k take dot products instead (GEMMDotProductTests).
            if GEMM.usesDotProducts(Float.self, transposeA: ta, transposeB: true, m: m, k: k, cache: cache) { continue }
            let ldb = k + 3
            let (aRows, aCols) = ta ? (k, m) : (m, k)
            let a: [Float] = rng.floats(aRows * aCols), b: [Float] = rng.floats(n * ldb)
            var bt = [Float](repeating: 0, count: k * n)
            for j in 0..<n { for p in 0..<k { bt[p * n + j] = b[j * ldb + p] } }
            for loop in loops {
                var c1 = [Float](repeating: 0, count: m * n), c2 = c1
                try GEMM.multiply(transposeA: ta, transposeB: true, m: m, n: n, k: k, a: a, lda: aCols, b: b, ldb: ldb,
                                  c: &c1, ldc: n, loop: loop, cache: cache)
                try GEMM.multiply(transposeA: ta, m: m, n: n, k: k, a: a, lda: aCols, b: bt, ldb: n,
                                  c: &c2, ldc: n, loop: loop, cache: cache)
                let same = c1 == c2   // (not inside #expect: it would print both arrays)
                #expect(same, "m\(m) n\(n) k\(k) ta\(ta) with \(loop.concurrency) workers")
            }
        }
    }

    /// Panels packed by their first tiles (Note [GEMM packing in the first tile]: B not
    /// transposed, one worker or a worker's own columns) against panels packed ahead (the same
    /// product with B stored transposed, which is always packed ahead): the same bits, on 1 to 8
    /// workers, with a partial last panel, one or several k blocks, and a first row block of one
    /// whole tile and a bit.
    @Test func panelsPackedInTheirFirstTiles() throws {
        let tiny = CacheSizes(l1: 8 << 10, l2: 64 << 10, l3: 1 << 20)
        var rng = TestRandom(seed: 41)
        let loops: [any ParallelLoop] = [SerialLoop()] + workerLoops
        // k < 256: the transposed forms stay off the dot-product path on every level.
        for (m, n, k, cache) in [(40, 1000, 200, CacheSizes.default), (64, 999, 250, tiny), (13, 700, 240, tiny),
                                 (200, 1100, 120, CacheSizes.default)] {
            #expect(!GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: m, k: k, cache: cache))
            let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(k * n)
            var bt = [Float](repeating: 0, count: n * k)
            for p in 0..<k { for j in 0..<n { bt[j * k + p] = b[p * n + j] } }
            for loop in loops {
                var c1 = [Float](repeating: 0, count: m * n), c2 = c1
                try GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, beta: 0, c: &c1, ldc: n, loop: loop, cache: cache)
                try GEMM.multiply(transposeB: true, m: m, n: n, k: k, a: a, lda: k, b: bt, ldb: k, beta: 0, c: &c2, ldc: n,
                                  loop: loop, cache: cache)
                let same = c1 == c2   // (not inside #expect: it would print both arrays)
                #expect(same, "m\(m) n\(n) k\(k) with \(loop.concurrency) workers")
            }
        }
    }

    /// Products of many rows and a deep k block k deeper (`GEMM.MicroKernel.blocked(rows:depth:)`): the rule on
    /// every level (Double never), and on levels that have it, a product of `deepRows` rows within
    /// the error bound, with the same bits on 1 to 8 workers, and with other bits in its first
    /// rows than the product of one row fewer, which blocks k in two (so the deep blocking is the
    /// one that ran).
    @Test func deepBlockingForManyRows() throws {
        for level in KernelLevel.supported {
            #expect(GEMM.MicroKernel<Double>(level: level, cache: .default)?.deepRows == 0)
            guard let kernel = GEMM.MicroKernel<Float>(level: level, cache: .default) else { continue }
            guard kernel.deepRows > 0 else {
                #expect(kernel.blocked(rows: 1 << 20, depth: 1 << 20).kc == kernel.kc, "\(level)")
                continue
            }
            let deep = kernel.blocked(rows: kernel.deepRows, depth: kernel.kc + 1)
            #expect(kernel.blocked(rows: kernel.deepRows - 1, depth: kernel.kc + 1).kc == kernel.kc, "\(level)")
            // One k block either way: the taller row blocks stay.
            #expect(kernel.blocked(rows: kernel.deepRows, depth: kernel.kc).mc == kernel.mc, "\(level)")
            #expect(deep.kc == kernel.deepKc && deep.kc > kernel.kc && deep.mc <= kernel.mc, "\(level)")
            // k between the two depths: one block deep, two shallow.
            // n wide enough for the packed path (op(B) more than half of L2).
            let m = kernel.deepRows, n = 200, k = (kernel.kc + kernel.deepKc) / 2 + 3
            let cs = GEMMCase(m: m, n: n, k: k, beta: 1)
            let serial = try checkGEMM(Float.self, cs, level: level)
            for loop in workerLoops {
                let parallel = try checkGEMM(Float.self, cs, loop: loop, level: level)
                let same = serial == parallel   // (not inside #expect: it would print both arrays)
                #expect(same, "\(level), \(loop.concurrency) workers")
            }
            var rng = TestRandom(seed: 5)
            let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(k * n)
            var all = [Float](repeating: 0, count: m * n), fewer = [Float](repeating: 0, count: (m - 1) * n)
            try GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &all, ldc: n, level: level)
            try GEMM.multiply(m: m - 1, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &fewer, ldc: n, level: level)
            let differs = Array(all[0..<((m - 1) * n)]) != fewer
            #expect(differs, "\(level): \(m) rows and \(m - 1) rows gave the same bits")
        }
    }

    /// Row blocks of op(A) packed by their first panel's tiles (Note [GEMM packing in the first
    /// tile]; blocks of at least `tilesPackingA` tiles, A read in place along its rows or, for
    /// op(A) = Aᵀ, along its columns) against the small-product path, which packs nothing: with one
    /// k block both do the same operations, so the same bits, on 1 to 8 workers; a last row block
    /// of a few tiles and a partial tile is packed ahead.
    @Test func rowBlocksPackedInTheirFirstTiles() throws {
        var rng = TestRandom(seed: 43)
        let loops: [any ParallelLoop] = [SerialLoop()] + workerLoops
        let packed = CacheSizes.default, direct = CacheSizes(l1: packed.l1, l2: 256 << 20, l3: 256 << 20)
        for (m, n, k, ta) in [(150, 1000, 200, false), (150, 1000, 200, true), (300, 700, 250, true), (97, 640, 230, false)] {
            let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(k * n), c0: [Float] = rng.floats(m * n)
            let lda = ta ? m : k
            var reference = c0
            try GEMM.multiply(transposeA: ta, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n, beta: 0.5,
                              c: &reference, ldc: n, cache: direct)
            for loop in loops {
                var c = c0
                try GEMM.multiply(transposeA: ta, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: n, beta: 0.5,
                                  c: &c, ldc: n, loop: loop, cache: packed)
                let same = c == reference   // (not inside #expect: it would print both arrays)
                #expect(same, "m\(m) n\(n) k\(k) ta\(ta) with \(loop.concurrency) workers")
            }
        }
    }

    @Test func betaZeroIgnoresNaNInC() throws {
        let a: [Float] = [1, 2, 3, 4], b: [Float] = [1, 0, 0, 1]
        var c: [Float] = [.nan, .nan, .nan, .nan]
        try GEMM.multiply(m: 2, n: 2, k: 2, a: a, lda: 2, b: b, ldb: 2, c: &c, ldc: 2)
        #expect(c == [1, 2, 3, 4])
    }

    @Test func badArgumentsThrow() {
        let a = [Float](repeating: 1, count: 16)
        var c = [Float](repeating: 0, count: 16)
        #expect(throws: KernelError.self) {
            try GEMM.multiply(m: 2, n: 2, k: 3, a: a, lda: 2, b: a, ldb: 2, c: &c, ldc: 2)
        }
        #expect(throws: KernelError.self) {
            try GEMM.multiply(m: -1, n: 2, k: 3, a: a, lda: 3, b: a, ldb: 2, c: &c, ldc: 2)
        }
    }

    @Test func batched() throws {
        var rng = TestRandom(seed: 9)
        let batch = 5, m = 7, n = 9, k = 11
        let a: [Float] = rng.floats(batch * m * k), b: [Float] = rng.floats(k * n)
        var c = [Float](repeating: 0, count: batch * m * n)
        try GEMM.multiplyBatched(batch: batch, m: m, n: n, k: k, a: a, lda: k, strideA: m * k,
                                 b: b, ldb: n, strideB: 0, c: &c, ldc: n, strideC: m * n, loop: DispatchParallelLoop(workers: 3))
        for i in 0..<batch {
            var ci = [Float](repeating: 0, count: m * n)
            try GEMM.multiply(m: m, n: n, k: k, a: Array(a[(i * m * k)...]), lda: k, b: b, ldb: n, c: &ci, ldc: n)
            #expect(Array(c[(i * m * n) ..< ((i + 1) * m * n)]) == ci)
        }
    }

    /// Batches of small products (attention's shapes: a B per product, transposed or not, a shared
    /// transposed B, alpha and beta) give each product's own bits, serially and on workers.
    @Test(arguments: [(false, false, 1), (false, true, 1), (true, true, 1), (false, true, 0), (true, false, 1)])
    func batchedSmallProductsMatchSingleOnes(ta: Bool, tb: Bool, perProductB: Int) throws {
        var rng = TestRandom(seed: 10)
        let batch = 9, m = 32, n = 16, k = 32
        let a: [Float] = rng.floats(batch * m * k), b: [Float] = rng.floats(batch * k * n)
        let c0: [Float] = rng.floats(batch * m * n)
        let (lda, ldb) = (ta ? m : k, tb ? k : n)
        for loop in [SerialLoop(), DispatchParallelLoop(workers: 3)] as [any ParallelLoop] {
            var c = c0
            try GEMM.multiplyBatched(batch: batch, transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5,
                                     a: a, lda: lda, strideA: m * k, b: b, ldb: ldb, strideB: perProductB * k * n,
                                     beta: 2, c: &c, ldc: n, strideC: m * n, loop: loop)
            for i in 0..<batch {
                var ci = Array(c0[(i * m * n) ..< ((i + 1) * m * n)])
                try GEMM.multiply(transposeA: ta, transposeB: tb, m: m, n: n, k: k, alpha: 0.5,
                                  a: Array(a[(i * m * k)...]), lda: lda, b: Array(b[(i * perProductB * k * n)...]), ldb: ldb,
                                  beta: 2, c: &ci, ldc: n)
                #expect(Array(c[(i * m * n) ..< ((i + 1) * m * n)]) == ci, "product \(i), \(loop.concurrency) workers")
            }
        }
    }
}
