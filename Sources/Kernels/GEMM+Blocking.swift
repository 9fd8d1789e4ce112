extension GEMM {
    /// Block sizes for element type `T` from the cache sizes (BLIS analysis):
    /// - `kc`: a 6×kc panel of A and a kc×NR panel of B share about 3/4 of L1 (multiple of 32);
    /// - `mc`: the packed mc×kc block of A takes about half of L2 (multiple of 6);
    /// - `nc`: the packed kc×nc block of B takes about a quarter of L3 (multiple of NR, ≤ 8192).
    /// `kc` is the only one that affects results (it fixes where C is updated between k blocks).
    struct Blocking {
        let kc: Int, mc: Int, nc: Int

        init<T: KernelFloat>(_ type: T.Type, cache: CacheSizes) {
            let size = MemoryLayout<T>.stride
            let nr = 2 * T.Vector.scalarCount
            let kcRaw = cache.l1 * 3 / 4 / ((GEMM.mr + nr) * size)
            kc = Swift.max(32, Swift.min(1024, kcRaw / 32 * 32))
            mc = Swift.max(GEMM.mr, Swift.min(1020, cache.l2 / 2 / (kc * size) / GEMM.mr * GEMM.mr))
            nc = Swift.max(nr, Swift.min(8192, cache.l3 / 4 / (kc * size) / nr * nr))
        }
    }

    /// Small products: op(B) (padded to whole panels) is packed once and fits in half of L2, op(A) is
    /// read in place, k is not blocked; row tiles of 6 are split over workers.
    static func directProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop
    ) {
        let nr = 2 * T.Vector.scalarCount
        let panels = (n + nr - 1) / nr
        let bPack = allocateAligned(T.self, count: panels * k * nr)
        defer { bPack.deallocate() }
        packB(b, row: 0, rows: k, col: 0, cols: n, panels: 0..<panels, into: bPack)
        let tiles = (m + mr - 1) / mr
        let body = { (range: Range<Int>) in
            for t in range {
                let i = t * mr
                let rows = Swift.min(mr, m - i)
                let ai = a.pointer(row: i, col: 0)
                for q in 0..<panels {
                    tile(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows, b: bPack + q * k * nr,
                         alpha: alpha, beta: beta, c: c + i * ldc + q * nr, ldc: ldc,
                         rows: rows, cols: Swift.min(nr, n - q * nr))
                }
            }
        }
        let workers = loop.concurrency
        if workers <= 1 || m * n * k < 1 << 17 || tiles < 2 {
            body(0..<tiles)
        } else {
            loop.parallelFor(0..<tiles, grain: (tiles + workers - 1) / workers, body)
        }
    }

    /// Large products: the five BLIS loops. For each nc-wide block of columns and each kc-deep
    /// block of k (in order), op(B)'s block is packed (split over workers by panel), then blocks of
    /// rows (and, when there are fewer row blocks than workers, groups of panels) are split over
    /// workers; each packs its mc×kc block of op(A) and runs the micro-kernel over it.
    static func packedProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, cache: CacheSizes
    ) {
        let nr = 2 * T.Vector.scalarCount
        let blocking = Blocking(T.self, cache: cache)
        let kc = blocking.kc, nc = Swift.min(blocking.nc, roundUp(n, nr))
        let workers = Swift.max(1, loop.concurrency)
        // Row blocks: a multiple of the worker count, each at most mc rows (whole tiles).
        var rowBlocks = (m + blocking.mc - 1) / blocking.mc
        rowBlocks = roundUp(rowBlocks, workers)
        let mcEff = roundUp((m + rowBlocks - 1) / rowBlocks, mr)
        rowBlocks = (m + mcEff - 1) / mcEff
        let panelGroups = rowBlocks >= workers ? 1 : (workers + rowBlocks - 1) / rowBlocks
        let units = rowBlocks * panelGroups
        let bPack = allocateAligned(T.self, count: kc * nc)
        defer { bPack.deallocate() }

        var jc = 0
        while jc < n {
            let ncCur = Swift.min(nc, n - jc)
            let panels = (ncCur + nr - 1) / nr
            var pc = 0
            while pc < k {
                let kcCur = Swift.min(kc, k - pc)
                let betaBlock: T = pc == 0 ? beta : 1
                let packBody = { (range: Range<Int>) in
                    packB(b, row: pc, rows: kcCur, col: jc, cols: ncCur, panels: range, into: bPack)
                }
                if workers > 1 && panels > 1 {
                    loop.parallelFor(0..<panels, grain: (panels + workers - 1) / workers, packBody)
                } else {
                    packBody(0..<panels)
                }
                let computeBody = { (range: Range<Int>) in
                    let aPack = allocateAligned(T.self, count: mcEff * kcCur)
                    defer { aPack.deallocate() }
                    var packedBlock = -1
                    for unit in range {
                        let block = unit / panelGroups, group = unit % panelGroups
                        let i0 = block * mcEff
                        let mcCur = Swift.min(mcEff, m - i0)
                        if block != packedBlock {
                            packA(a, row: i0, rows: mcCur, col: pc, cols: kcCur, into: aPack)
                            packedBlock = block
                        }
                        let qLo = group * panels / panelGroups, qHi = (group + 1) * panels / panelGroups
                        for q in qLo..<qHi {
                            let bq = bPack + q * kcCur * nr
                            let cols = Swift.min(nr, ncCur - q * nr)
                            var ir = 0
                            while ir < mcCur {
                                tile(k: kcCur, a: aPack + ir * kcCur, ars: 1, acs: mr, aRows: mr, b: bq,
                                     alpha: alpha, beta: betaBlock, c: c + (i0 + ir) * ldc + jc + q * nr, ldc: ldc,
                                     rows: Swift.min(mr, mcCur - ir), cols: cols)
                                ir += mr
                            }
                        }
                    }
                }
                if workers > 1 && units > 1 {
                    loop.parallelFor(0..<units, grain: (units + workers - 1) / workers, computeBody)
                } else {
                    computeBody(0..<units)
                }
                pc += kc
            }
            jc += nc
        }
    }
}
