import Foundation
import Testing
import Kernels
import DispatchLoop
import TestSupport

/// The choice of CPU level, and GEMM at every level this CPU supports (called directly through
/// `level:`). The other kernels run at `KernelLevel.current`: `scripts/test` runs this whole
/// suite again under `GRAPH_ENGINE_KERNELS=<level>` for every supported level.
@Suite struct KernelLevelTests {
    @Test func namesRoundTrip() {
        for level in KernelLevel.allCases { #expect(KernelLevel(name: level.description) == level) }
        #expect(KernelLevel(name: "AVX2") == nil)
        #expect(KernelLevel(name: "") == nil)
        #expect(KernelLevel.allCases.map(\.description) == ["baseline", "avx2", "avx512"])
    }

    /// Levels nest (a CPU with AVX-512 has AVX2), the baseline is always there, `best` is the top.
    @Test func supportedLevelsNest() {
        let supported = KernelLevel.supported
        #expect(supported.first == .baseline)
        #expect(supported == Array(KernelLevel.allCases.prefix(supported.count)))
        #expect(supported.last == KernelLevel.best)
    }

    @Test func environmentValuesChooseALevel() {
        let best = KernelLevel.best
        for request in [nil, "", "auto"] {
            let (level, message) = KernelLevel.choose(request: request)
            #expect(level == best && message == nil, "\(String(describing: request))")
        }
        for level in KernelLevel.allCases {
            let (chosen, message) = KernelLevel.choose(request: level.description)
            if level.isSupported {
                #expect(chosen == level && message == nil)
            } else {
                #expect(chosen == best)
                #expect(message == "GRAPH_ENGINE_KERNELS=\(level): this CPU (or its OS) does not support \(level); using \(best)")
            }
        }
        let (chosen, message) = KernelLevel.choose(request: "sse9")
        #expect(chosen == best)
        #expect(message == "GRAPH_ENGINE_KERNELS=sse9 is not one of baseline, avx2, avx512, auto; using \(best)")
    }

    @Test func currentFollowsTheEnvironment() {
        let request = ProcessInfo.processInfo.environment[KernelLevel.environmentVariable]
        #expect(KernelLevel.current == KernelLevel.choose(request: request).level)
    }

    /// Fused multiply-adds everywhere but the x86-64 baseline (described for every level the
    /// build has, supported by this CPU or not).
    @Test func fusedMultiplyAddByLevel() {
        #if arch(x86_64)
        #expect(KernelLevel.allCases.map(\.fusesMultiplyAdd) == [false, true, true])
        #else
        #expect(KernelLevel.allCases.map(\.fusesMultiplyAdd) == [true, false, false])
        #endif
    }

    /// Tiles and block sizes worked out by hand from the BLIS rules in `GEMM.MicroKernel`, for a
    /// 32 KiB L1, 512 KiB L2 and 32 MiB L3 (avx2: kc = 32768·75% / (22·4) = 279 → 256,
    /// mc = 131072 / (256·4) = 128 → 126, nc = 4096; avx512: kc = 32768·150% / (44·4) = 279 → 256,
    /// mc = 128 → 120, nc = 4096).
    @Test func microKernelDescriptors() {
        let cache = CacheSizes(l1: 32 << 10, l2: 512 << 10, l3: 32 << 20)
        let expected: [KernelLevel: (mr: Int, nr: Int, kc: Int, mc: Int, nc: Int)] = [
            .baseline: (4, 8, 512, 64, 2048), .avx2: (6, 16, 256, 126, 4096), .avx512: (12, 32, 256, 120, 4096)]
        #if arch(x86_64)
        let built = KernelLevel.allCases   // described whether or not this CPU runs them
        #else
        let built = [KernelLevel.baseline]
        #endif
        for level in KernelLevel.allCases {
            guard let kernel = GEMM.MicroKernel<Float>(level: level, cache: cache),
                  let double = GEMM.MicroKernel<Double>(level: level, cache: cache) else {
                #expect(!built.contains(level), "\(level) is built but has no descriptor")
                continue
            }
            let want = expected[level]!
            #expect(kernel.level == level)
            #expect((kernel.mr, kernel.nr, kernel.kc, kernel.mc, kernel.nc) == want, "\(level): \(kernel)")
            #expect(double.nr == kernel.nr / 2, "\(level): \(double)")
            // The narrow tiles: one vector wide, twice as tall, the wide tile's kc.
            let narrow = GEMM.MicroKernel<Float>(level: level, cache: cache, narrow: true)!
            let narrowDouble = GEMM.MicroKernel<Double>(level: level, cache: cache, narrow: true)!
            #expect((narrow.mr, narrow.nr, narrow.kc) == (2 * want.mr, want.nr / 2, want.kc), "\(level): \(narrow)")
            #expect((narrowDouble.mr, narrowDouble.nr, narrowDouble.kc) == (2 * double.mr, double.nr / 2, double.kc),
                    "\(level): \(narrowDouble)")
        }
    }

    /// Products with at most a vector of columns run the narrow tile (checked through `best`), and
    /// it gives the same bits as the wide tile: the first columns of a product are compared with the
    /// same columns of a product two wide tiles wide, or as wide (which runs the wide tile) on the
    /// same path, direct (default caches: at most two panels keep the small-product path, Note
    /// [GEMM small-product budget]) or packed (tiny caches, k blocked). No case takes the paths
    /// for narrow products: every A·B has k under 32 vectors (Note [Narrow products as dot
    /// products]) and the one Aᵀ·B has fewer than 64 rows (Note [Narrow products of a transposed A]).
    @Test(arguments: KernelLevel.supported)
    func narrowTileGivesTheWideTilesBits(level: KernelLevel) throws {
        let tiny = CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10)
        let cases: [(m: Int, n: Int, k: Int, ta: Bool, cache: CacheSizes)] = [
            (37, 16, 150, false, .default), (50, 10, 250, false, .default), (29, 5, 300, true, tiny),
            (100, 16, 200, false, tiny), (7, 3, 40, false, .default)]
        func product<T: KernelFloat>(_: T.Type, _ c: (m: Int, n: Int, k: Int, ta: Bool, cache: CacheSizes), columns: Int) throws -> [T]
        where T.RawSignificand: FixedWidthInteger {
            var random = TestRandom(seed: UInt64(c.m * 1000 + c.k))
            let wide = 64
            let a: [T] = random.floats(c.m * c.k), b: [T] = random.floats(c.k * wide)
            var out = [T](repeating: 0, count: c.m * columns)
            try GEMM.multiply(transposeA: c.ta, m: c.m, n: columns, k: c.k, a: a, lda: c.ta ? c.m : c.k, b: b, ldb: wide,
                              c: &out, ldc: columns, loop: DispatchParallelLoop(workers: 2), cache: c.cache, level: level)
            return (0..<c.m).flatMap { i in out[(i * columns)..<(i * columns + c.n)] }
        }
        for c in cases {
            let chosen = GEMM.MicroKernel<Float>.best(m: c.m, n: c.n, level: level, cache: c.cache)!
            let narrow = GEMM.MicroKernel<Float>(level: level, cache: c.cache, narrow: true)!
            if c.n <= narrow.nr { #expect(chosen.nr == narrow.nr, "\(c) at \(level): \(chosen)") }
            let floatWide = Swift.max(c.n, 2 * GEMM.MicroKernel<Float>(level: level, cache: c.cache)!.nr)
            let doubleWide = Swift.max(c.n, 2 * GEMM.MicroKernel<Double>(level: level, cache: c.cache)!.nr)
            #expect(try product(Float.self, c, columns: c.n) == product(Float.self, c, columns: floatWide), "\(c) at \(level)")
            #expect(try product(Double.self, c, columns: c.n) == product(Double.self, c, columns: doubleWide),
                    "\(c) at \(level)")
        }
    }

    /// Each level's micro-kernel on the direct and the packed paths, edges and transposes, in
    /// Float and Double, within the dot-product error bound of the reference.
    @Test(arguments: KernelLevel.supported)
    func gemmAtEveryLevel(level: KernelLevel) throws {
        let tiny = CacheSizes(l1: 4 << 10, l2: 16 << 10, l3: 64 << 10)
        let cases: [(GEMMCase, CacheSizes)] = [
            (GEMMCase(m: 1, n: 1, k: 1), .default), (GEMMCase(m: 13, n: 33, k: 7, beta: 1), .default),
            (GEMMCase(m: 64, n: 64, k: 64, pad: 2), .default), (GEMMCase(m: 25, n: 70, k: 31, ta: true, tb: true), .default),
            (GEMMCase(m: 100, n: 150, k: 200, alpha: -0.5, beta: 2), tiny),
            (GEMMCase(m: 61, n: 77, k: 130, ta: true, tb: true, beta: 1, pad: 5), tiny),
            (GEMMCase(m: 257, n: 300, k: 300, tb: true), .default)]
        for (cs, cache) in cases {
            let serial = try checkGEMM(Float.self, cs, cache: cache, level: level)
            let parallel = try checkGEMM(Float.self, cs, loop: DispatchParallelLoop(workers: 3), cache: cache, level: level)
            #expect(serial == parallel, "\(cs) at \(level): 1 and 3 workers differ")
            try checkGEMM(Double.self, cs, cache: cache, level: level)
        }
    }

    /// Asking for a level the CPU cannot run is an error, not a crash.
    @Test func unsupportedLevelThrows() throws {
        let a: [Float] = [1, 2, 3, 4]
        var c = [Float](repeating: 0, count: 4)
        for level in KernelLevel.allCases where !level.isSupported {
            #expect(throws: KernelError.self) {
                try GEMM.multiply(m: 2, n: 2, k: 2, a: a, lda: 2, b: a, ldb: 2, c: &c, ldc: 2, level: level)
            }
        }
    }
}
