import CKernels
import Synchronization

extension GEMM {
    /// Small products: no k blocking and no packing of op(A) (read in place); op(B) is read in
    /// place too when it is not transposed, except a last partial panel, which is packed with zero
    /// padding (as are all panels of a transposed B). Packed op(B) fits in half of L2. Row tiles
    /// of `mr` are split over workers, a few pieces each; an epilogue gets whole rows, a piece's
    /// consecutive row tiles together up to half of L1 (one call for most small products: an
    /// optimizer step costs a fixed overhead per call).
    static func directProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, kernel: MicroKernel<T>, cache: CacheSizes,
        epilogue: Epilogue?
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
            // ≤ 2^20 multiply-adds (about 10 µs at this machine's peak): handing pieces to
            // workers costs more than it saves (with the same limit on fused groups, the digits
            // MLP's step on two workers went from 0.35M to 1.0M samples/s). Several pieces per
            // worker, so that a worker that starts late still takes a share, but each of at least
            // 2^18 multiply-adds.
            let work = m * n * k
            let split = workers > 1 && directMaySplit(m: m, n: n, k: k, mr: mr)
            let smallest = Swift.max(1, (tiles << 18) / Swift.max(1, work))
            let epilogueRows = directEpilogueRows(T.self, n: n, cache: cache)
            splitting(loop, 0..<tiles, when: split, grain: Swift.max(smallest, tiles / (4 * workers))) { range in
                directTiles(range, m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc,
                            kernel: kernel, bPack: bPack, epilogueRows: epilogueRows, epilogue: epilogue)
            }
        }
    }

    /// Whether a small product may be split over workers (when there are several): more than
    /// 2^20 multiply-adds and more than one row tile (`directProduct`).
    static func directMaySplit(m: Int, n: Int, k: Int, mr: Int) -> Bool {
        m * n * k > 1 << 20 && (m + mr - 1) / mr >= 2
    }

    /// The rows a small product's epilogue gets at least at once (up to half of L1), in runs of
    /// whole row tiles (`directTiles`).
    static func directEpilogueRows<T>(_ type: T.Type, n: Int, cache: CacheSizes) -> Int {
        Swift.max(1, cache.l1 / 2 / Swift.max(1, n * MemoryLayout<T>.stride))
    }

    /// Row tiles `tiles` of a small product (see `directProduct`): op(B)'s panels in place, the
    /// packed ones (the last partial panel, or all of a transposed B) in `bPack`.
    @inline(__always)
    static func directTiles<T: KernelFloat>(
        _ tiles: Range<Int>, m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, kernel: MicroKernel<T>, bPack: UnsafeMutablePointer<T>,
        epilogueRows: Int, epilogue: Epilogue?
    ) {
        let mr = kernel.mr, nr = kernel.nr
        let panels = (n + nr - 1) / nr
        let inPlace = b.transposed ? 0 : n / nr, packed = panels - inPlace
        var pending = tiles.lowerBound * mr   // the first row not yet handed to the epilogue
        for t in tiles {
            let i = t * mr
            let rows = Swift.min(mr, m - i)
            let ai = a.pointer(row: i, col: 0)
            // The in-place panels in one call, then the packed ones in another: the C function
            // runs them in order (Note [Tile runs in one call]).
            if inPlace > 0 {
                kernel.strided(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows,
                               b: b.base, bStride: b.ld,
                               alpha: alpha, beta: beta, c: c + i * ldc, ldc: ldc, rows: rows, cols: inPlace * nr)
            }
            if packed > 0 {
                kernel.strided(k: k, a: ai, ars: a.rowStride, acs: a.colStride, aRows: rows,
                               b: bPack, bStride: nr,
                               alpha: alpha, beta: beta, c: c + i * ldc + inPlace * nr, ldc: ldc,
                               rows: rows, cols: n - inPlace * nr)
            }
            if let epilogue, i + rows - pending >= epilogueRows || t + 1 == tiles.upperBound {
                epilogue(pending..<(i + rows), 0..<n)
                pending = i + rows
            }
        }
    }

    /// Products `batch` of a batch of small ones on the calling thread, each exactly as
    /// `directProduct` computes it (the same tiles, so the same bits), without its per-product
    /// costs: the packing space is taken once, and a B shared by the batch (`strideB` 0) is packed
    /// once. Attention runs hundreds of such products (32×32×16) per call.
    static func directProducts<T: KernelFloat>(
        _ batch: Range<Int>, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: T,
        a: UnsafePointer<T>, lda: Int, strideA: Int, b: UnsafePointer<T>, ldb: Int, strideB: Int, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, strideC: Int, kernel: MicroKernel<T>
    ) {
        let nr = kernel.nr
        let panels = (n + nr - 1) / nr
        let inPlace = transposeB ? 0 : n / nr
        let packed = panels - inPlace
        let tiles = (m + kernel.mr - 1) / kernel.mr
        withScratch(T.self, count: packed * k * nr) { bPack in
            for i in batch {
                let ai = Operand(base: a + i * strideA, ld: lda, transposed: transposeA)
                let bi = Operand(base: b + i * strideB, ld: ldb, transposed: transposeB)
                if packed > 0 && (i == batch.lowerBound || strideB != 0) {
                    packB(bi, row: 0, rows: k, col: inPlace * nr, cols: n - inPlace * nr, panels: 0..<packed, nr: nr, into: bPack)
                }
                directTiles(0..<tiles, m: m, n: n, k: k, alpha: alpha, a: ai, b: bi, beta: beta, c: c + i * strideC,
                            ldc: ldc, kernel: kernel, bPack: bPack, epilogueRows: m, epilogue: nil)
            }
        }
    }

    /// Large products, in the five BLIS loops. With one worker, or too few columns for a wide
    /// group per worker, the packed blocks of op(B) are shared (`sharedPanelsProduct`); with
    /// at least `columnsPerGroup` columns per worker, workers take groups of columns (two per
    /// worker, shrinking) and pack their own panels (`privatePanelsProduct`). Note [GEMM column
    /// groups] says why. Every C element sees the same operations in the same order on either
    /// path: only the blocking (kc) shapes the sums, and it depends on k, the cache sizes and the
    /// level only, never on the worker count. In the last k block an epilogue gets a row block's
    /// rows in runs of at most `epilogueColumns` columns, as soon as the run's panels are done.
    static func packedProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, kernel: MicroKernel<T>, cache: CacheSizes,
        epilogue: Epilogue?
    ) {
        let workers = Swift.max(1, loop.concurrency)
        let kernel = kernel.blocked(rows: m, depth: k)
        // k is cut into ⌈k/kc⌉ nearly equal blocks (784 → 4 × 196, not 3 × 256 + 16).
        let kBlocks = (k + kernel.kc - 1) / kernel.kc
        let kc = (k + kBlocks - 1) / kBlocks, nc = Swift.min(kernel.nc, roundUp(n, kernel.nr))
        if workers > 1 && n >= columnsPerGroup * workers {
            // Each worker runs every row block of its columns: blocks as for one worker.
            let blocking = Blocking(kc: kc, nc: nc, rowBlock: rowBlock(m: m, workers: 1, kernel: kernel))
            if chunkedAFits(m: m, k: k, kernel: kernel, blocking: blocking, stride: MemoryLayout<T>.stride, cache: cache) {
                columnChunksProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc, loop: loop,
                                    workers: workers, kernel: kernel, blocking: blocking, cache: cache, epilogue: epilogue)
                return
            }
            privatePanelsProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc, loop: loop,
                                 workers: workers, kernel: kernel, blocking: blocking, cache: cache, epilogue: epilogue)
        } else {
            let blocking = Blocking(kc: kc, nc: nc, rowBlock: rowBlock(m: m, workers: workers, kernel: kernel))
            sharedPanelsProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc, loop: loop,
                                workers: workers, kernel: kernel, blocking: blocking, cache: cache, epilogue: epilogue)
        }
    }

    /// The columns a worker's group must have at least for `privatePanelsProduct` (Note [GEMM
    /// column groups]): narrower groups would pack all of op(A) once per group for little work.
    static var columnsPerGroup: Int { 256 }

    /// The packed path's block sizes: `kc` (the k block, the only size that shapes the sums),
    /// `nc` (the widest block of op(B) packed at once) and the rows of a block of op(A).
    struct Blocking {
        let kc: Int, nc: Int, rowBlock: Int
    }

    /// Rows per block of op(A): at most `mc` (an L2-sized block, reused against every panel). With
    /// several workers sharing the row blocks (`sharedPanelsProduct`) the blocks are a multiple of
    /// the worker count and equal to within one tile (1024 rows on 2 workers: 4 × 264/252 rows,
    /// not 3 × 312 + 88, which left one worker with a short share: 2-worker 768² and 1024²
    /// products 5-15% faster). The column paths, where each worker runs all row blocks of its
    /// columns, take one worker's blocks: 64 rows then stay one block of 11 tiles, each panel of
    /// op(B) read by all of them and op(A) packed by its copying tiles, where two blocks of 6 and 5
    /// tiles were packed ahead (`tilesPackingA`). 64×1024×784 on 2 workers, alternated runs:
    /// 93-98 → 98-104 GFLOP/s; the batch-64 MLP step on 2 workers, steps alternated in one
    /// process: 0.3-3% faster in each of 10 runs of 400 steps (batch 256: within ±2%).
    static func rowBlock<T>(m: Int, workers: Int, kernel: MicroKernel<T>) -> Int {
        let mr = kernel.mr
        let widest = Swift.min(kernel.mc, roundUp(m, mr))
        guard workers > 1 else { return widest }
        let tiles = (m + mr - 1) / mr
        let blocks = roundUp((m + widest - 1) / widest, workers)
        return (tiles + blocks - 1) / blocks * mr
    }

    // Note [GEMM column groups]: with several workers sharing packed blocks of op(B), every
    // worker reads every panel, half of which (on two workers) the other core packed: its lines
    // sit modified in the other core's L2, and each k block ends with a barrier. On this 2-core
    // Zen 5, each core then ran at 195-211 GFLOP/s beside the other against 241 alone, while
    // OpenBLAS (which packs per thread the operand that streams, in its column-major terms our
    // op(B)) scaled to 2 × 234. `privatePanelsProduct` gives each worker a group of whole
    // columns: it packs its own panels of op(B) (they stay in its own caches), packs op(A)
    // itself (once per group: the cost that `columnsPerGroup` bounds), and runs all of its k
    // blocks without waiting for anyone. 2-worker products (best of 40-150 calls, alternated,
    // noisy host): 1024² 352-370 → 415-436 GFLOP/s, 2048² 374-388 → 403-421, the MLP's 256×1024
    // products about 290 → 360-400. The groups are claimed in order, so a worker that starts
    // late leaves its group to the first one free (as a task of a plan does when the other worker
    // is busy with another task: the group then runs on the worker that owns it).
    //
    // Groups that shrink: with one group per worker, a worker that started late (it finished the
    // task before) or ran slower (its operands colder) left the other idle at the product's end.
    // On a 2-core Zen 3 the batch-256 MLP step had 2.5-2.8 ms of one worker idle per 20 ms step,
    // mostly there (its profile's per-worker idle time). So there are two groups per worker: the
    // first `workers` groups share three quarters of the panels, the rest the last quarter, and
    // whoever is free takes the next (guided, as `columnChunksProduct`'s chunks). Idle time fell
    // to 0.4-1.2 ms per step, at the cost of packing op(A) twice as often (its copying tiles do
    // it as they compute). Step medians, alternating the two forms (40 steps each, a noisy host):
    // faster in 6 of the 8 pairs that had no burst of noise, by a median 0.75 ms of 20; batch 64
    // on 2 workers faster in 4 pairs of 5.

    /// The first panel of group `g` of `privatePanelsProduct` (Note [GEMM column groups]): the
    /// first `workers` of its `2·workers` groups share three quarters of `panels`, the others the
    /// rest. Group `2·workers` starts at `panels` (the end).
    static func firstPanel(ofGroup g: Int, workers: Int, panels: Int) -> Int {
        let large = panels * 3 / 4
        return g <= workers ? g * large / workers : large + (g - workers) * (panels - large) / workers
    }

    /// `packedProduct` with groups of whole columns (two per worker, shrinking), each packing its
    /// own panels (Note [GEMM column groups]); groups end on panel boundaries, so C's tiles are the
    /// ones the shared path computes.
    static func privatePanelsProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, workers: Int, kernel: MicroKernel<T>,
        blocking: Blocking, cache: CacheSizes, epilogue: Epilogue?
    ) {
        let groups = 2 * workers
        let nr = kernel.nr, kc = blocking.kc, nc = blocking.nc, rowBlock = blocking.rowBlock
        let allPanels = (n + nr - 1) / nr
        let runPanels = epilogueColumns(rows: rowBlock, nr: nr, cache: cache, stride: MemoryLayout<T>.stride) / nr
        let inFirstTile = packsInFirstTile(b, kernel: kernel, firstRows: Swift.min(rowBlock, m))
        loop.parallelFor(0..<groups, grain: 1) { range in
            for g in range {
                let groupEnd = Swift.min(n, firstPanel(ofGroup: g + 1, workers: workers, panels: allPanels) * nr)
                var jc = firstPanel(ofGroup: g, workers: workers, panels: allPanels) * nr
                while jc < groupEnd {
                    let ncCur = Swift.min(nc, groupEnd - jc)
                    let panels = (ncCur + nr - 1) / nr
                    withScratch(T.self, count: kc * panels * nr + rowBlock * kc) { scratch in
                        let bPack = scratch, aPack = scratch + kc * panels * nr
                        var pc = 0
                        while pc < k {
                            let kcCur = Swift.min(kc, k - pc)
                            let betaBlock: T = pc == 0 ? beta : 1
                            let finished = pc + kcCur == k ? epilogue : nil
                            packBAhead(b, row: pc, rows: kcCur, col: jc, cols: ncCur, panels: 0..<panels, nr: nr, into: bPack,
                                       inFirstTile: inFirstTile)
                            var ic = 0
                            while ic < m {
                                let mcCur = Swift.min(rowBlock, m - ic)
                                blockTimesPanels(0..<panels, rows: ic..<(ic + mcCur), jc: jc, ncCur: ncCur, kcCur: kcCur,
                                                 alpha: alpha, beta: betaBlock, aPack: aPack, bPack: bPack,
                                                 c: c, ldc: ldc, kernel: kernel, runPanels: runPanels, finished: finished,
                                                 unpacked: inFirstTile && ic == 0 ? UnpackedPanels(b: b, row: pc) : nil,
                                                 unpackedA: UnpackedRows(a: a, col: pc), nextA: UnpackedRows(a: a, col: pc),
                                                 nextRows: (ic + mcCur)..<Swift.min(m, ic + mcCur + rowBlock))
                                ic += mcCur
                            }
                            pc += kcCur
                        }
                    }
                    jc += ncCur
                }
            }
        }
    }

    /// Whether `columnChunksProduct` suits the product: a packed copy of op(A), every k block of
    /// it, at most four times the L2 (a batch-sized m or k: the MLP's products at
    /// batch 64 and 256).
    ///
    /// Four times, not twice: the limit was set on a Zen 5 with 1 MiB of L2, where the MLP's
    /// 1024x1024x256 weight gradient (op(A) packed: 1.1 MiB) took chunks; on a Zen 3 with 512 KiB
    /// it fell to the fixed groups, and in the batch-256 step on 2 workers it then ran beside the
    /// 784x1024x256 one in groups of an eighth of its columns (1.1 ms each): the step's end waited
    /// 0.2-0.6 ms for one worker. Chunks there, alternating the two limits call by call in one
    /// process (2 workers, Zen 3): 1024x1024x256 alone 3.5-8.5% faster (TN with beta 1 and NN),
    /// 1536x1024x256 3-3.4%, 2000x1024x256 4.5-10.6%, 1024x2048x256 1-6.5%; 4096x512x128 with
    /// op(A) = Xᵀ 0.5-1.4% slower; the batch-256 MLP step, steps alternated, 0.1-1.1% faster in 4
    /// runs of 4. Note [GEMM chunks of several k blocks] says why deeper products take them too.
    static func chunkedAFits<T>(m: Int, k: Int, kernel: MicroKernel<T>, blocking: Blocking, stride: Int, cache: CacheSizes) -> Bool {
        let rowBlocks = (m + blocking.rowBlock - 1) / blocking.rowBlock
        let kBlocks = (k + blocking.kc - 1) / blocking.kc
        return rowBlocks * roundUp(blocking.rowBlock, kernel.mr) * kBlocks * blocking.kc * stride <= 4 * cache.l2
    }

    // Note [GEMM column chunks]: fixed column groups (then one per worker) balance a product that
    // runs alone on the workers, but not two products that run side by side, one started by each
    // worker, as the two products of a layer's backward do: each worker then runs both groups of
    // its own product, and the one with the smaller product waits for the other (the MLP's
    // batch-256 step on 2 workers: 1024x1024x256 beside 784x1024x256, one worker idle for 10% of
    // the step). With a packed op(A) small enough to keep, columns are claimed in chunks of a few
    // panels, in order, from one counter: each worker that joins packs its own copy of op(A) once
    // (block by block, as it first needs them; since then one shared copy where there are enough
    // row blocks, Note [Packed blocks of op(A) shared by the chunks]) and its own panels of op(B)
    // for each chunk, and a
    // worker that finishes its own product early takes the other product's last chunks. A chunk
    // ends on a panel boundary and runs the k blocks of the other paths in their order, so every
    // C element sees the same operations: the same bits. Products whose packed op(A) is too large
    // to keep (`chunkedAFits`) keep fixed groups. The MLP's batch-256 step on 2 workers:
    // 5.60-5.82 -> 5.43-5.63 ms in a quiet spell (all products chunked), median 6.15 -> 6.00 ms
    // in a noisy one (as kept).
    //
    // Note [GEMM chunks of several k blocks]: chunks first took only products of one k block (a
    // deeper op(A), re-read from L3 by every chunk, was measured 5-8% slower alone at
    // 256x1024x784 on a Zen 5). The MLP's forward products (k 784 and 1024) then ran in fixed
    // groups, two per worker, and at each product's end one worker waited for the other's last
    // group: on a 2-vCPU Zen 3, a median 39 µs per product at batch 64 (p90 217) and 266 µs at
    // batch 256 (p90 749), besides the time lost when one worker starts late. A chunk now runs
    // every k block of its columns (op(B)'s panels packed per k block, C updated with beta 1
    // after the first, the epilogue after the last), and a worker keeps all blocks of its op(A)
    // copy, packed as it first needs them. Steps alternated in one process (2 workers, Zen 3):
    // batch 64 1.2-1.7% faster, batch 256 2.1-3.7% (3 runs each); products alone, call by call:
    // 256x1024x784 0.993 and 1.000 of the time in groups, 64x1024x784 1.002-1.008, 256x1024x1024
    // 0.989-1.05 (median 0.999), 512x1024x1024 0.981-1.031 (0.993), 128x2048x2048 1.006-1.007.

    // Note [Packed blocks of op(A) shared by the chunks]: each worker of `columnChunksProduct`
    // packed its own copy of all of op(A), so on 2 workers op(A) was packed twice: in a 2-worker
    // `perf` profile of 256x1024x784 (operands evicted between calls) the copying tiles of op(A)
    // took 9.8% of the samples, against 4.7% on one worker, and the products ran 1.6-1.7 times as
    // fast as on one worker instead of twice. Where there are at least as many row blocks as
    // workers, one packed op(A) now serves all of them: the first worker to need a block claims it
    // (an atomic state per block), packs it in the tiles of its first panel as before, and
    // publishes it (release) before its other panels; a worker that finds a block claimed waits
    // (acquire) until it is published, at most about one panel's tiles. Each worker takes the row
    // blocks of a k block starting at a block of its own (participant w at block w, among blocks of
    // a whole tile or more), so the workers pack different blocks at the same time and then find
    // each other's blocks ready. A k block's row blocks are independent and every C element still
    // sees the k blocks in order: the same bits. With fewer row blocks than workers (a batch of 64:
    // one block) the workers would wait on each other at every k block (64x1024x784 on 2 workers:
    // 1.21 times the time), so they keep private copies. Measured on the 2-vCPU Zen 3 host, both
    // forms alternated call by call in one process, 100 calls, 2 workers (new/old medians, with and
    // without operands evicted): 256x1024x784 0.944 and 0.961, 256x1024x1024 0.964 and 0.975,
    // 1024x1024x256 with op(A) = Xᵀ and beta 1 0.975 and 0.977, 784x1024x256 the same 0.975 and
    // 0.981, 200x1024x1024 0.957 and 0.917, 128x1024x784 0.986 and 0.973; 64x1024x784 (private
    // copies) 0.998 and 0.984. The batch-256 MLP step on 2 workers, steps alternated, 200 steps:
    // 0.979, 0.979, 0.983 (3 runs); batch 64: 0.993-0.995.

    // Note [Row blocks for many workers]: the rows of op(A) came in one worker's blocks (`mc`,
    // about 126 rows here), so a batch of 256 had 3 row blocks and a batch of 64 one. With more
    // workers than blocks each worker packed a whole copy of op(A). On a 16-core Xeon the
    // batch-256 MLP step then ran 4.6 times as fast on 16 workers as on one: with 16 workers a
    // 256x1024x1024 product gives each about 4 of its 64 panels, after packing all 1 MiB of op(A).
    // Now, when one worker's blocks are fewer than the workers, the rows are cut into about as
    // many blocks as workers (at most one per row tile), so nearly every worker starts on a block
    // of its own and all share one packed op(A). Row blocks do not shape any sum: the same bits.
    // On the 2-vCPU Zen 3 (batch 64: one block of 64 rows becomes 36 + 28), steps alternated in
    // one process, new/old medians of the per-step ratios: batch-64 MLP step on 2 workers 0.999,
    // 0.989, 0.995, 0.997, 0.995 (300 steps each); cnn 0.991; char 1.001. On 16 cores it is not
    // measured yet (Benchmarks/RESULTS.md, session of 2026-11-29 23:54-02:54).

    /// `packedProduct` with columns claimed in chunks by whichever worker is free (Note [GEMM
    /// column chunks]), each chunk through every k block (Note [GEMM chunks of several k
    /// blocks]); the packed op(A) is kept whole (`chunkedAFits`), once for all workers when it has
    /// several row blocks, cut to at least one per worker where the rows allow (Note [Row blocks
    /// for many workers], Note [Packed blocks of op(A) shared by the chunks]), else (a single row
    /// tile) once per worker.
    static func columnChunksProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, workers: Int, kernel: MicroKernel<T>,
        blocking: Blocking, cache: CacheSizes, epilogue: Epilogue?
    ) {
        let mr = kernel.mr, nr = kernel.nr, kc = blocking.kc
        let rowBlock = chunkRowBlock(m: m, rowBlock: blocking.rowBlock, workers: workers, mr: mr)
        let kBlocks = (k + kc - 1) / kc
        let allPanels = (n + nr - 1) / nr
        // Up to four chunks per worker at first, each within nc and of at least 2^25 multiply-adds
        // (about 0.28 ms here), then shrinking (Note [GEMM chunks that shrink]).
        let wanted = Swift.max(1, Swift.min(4, ((m * n * k) >> 25) / workers)) * workers
        let panelsPerBlock = Swift.max(1, blocking.nc / nr)
        let equalChunks = Swift.min(allPanels, Swift.max(wanted, (allPanels + panelsPerBlock - 1) / panelsPerBlock))
        let widest = (allPanels + equalChunks - 1) / equalChunks
        let narrowest = Swift.min(widest, Swift.max(1, (1 << 22) / Swift.max(1, m * k * nr)))
        let rowBlocks = (m + rowBlock - 1) / rowBlock
        let blockSize = roundUp(rowBlock, mr) * kc   // kc ≤ k: packedProduct cuts k into equal blocks
        let runPanels = epilogueColumns(rows: rowBlock, nr: nr, cache: cache, stride: MemoryLayout<T>.stride) / nr
        let inFirstTile = packsInFirstTile(b, kernel: kernel, firstRows: Swift.min(rowBlock, m))
        let counter = ChunkCounter()
        // One packed op(A) for all workers when there are several row blocks (Note [Packed blocks
        // of op(A) shared by the chunks]); otherwise (a single tile of rows) a copy per worker.
        let shared = rowBlocks >= 2
        let cacheSize = kBlocks * rowBlocks * blockSize
        let startingBlocks = Swift.max(1, m / rowBlock + (m % rowBlock >= mr ? 1 : 0))
        withScratch(Int.self, count: shared ? kBlocks * rowBlocks : 0) { stateMemory in
            let blocks = shared ? SharedPackedBlocks(count: kBlocks * rowBlocks, memory: stateMemory) : nil
            withScratch(T.self, count: shared ? cacheSize : 0) { sharedCache in
                withUnsafeTemporaryAllocation(of: Int.self, capacity: allPanels + 1) { starts in
                    let chunks = shrinkingChunks(panels: allPanels, widest: widest, narrowest: narrowest, workers: workers,
                                                 starts: starts.baseAddress!)
                    let starts = UnsafePointer(starts.baseAddress!)
                    loop.parallelFor(0..<workers, grain: 1) { participants in
                        for participant in participants {
                            var chunk = counter.claim()
                            guard chunk < chunks else { return }
                            // With shared blocks, each worker starts on a row block of its own, one of at
                            // least a whole tile: the first row block a worker takes packs its panels of
                            // op(B) in their first tiles (`packsInFirstTile`).
                            let firstBlock = shared ? participant % startingBlocks : 0
                            withScratch(T.self, count: (shared ? 0 : cacheSize) + kc * widest * nr) { scratch in
                                let aCache = shared ? sharedCache : scratch, bPack = shared ? scratch : scratch + cacheSize
                                var packedBlocks = 0   // blocks of op(A) packed so far, in order (k block, then row block)
                                while chunk < chunks {
                                    let jc = starts[chunk] * nr
                                    let ncCur = Swift.min(starts[chunk + 1] * nr, n) - jc
                                    let panels = (ncCur + nr - 1) / nr
                                    for pb in 0..<kBlocks {
                                        let pc = pb * kc, kcCur = Swift.min(kc, k - pc)
                                        packBAhead(b, row: pc, rows: kcCur, col: jc, cols: ncCur, panels: 0..<panels, nr: nr, into: bPack,
                                                   inFirstTile: inFirstTile)
                                        for step in 0..<rowBlocks {
                                            let ib = (firstBlock + step) % rowBlocks
                                            let ic = ib * rowBlock, mcCur = Swift.min(rowBlock, m - ic)
                                            let nextIc = ((firstBlock + step + 1) % rowBlocks) * rowBlock
                                            let nextRows = step + 1 < rowBlocks ? nextIc..<Swift.min(m, nextIc + rowBlock) : 0..<0
                                            let index = pb * rowBlocks + ib
                                            let aPack = aCache + index * blockSize
                                            // The row block times panels `range`, packing its block of op(A)
                                            // in the first one when `packing`.
                                            func times(_ range: Range<Int>, packing: Bool) {
                                                blockTimesPanels(range, rows: ic..<(ic + mcCur), jc: jc, ncCur: ncCur, kcCur: kcCur,
                                                                 alpha: alpha, beta: pb == 0 ? beta : 1, aPack: aPack, bPack: bPack,
                                                                 c: c, ldc: ldc, kernel: kernel, runPanels: runPanels,
                                                                 finished: pb == kBlocks - 1 ? epilogue : nil,
                                                                 unpacked: inFirstTile && step == 0 ? UnpackedPanels(b: b, row: pc) : nil,
                                                                 unpackedA: packing ? UnpackedRows(a: a, col: pc) : nil,
                                                                 nextA: UnpackedRows(a: a, col: pc),
                                                                 nextRows: packing ? nextRows : 0..<0)
                                            }
                                            if let blocks {
                                                if blocks.claim(index) {
                                                    // Published as soon as the first panel has packed it.
                                                    times(0..<1, packing: true)
                                                    blocks.publish(index)
                                                    if panels > 1 { times(1..<panels, packing: false) }
                                                } else {
                                                    times(0..<panels, packing: false)
                                                }
                                            } else {
                                                let packsA = index == packedBlocks
                                                if packsA { packedBlocks += 1 }
                                                times(0..<panels, packing: packsA)
                                            }
                                        }
                                    }
                                    chunk = counter.claim()
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    // Note [GEMM chunks that shrink]: equal chunks left the end of a step to chance: in the
    // batch-256 MLP step on 2 workers the two weight gradients run side by side, and the worker
    // that finished the smaller one took the other's last chunk (about 0.3 ms) just before its
    // owner ran out, which then waited for it (0.25 ms, 4% of the step). Chunks now start at the
    // widest (`widest` panels: up to four per worker, as before) and shrink as the columns left
    // do, each about the columns left over twice the workers (guided self-scheduling), down to
    // `narrowest` panels (at least 2^22 multiply-adds, about 35 µs here): the last chunks are
    // short, so whoever takes them leaves the other at most a short wait. Chunks still end on
    // panel boundaries and keep the k blocks, so C's bits do not depend on them.

    /// Writes the first panel of each chunk of `columnChunksProduct` into `starts` (and `panels`
    /// after the last) and returns the number of chunks (Note [GEMM chunks that shrink]).
    static func shrinkingChunks(panels: Int, widest: Int, narrowest: Int, workers: Int,
                                starts: UnsafeMutablePointer<Int>) -> Int {
        var chunks = 0, start = 0
        while start < panels {
            starts[chunks] = start
            let left = panels - start
            start += Swift.min(left, Swift.max(narrowest, Swift.min(widest, (left + 2 * workers - 1) / (2 * workers))))
            chunks += 1
        }
        starts[chunks] = panels
        return chunks
    }

    /// Rows per block of op(A) in `columnChunksProduct`: one worker's `rowBlock`, or, when that
    /// gives fewer blocks than workers, whole tiles cut into about as many equal blocks as workers
    /// (at most one per tile), so that nearly every worker starts on a block of its own and all
    /// share one packed op(A) (Note [Row blocks for many workers]).
    static func chunkRowBlock(m: Int, rowBlock: Int, workers: Int, mr: Int) -> Int {
        let blocks = (m + rowBlock - 1) / rowBlock
        let tiles = (m + mr - 1) / mr
        guard blocks < workers, tiles >= 2 else { return rowBlock }
        let wanted = Swift.min(workers, tiles)
        return (tiles + wanted - 1) / wanted * mr
    }

    /// The next chunk of a `columnChunksProduct`, for whichever worker asks.
    final class ChunkCounter: Sendable {
        private let next = Atomic<Int>(0)
        func claim() -> Int { next.add(1, ordering: .relaxed).oldValue }
    }

    /// `packedProduct` with the packed blocks shared by the workers: for each nc-wide block of
    /// columns and each kc-deep block of k (in order), the kc×nc block of op(B) is packed once
    /// (its nr-wide panels split over the workers), then the work items — row blocks, times
    /// groups of B panels when there are fewer row blocks than four per worker — are split over
    /// the workers; each item packs its block of op(A) (private, pooled) and runs the
    /// micro-kernel on every mr-row panel of it against every panel of its group. Items are
    /// several per worker, so a worker that starts late (a busy machine) still takes a share
    /// instead of leaving the whole product to the others; each k block is finished by all
    /// workers before the next starts.
    static func sharedPanelsProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, workers: Int, kernel: MicroKernel<T>,
        blocking: Blocking, cache: CacheSizes, epilogue: Epilogue?
    ) {
        let nr = kernel.nr, kc = blocking.kc, nc = blocking.nc, rowBlock = blocking.rowBlock
        // With several workers, items come from splitting the panels into groups rather than from
        // thinner row blocks, which re-stream every B panel from L3 for each thin block (2
        // workers, 256x1024x784: 12-17% faster than 36-row blocks).
        let wanted = 4 * workers
        let rowBlocks = (m + rowBlock - 1) / rowBlock
        let runPanels = epilogueColumns(rows: rowBlock, nr: nr, cache: cache, stride: MemoryLayout<T>.stride) / nr
        // One worker packs the panels in their first tiles; several share them, packed first.
        let inFirstTile = workers == 1 && packsInFirstTile(b, kernel: kernel, firstRows: Swift.min(rowBlock, m))
        withScratch(T.self, count: kc * nc) { bPack in
            var jc = 0
            while jc < n {
                let ncCur = Swift.min(nc, n - jc)
                let panels = (ncCur + nr - 1) / nr
                // Too few row blocks (a short, wide product): split the panels into groups too.
                let groups = workers == 1 ? 1 : Swift.min(panels, Swift.max(1, (wanted + rowBlocks - 1) / rowBlocks))
                let items = rowBlocks * groups
                var pc = 0
                while pc < k {
                    let kcCur = Swift.min(kc, k - pc)
                    let betaBlock: T = pc == 0 ? beta : 1
                    let finished = pc + kcCur == k ? epilogue : nil
                    splitting(loop, 0..<panels, when: workers > 1 && panels > 1,
                              grain: Swift.max(1, panels / wanted)) { range in
                        packBAhead(b, row: pc, rows: kcCur, col: jc, cols: ncCur, panels: range, nr: nr, into: bPack,
                                   inFirstTile: inFirstTile)
                    }
                    splitting(loop, 0..<items, when: workers > 1 && items > 1, grain: 1) { range in
                        withScratch(T.self, count: rowBlock * kcCur) { aPack in
                            var packedBlock = -1
                            for item in range {
                                let block = item / groups, group = item % groups
                                let ic = block * rowBlock, mcCur = Swift.min(rowBlock, m - ic)
                                let packsA = block != packedBlock
                                packedBlock = block
                                blockTimesPanels((group * panels / groups)..<((group + 1) * panels / groups),
                                                 rows: ic..<(ic + mcCur), jc: jc, ncCur: ncCur, kcCur: kcCur,
                                                 alpha: alpha, beta: betaBlock, aPack: aPack, bPack: bPack,
                                                 c: c, ldc: ldc, kernel: kernel, runPanels: runPanels, finished: finished,
                                                 unpacked: inFirstTile && block == 0 ? UnpackedPanels(b: b, row: pc) : nil,
                                                 unpackedA: packsA ? UnpackedRows(a: a, col: pc) : nil,
                                                 nextA: UnpackedRows(a: a, col: pc),
                                                 nextRows: item + 1 < range.upperBound && (item + 1) / groups != block
                                                     ? (ic + mcCur)..<Swift.min(m, ic + mcCur + rowBlock) : 0..<0)
                            }
                        }
                    }
                    pc += kcCur
                }
                jc += ncCur
            }
        }
    }

    // Note [GEMM packing in the first tile]: with few rows (a batch of 64), packing op(B) was a
    // seventh of a product's time (64x1024x784: `ck_pack` 14% of the samples): the panels are read
    // from L3 by a loop that does nothing else, then read again from L2 by six tiles each. Where
    // a worker packs panels only for itself (one worker; each worker's own column group or
    // chunk), the first tile of each whole panel now reads op(B) in place, not transposed, and
    // stores what it loads as the packed panel (`sgemm_packed_copy_b`), so the load from L3
    // overlaps the tile's multiply-adds; the row block's other tiles and later row blocks read
    // the packed panel as before. A partial last panel (zero-padded) is packed ahead as before.
    // The tile does `sgemm_packed`'s operations on the same values: the same bits.
    //
    // op(A) likewise: a row block of op(A) that a worker has not packed yet is packed by the
    // tiles of its first panel (`sgemm_packed_copy_a`, A read in place, the packed B panel), so
    // each worker's copy of op(A) (column groups and chunks keep one per worker) costs no pass
    // of its own. Only blocks of at least `tilesPackingA` whole tiles; a partial tile, a partial
    // first panel and the first tile of a panel that B's copying tile computes (its A
    // micro-panel) are packed ahead. Where the tile reads A along its rows, it prefetches each
    // row's lines four ahead; along its columns (op(A) = Xᵀ, a weight gradient), 32 steps ahead.
    // Measured (alternating with the build before): the batch-256 MLP step 10.51-10.58 ->
    // 10.40-10.49 ms on 1 worker and 5.45-5.58 -> 5.31-5.37 on 2; 784x1024x256 with op(A) = Xᵀ,
    // beta 1, cold operands: 232-241 -> 238-243 GFLOP/s; 512³ on 2 workers unchanged (461-466
    // against 464-475).

    // Note [Prefetching the next panel]: the copying tile waits for op(B)'s rows, one cache line
    // of each of kc rows a row stride apart (4 KiB for a 1024-wide weight): lines that no hardware
    // prefetcher follows, and its own prefetch 32 steps ahead leaves too little time when the rows
    // come from memory (in a training step another tenant's traffic or the step's other operands
    // have evicted the weights from L3). So while a panel's other tiles compute, each asks for a
    // share of the next panel's rows (into L2), and the next copying tile finds them there. Each
    // share is ⌈kc / tiles left⌉ lines; the first panel of a block has no panel before it. Only
    // prefetches: the arithmetic and the bits are those of before. Measured on the Zen 3 host,
    // 1 worker, operands evicted between calls (`--flush-mb 16`), both forms alternated call by
    // call, 2 rounds: 64×1024×784 42.0-58.5 -> 44.9-62.1 GFLOP/s (medians, faster in 6 of 6
    // runs), 64×1024×1024 49.6-59.9 -> 52.0-62.5 (5 of 6), 256×1024×1024 57.2-73.2 -> 59.6-75.5
    // (6 of 6); without the eviction (weights in L3) no change beyond the noise. Into L1 instead
    // of L2: no difference.
    //
    // op(A) = Xᵀ (a weight gradient) has the same shape of wait: its copying tiles read six
    // values from each of kc rows of X a row apart, and the first tile to touch a line stalls. So
    // before each panel, a share of the next row block's k steps is prefetched (each k step's
    // run of the block's columns: ⌈rows·4/64⌉ + 1 lines). Measured the same way, 1 worker:
    // 1024×1024×256 with op(A) = Xᵀ and beta 1, 69.6-76.2 -> 75.3-76.5 GFLOP/s, 784×1024×256
    // 60.7-74.2 -> 64.8-76.1 (faster in 4 of 4); 2 workers, separate runs alternated,
    // 1024×1024×256: 104.5-120.9 -> 118.0-125.8 (3 of 3). The same for an op(A) read along its
    // rows (the forward's X, which the hardware prefetchers follow): no gain (slower in 4 of 6),
    // so only a transposed op(A) gets it.

    /// Panels of op(B) not packed yet: the first tile of each whole panel reads them in place from
    /// `b`, k block starting at `row`, and packs them (Note [GEMM packing in the first tile]).
    struct UnpackedPanels<T> {
        let b: Operand<T>
        let row: Int
    }

    /// A row block of op(A) not packed yet: the tiles of its first panel read it in place, k block
    /// starting at column `col`, and pack it (Note [GEMM packing in the first tile]).
    struct UnpackedRows<T> {
        let a: Operand<T>
        let col: Int
    }

    /// The fewest whole tiles a row block of op(A) must have for its first panel's tiles to pack
    /// it (Note [GEMM packing in the first tile]).
    static var tilesPackingA: Int { 8 }

    /// Whether the panels of op(B) can be packed by their first tiles: B read in place along its
    /// rows (not transposed), a kernel that has the copying tile, and a first row block of at
    /// least one whole tile.
    @inline(__always)
    static func packsInFirstTile<T>(_ b: Operand<T>, kernel: MicroKernel<T>, firstRows: Int) -> Bool {
        !b.transposed && kernel.copiesB && firstRows >= kernel.mr
    }

    /// Packs the panels `panels` of a block of op(B), or with `inFirstTile` only the partial last
    /// one (the others are packed by their first tiles).
    @inline(__always)
    static func packBAhead<T: KernelFloat>(_ b: Operand<T>, row: Int, rows: Int, col: Int, cols: Int, panels: Range<Int>,
                                           nr: Int, into dst: UnsafeMutablePointer<T>, inFirstTile: Bool) {
        if !inFirstTile {
            packB(b, row: row, rows: rows, col: col, cols: cols, panels: panels, nr: nr, into: dst)
        } else if let last = panels.last, (last + 1) * nr > cols {
            packB(b, row: row, rows: rows, col: col, cols: cols, panels: last..<(last + 1), nr: nr, into: dst)
        }
    }

    /// The packed block of op(A) for C's rows `rows` times the packed panels `panels` of the
    /// column block at `jc` (for one k block): the micro-kernel on every mr-row panel against
    /// every panel, and `finished` (the epilogue, in the last k block) on runs of at most
    /// `runPanels` panels as soon as they are done.
    @inline(__always)
    static func blockTimesPanels<T: KernelFloat>(
        _ panels: Range<Int>, rows: Range<Int>, jc: Int, ncCur: Int, kcCur: Int, alpha: T, beta: T,
        aPack: UnsafeMutablePointer<T>, bPack: UnsafeMutablePointer<T>, c: UnsafeMutablePointer<T>, ldc: Int,
        kernel: MicroKernel<T>, runPanels: Int, finished: Epilogue?, unpacked: UnpackedPanels<T>? = nil,
        unpackedA: UnpackedRows<T>? = nil, nextA: UnpackedRows<T>? = nil, nextRows: Range<Int> = 0..<0
    ) {
        let mr = kernel.mr, nr = kernel.nr, ic = rows.lowerBound, mcCur = rows.count
        // The next row block of a transposed op(A), a share of its k steps before each panel
        // (Note [Prefetching the next panel]).
        var aheadA: UnsafePointer<T>? = nil
        var aheadADone = 0, aheadAShare = 0, aheadAStride = 0, aheadALines = 0
        if let nextA, nextA.a.transposed, !nextRows.isEmpty, !panels.isEmpty {
            aheadA = nextA.a.pointer(row: nextRows.lowerBound, col: nextA.col)
            aheadAStride = nextA.a.colStride * MemoryLayout<T>.stride
            aheadALines = (nextRows.count * MemoryLayout<T>.stride + 63) / 64 + 1
            aheadAShare = (kcCur + panels.count - 1) / panels.count
        }
        var runStart = panels.lowerBound
        // A row block of fewer than `tilesPackingA` tiles is packed ahead (the copying tiles did
        // not pay there: batch 64 on 2 workers, 1.41-1.43 -> 1.43-1.44 ms).
        var unpackedA = unpackedA
        if let pending = unpackedA, !kernel.copiesA || mcCur < tilesPackingA * mr || panels.isEmpty {
            packA(pending.a, row: ic, rows: mcCur, col: pending.col, cols: kcCur, mr: mr, into: aPack)
            unpackedA = nil
        }
        for q in panels {
            if let next = aheadA, aheadADone < kcCur {
                let end = Swift.min(kcCur, aheadADone + aheadAShare)
                for p in aheadADone..<end {
                    ck_prefetch_lines(UnsafeRawPointer(next) + p * aheadAStride, 64, aheadALines)
                }
                aheadADone = end
            }
            let bq = UnsafePointer(bPack) + q * kcCur * nr
            let tileCols = Swift.min(nr, ncCur - q * nr)
            // The first panel's tiles pack the row block of op(A) when it is not packed yet.
            let packingA = q == panels.lowerBound ? unpackedA : nil
            var ir = 0
            if let unpacked, tileCols == nr, mcCur >= mr {
                if let packingA {
                    packA(packingA.a, row: ic, rows: mr, col: packingA.col, cols: kcCur, mr: mr, into: aPack)
                }
                // The panel's first tile packs it (Note [GEMM packing in the first tile]).
                kernel.packedCopyingB(k: kcCur, a: aPack, b: unpacked.b.pointer(row: unpacked.row, col: jc + q * nr),
                                      bStride: unpacked.b.rowStride, bCopy: bPack + q * kcCur * nr, alpha: alpha, beta: beta,
                                      c: c + ic * ldc + jc + q * nr, ldc: ldc)
                ir = mr
            }
            // A share of the next panel's rows of an unpacked B before each tile after the copying
            // one (Note [Prefetching the next panel]).
            var ahead: UnsafePointer<T>? = nil
            var aheadDone = 0, aheadShare = 0, aheadStride = 0
            if let unpacked, ir == mr, mcCur > ir, q + 1 < panels.upperBound, (q + 2) * nr <= ncCur {
                ahead = unpacked.b.pointer(row: unpacked.row, col: jc + (q + 1) * nr)
                aheadStride = unpacked.b.rowStride
                let tilesLeft = (mcCur - ir + mr - 1) / mr
                aheadShare = (kcCur + tilesLeft - 1) / tilesLeft
            }
            // Nothing to interleave between the tiles: the rest of the panel in one call (Note
            // [Tile runs in one call]).
            if packingA == nil, ahead == nil, ir < mcCur {
                kernel.packed(k: kcCur, a: aPack + ir * kcCur, b: bq, alpha: alpha, beta: beta,
                              c: c + (ic + ir) * ldc + jc + q * nr, ldc: ldc,
                              rows: mcCur - ir, cols: tileCols)
                ir = mcCur
            }
            while ir < mcCur {
                let tileRows = Swift.min(mr, mcCur - ir)
                if let next = ahead, aheadDone < kcCur {
                    let count = Swift.min(aheadShare, kcCur - aheadDone)
                    ck_prefetch_lines(next + aheadDone * aheadStride, aheadStride * MemoryLayout<T>.stride, count)
                    aheadDone += count
                }
                if let packingA {
                    if tileRows == mr && tileCols == nr {
                        kernel.packedCopyingA(k: kcCur, a: packingA.a.pointer(row: ic + ir, col: packingA.col),
                                              rowStride: packingA.a.rowStride, colStride: packingA.a.colStride,
                                              aCopy: aPack + ir * kcCur, b: bq, alpha: alpha, beta: beta,
                                              c: c + (ic + ir) * ldc + jc + q * nr, ldc: ldc)
                        ir += mr
                        continue
                    }
                    packA(packingA.a, row: ic + ir, rows: tileRows, col: packingA.col, cols: kcCur, mr: mr,
                          into: aPack + ir * kcCur)
                }
                kernel.packed(k: kcCur, a: aPack + ir * kcCur, b: bq, alpha: alpha, beta: beta,
                              c: c + (ic + ir) * ldc + jc + q * nr, ldc: ldc,
                              rows: tileRows, cols: tileCols)
                ir += mr
            }
            if let finished, q + 1 == panels.upperBound || q + 1 - runStart == runPanels {
                finished(rows, (jc + runStart * nr)..<(jc + Swift.min(ncCur, (q + 1) * nr)))
                runStart = q + 1
            }
        }
    }
}
