extension GEMM {
    /// Block sizes for element type `T` from the cache sizes (the BLIS analysis):
    /// - `kc`: a 6×kc micro-panel of A and a kc×NR micro-panel of B share about 3/4 of L1
    ///   (multiple of 32; 256 for Float with a 32 KiB L1);
    /// - `mc`: the packed mc×kc block of A takes about a quarter of L2, leaving room for the B
    ///   micro-panels and C streaming through (multiple of 6; 126 for Float with 512 KiB, near
    ///   BLIS's 144 for Zen 3);
    /// - `nc`: the packed kc×nc block of B takes about an eighth of L3 (multiple of NR, ≤ 4096).
    /// `kc` is the only size that affects results (C is updated between k blocks).
    struct Blocking {
        let kc: Int, mc: Int, nc: Int

        init<T: KernelFloat>(_ type: T.Type, cache: CacheSizes) {
            let size = MemoryLayout<T>.stride
            let nr = 2 * T.Vector.scalarCount
            let kcRaw = cache.l1 * 3 / 4 / ((GEMM.mr + nr) * size)
            kc = Swift.max(32, Swift.min(1024, kcRaw / 32 * 32))
            mc = Swift.max(GEMM.mr, cache.l2 / 4 / (kc * size) / GEMM.mr * GEMM.mr)
            nc = Swift.max(nr, Swift.min(4096, cache.l3 / 8 / (kc * size) / nr * nr))
        }
    }

    /// Small products: no k blocking and no packing of op(A) (read in place); op(B) is read in
    /// place too when it is not transposed, except a last partial panel, which is packed with zero
    /// padding (as are all panels of a transposed B). Packed op(B) fits in half of L2. Row tiles
    /// of 6 are split over workers.
    static func directProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop
    ) {
        let nr = 2 * T.Vector.scalarCount
        let panels = (n + nr - 1) / nr
        let inPlace = b.transposed ? 0 : n / nr
        let packed = panels - inPlace
        withScratch(T.self, count: packed * k * nr) { bPack in
            if packed > 0 {
                packB(b, row: 0, rows: k, col: inPlace * nr, cols: n - inPlace * nr, panels: 0..<packed, into: bPack)
            }
            let tiles = (m + mr - 1) / mr
            let workers = loop.concurrency
            // ≤ 64³: threading costs more than it saves
            let split = !(workers <= 1 || m * n * k <= 1 << 18 || tiles < 2)
            splitting(loop, 0..<tiles, when: split, grain: (tiles + workers - 1) / workers) { range in
                for t in range {
                    let i = t * mr
                    let rows = Swift.min(mr, m - i)
                    let ai = a.pointer(row: i, col: 0)
                    for q in 0..<inPlace {
                        tile(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows,
                             b: b.base + q * nr, bStride: b.ld,
                             alpha: alpha, beta: beta, c: c + i * ldc + q * nr, ldc: ldc, rows: rows, cols: nr)
                    }
                    for q in inPlace..<panels {
                        tile(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows,
                             b: bPack + (q - inPlace) * k * nr, bStride: nr,
                             alpha: alpha, beta: beta, c: c + i * ldc + q * nr, ldc: ldc,
                             rows: rows, cols: Swift.min(nr, n - q * nr))
                    }
                }
            }
        }
    }

    /// Large products. C is cut into one rectangle per worker (along n when n is at least m,
    /// else along m; whole tiles only), and each worker computes its rectangle on its own with
    /// private packing buffers, so there is no synchronization inside a product. Within a
    /// rectangle: for each nc-wide block of columns and each kc-deep block of k (in order), the
    /// kc×nc block of op(B) is packed (L2), then for each 6-row tile its 6×kc micro-panel of op(A)
    /// is packed (L1) and multiplied by every NR-wide panel of the B block.
    static func packedProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, cache: CacheSizes
    ) {
        let nr = 2 * T.Vector.scalarCount
        let blocking = Blocking(T.self, cache: cache)
        let workers = Swift.max(1, loop.concurrency)
        let tiles = (m + mr - 1) / mr, panels = (n + nr - 1) / nr
        let alongN = panels >= tiles
        let units = Swift.min(workers, alongN ? panels : tiles)
        splitting(loop, 0..<Swift.max(1, units), when: units > 1, grain: 1) { range in
            for u in range {
                if alongN {
                    let q0 = u * panels / units, q1 = (u + 1) * panels / units
                    blockedRectangle(rows: 0..<m, cols: (q0 * nr)..<Swift.min(n, q1 * nr), k: k, alpha: alpha,
                                     a: a, b: b, beta: beta, c: c, ldc: ldc, blocking: blocking)
                } else {
                    let t0 = u * tiles / units, t1 = (u + 1) * tiles / units
                    blockedRectangle(rows: (t0 * mr)..<Swift.min(m, t1 * mr), cols: 0..<n, k: k, alpha: alpha,
                                     a: a, b: b, beta: beta, c: c, ldc: ldc, blocking: blocking)
                }
            }
        }
    }

    /// One worker's share of a large product, C[rows][cols], in the five BLIS loops: for each
    /// nc-wide block of columns and each kc-deep block of k (in order), the kc×nc block of op(B)
    /// is packed; for each mc-high block of rows, the mc×kc block of op(A) is packed (L2); then
    /// each NR-wide micro-panel of B (L1) meets every 6-row micro-panel of the A block.
    static func blockedRectangle<T: KernelFloat>(
        rows: Range<Int>, cols: Range<Int>, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, blocking: Blocking
    ) {
        if rows.isEmpty || cols.isEmpty { return }
        let nr = 2 * T.Vector.scalarCount
        // k is cut into ⌈k/kc⌉ nearly equal blocks (784 → 4 × 196, not 3 × 256 + 16), which
        // depends on k and the cache sizes only, never on the rectangle or the worker count.
        let kBlocks = (k + blocking.kc - 1) / blocking.kc
        let kc = (k + kBlocks - 1) / kBlocks, nc = Swift.min(blocking.nc, roundUp(cols.count, nr))
        let mc = Swift.min(blocking.mc, roundUp(rows.count, mr))
        // Pooled packing buffers: a product allocates nothing once the pool has warmed up.
        withPackingBuffers(T.self, mc * kc, kc * nc) { aPack, bPack in
            var jc = cols.lowerBound
            while jc < cols.upperBound {
                let ncCur = Swift.min(nc, cols.upperBound - jc)
                let panels = (ncCur + nr - 1) / nr
                var pc = 0
                while pc < k {
                    let kcCur = Swift.min(kc, k - pc)
                    let betaBlock: T = pc == 0 ? beta : 1
                    packB(b, row: pc, rows: kcCur, col: jc, cols: ncCur, panels: 0..<panels, into: bPack)
                    var ic = rows.lowerBound
                    while ic < rows.upperBound {
                        let mcCur = Swift.min(mc, rows.upperBound - ic)
                        packA(a, row: ic, rows: mcCur, col: pc, cols: kcCur, into: aPack)
                        for q in 0..<panels {
                            let bq = bPack + q * kcCur * nr
                            let tileCols = Swift.min(nr, ncCur - q * nr)
                            var ir = 0
                            while ir < mcCur {
                                tile(k: kcCur, a: aPack + ir * kcCur, ars: 1, acs: mr, aRows: mr, b: bq, bStride: nr,
                                     alpha: alpha, beta: betaBlock, c: c + (ic + ir) * ldc + jc + q * nr, ldc: ldc,
                                     rows: Swift.min(mr, mcCur - ir), cols: tileCols)
                                ir += mr
                            }
                        }
                        ic += mc
                    }
                    pc += kc
                }
                jc += nc
            }
        }
    }
}
