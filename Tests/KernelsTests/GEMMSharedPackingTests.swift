import Testing
import Kernels
import DispatchLoop
import TestSupport

/// Column-chunked products whose workers share one packed op(A) (Note [Packed blocks of op(A)
/// shared by the chunks]): the first worker to need a block packs it while the others wait for
/// it, each worker starting on a row block of its own. The products must give the bits of one
/// worker however the claims and waits fall, so each case runs many times on 2 to 4 workers
/// (CI also runs this suite under ThreadSanitizer; not under the emulated CPU, where it is slow).
struct GEMMSharedPackingTests {
    /// Small caches: row blocks of 30 rows and k blocks of 30, so a 120-row product has 4 row
    /// blocks (shared on up to 4 workers) and 4 k blocks, and its packed op(A) (56 KiB) is kept
    /// whole (at most four times the 16 KiB L2).
    static let tiny = CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10)

    struct Case: CustomStringConvertible {
        var m: Int, n: Int, k: Int, ta = false, tb = false, beta: Float = 0, cache: CacheSizes
        var description: String { "m\(m) n\(n) k\(k) ta\(ta) tb\(tb) β\(beta)" }
    }

    static let cases: [Case] = [
        // Row blocks of 30 rows (the last partial), 4 k blocks, op(B) packed by its first tiles.
        Case(m: 118, n: 2100, k: 120, cache: tiny),
        // op(A) = Xᵀ (a weight gradient) with its update folded in (beta 1), op(B) transposed
        // (packed ahead, not by the first tiles).
        Case(m: 120, n: 1100, k: 100, ta: true, tb: true, beta: 1, cache: tiny),
        // The default caches: 126-row blocks, the last one shorter than a tile (256 = 2 × 126 + 4),
        // which no worker may start on (it could not pack the worker's panels of op(B)).
        Case(m: 256, n: 1100, k: 300, cache: .default),
    ]

    @Test(arguments: [2, 3, 4])
    func sameBitsAsOneWorker(workers: Int) throws {
        var rng = TestRandom(seed: 2026)
        let loop = DispatchParallelLoop(workers: workers)
        for cs in Self.cases {
            let (aRows, aCols) = cs.ta ? (cs.k, cs.m) : (cs.m, cs.k)
            let (bRows, bCols) = cs.tb ? (cs.n, cs.k) : (cs.k, cs.n)
            let a: [Float] = rng.floats(aRows * aCols), b: [Float] = rng.floats(bRows * bCols)
            let c0: [Float] = rng.floats(cs.m * cs.n)
            var serial = c0
            try GEMM.multiply(transposeA: cs.ta, transposeB: cs.tb, m: cs.m, n: cs.n, k: cs.k, a: a, lda: aCols,
                              b: b, ldb: bCols, beta: cs.beta, c: &serial, ldc: cs.n, cache: cs.cache)
            #if DEBUG
            let rounds = 2   // (sanitizer builds: unoptimized kernels)
            #else
            let rounds = 30
            #endif
            for round in 0..<rounds {
                var parallel = c0
                try GEMM.multiply(transposeA: cs.ta, transposeB: cs.tb, m: cs.m, n: cs.n, k: cs.k, a: a, lda: aCols,
                                  b: b, ldb: bCols, beta: cs.beta, c: &parallel, ldc: cs.n, loop: loop, cache: cs.cache)
                // (Not `#expect(serial == parallel)`: a failure would print both arrays.)
                let mismatch = serial.indices.first { serial[$0].bitPattern != parallel[$0].bitPattern }
                #expect(mismatch == nil, "\(cs), \(workers) workers, round \(round): first difference at \(mismatch ?? -1)")
            }
        }
    }
}
