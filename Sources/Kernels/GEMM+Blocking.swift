extension GEMM {
    /// Small products: no k blocking and no packing of op(A) (read in place); op(B) is read in
    /// place too when it is not transposed, except a last partial panel, which is packed with zero
    /// padding (as are all panels of a transposed B). Packed op(B) fits in half of L2. Row tiles
    /// of `mr` are split over workers.
    static func directProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, kernel: MicroKernel<T>
    ) {
        let mr = kernel.mr, nr = kernel.nr
        let panels = (n + nr - 1) / nr
        let inPlace = b.transposed ? 0 : n / nr
        let packed = panels - inPlace
        withScratch(T.self, count: packed * k * nr) { bPack in
            if packed > 0 {
                packB(b, row: 0, rows: k, col: inPlace * nr, cols: n - inPlace * nr, panels: 0..<packed, nr: nr, into: bPack)
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
                        kernel.strided(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows,
                                       b: b.base + q * nr, bStride: b.ld,
                                       alpha: alpha, beta: beta, c: c + i * ldc + q * nr, ldc: ldc, rows: rows, cols: nr)
                    }
                    for q in inPlace..<panels {
                        kernel.strided(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows,
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
    /// kc×nc block of op(B) is packed (L2), then for each mr-row tile its mr×kc micro-panel of
    /// op(A) is packed (L1) and multiplied by every nr-wide panel of the B block.
    static func packedProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, kernel: MicroKernel<T>
    ) {
        let mr = kernel.mr, nr = kernel.nr
        let workers = Swift.max(1, loop.concurrency)
        let tiles = (m + mr - 1) / mr, panels = (n + nr - 1) / nr
        let alongN = panels >= tiles
        let units = Swift.min(workers, alongN ? panels : tiles)
        splitting(loop, 0..<Swift.max(1, units), when: units > 1, grain: 1) { range in
            for u in range {
                if alongN {
                    let q0 = u * panels / units, q1 = (u + 1) * panels / units
                    blockedRectangle(rows: 0..<m, cols: (q0 * nr)..<Swift.min(n, q1 * nr), k: k, alpha: alpha,
                                     a: a, b: b, beta: beta, c: c, ldc: ldc, kernel: kernel)
                } else {
                    let t0 = u * tiles / units, t1 = (u + 1) * tiles / units
                    blockedRectangle(rows: (t0 * mr)..<Swift.min(m, t1 * mr), cols: 0..<n, k: k, alpha: alpha,
                                     a: a, b: b, beta: beta, c: c, ldc: ldc, kernel: kernel)
                }
            }
        }
    }

    /// One worker's share of a large product, C[rows][cols], in the five BLIS loops: for each
    /// nc-wide block of columns and each kc-deep block of k (in order), the kc×nc block of op(B)
    /// is packed; for each mc-high block of rows, the mc×kc block of op(A) is packed (L2); then
    /// each nr-wide micro-panel of B (L1) meets every mr-row micro-panel of the A block.
    static func blockedRectangle<T: KernelFloat>(
        rows: Range<Int>, cols: Range<Int>, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, kernel: MicroKernel<T>
    ) {
        if rows.isEmpty || cols.isEmpty { return }
        let mr = kernel.mr, nr = kernel.nr
        // k is cut into ⌈k/kc⌉ nearly equal blocks (784 → 4 × 196, not 3 × 256 + 16), which
        // depends on k and the cache sizes only, never on the rectangle or the worker count.
        let kBlocks = (k + kernel.kc - 1) / kernel.kc
        let kc = (k + kBlocks - 1) / kBlocks, nc = Swift.min(kernel.nc, roundUp(cols.count, nr))
        let mc = Swift.min(kernel.mc, roundUp(rows.count, mr))
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
                    packB(b, row: pc, rows: kcCur, col: jc, cols: ncCur, panels: 0..<panels, nr: nr, into: bPack)
                    var ic = rows.lowerBound
                    while ic < rows.upperBound {
                        let mcCur = Swift.min(mc, rows.upperBound - ic)
                        packA(a, row: ic, rows: mcCur, col: pc, cols: kcCur, mr: mr, into: aPack)
                        for q in 0..<panels {
                            let bq = bPack + q * kcCur * nr
                            let tileCols = Swift.min(nr, ncCur - q * nr)
                            var ir = 0
                            while ir < mcCur {
                                kernel.packed(k: kcCur, a: aPack + ir * kcCur, b: bq,
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
