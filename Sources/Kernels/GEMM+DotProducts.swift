import CKernels

extension GEMM {
    // Note [GEMM dot products]: a layer's input gradient dZ·Wᵀ multiplies rows by rows: op(A) = dZ
    // and op(B) = Wᵀ are both read along k, each row contiguous. The packed path packs op(B) (a
    // transpose of W's rows into column panels) once per product, and with a batch of 64 the
    // packed panels serve only six 12-row tiles: the batch-64 MLP step spent 7% of its time in
    // that transpose, and 64×1024×1024 ran at 170 GFLOP/s against 230 for the weight gradients.
    // The level's dot-product tile (`sgemm_dot` in CKernels) reads both operands in place: 2 rows
    // of A by 8 rows of B on AVX-512, vectorized along k, the lanes added at the end in a fixed
    // tree. Here B's rows for a tile stay in L1 (`dotSuits`) and a block of A's rows in L2
    // (`dotRowBlock`); blocks of C (A's row block by `dotColumns` of B's rows) are the work items
    // and the epilogue's blocks. Prototype on this machine (AVX-512, 1 thread): 64×1024×1024 241
    // GFLOP/s, 256×1024×1024 240, 32×1024×1024 230 (packed: 170, 219, 132). AVX2 has a 3×4 tile
    // (its 16 registers: 12 accumulators, 3 vectors of A, 1 of B): 64×1024×1024 126 against 112
    // packed. The baseline has none (no FMA: the packed tiles stay). The epilogue takes a worker's
    // consecutive blocks of one row block in one call (whole rows of C on one worker): the
    // backward ReLU's mask is then read along rows of 4 KiB rather than in 256-byte pieces of 128
    // rows, and the batch-256 MLP step's input gradients went from 2.54-2.64 to 2.41-2.43 ms.
    //
    // Summation order: each dot product's own (lanes by p mod lanes, then the tree), fixed for a
    // level; it depends on neither the blocking nor the thread count. It is not the packed path's
    // order, so a product's bits depend on which path its shape takes (`dotSuits`), as they do on
    // the level.

    /// Whether `multiply` computes this product as dot products of rows (Note [GEMM dot
    /// products]): on a level that has them (AVX-512 and AVX2, not the baseline), Float,
    /// `transposeB` and not `transposeA`, k of at least 32 vectors, m at most k/2 (AVX-512) or k/8
    /// (AVX2), and a tile's rows of B within `cache.l1`. With `n` (op(B)'s columns) given, a
    /// product A·B whose B has fewer columns than two vectors (a layer's 10 logits) answers as
    /// A·Bᵀ would: `multiply` transposes such a B and takes this path (Note [Narrow products as
    /// dot products]). Such products sum each element in the dot product's order (see the type's
    /// documentation), not the packed path's: their bits differ from those of the same product on
    /// the other paths (and are still the same for any worker count).
    ///
    /// ```swift
    /// GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: true, m: 64, k: 1024)  // true on AVX2 and AVX-512
    /// GEMM.usesDotProducts(Float.self, transposeA: false, transposeB: false, m: 32, n: 10, k: 256)  // the same
    /// ```
    public static func usesDotProducts<T: KernelFloat>(
        _ type: T.Type, transposeA: Bool, transposeB: Bool, m: Int, n: Int? = nil, k: Int,
        level: KernelLevel = .current, cache: CacheSizes = .default
    ) -> Bool {
        if let n, narrowDotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                 level: level, cache: cache) {
            return true
        }
        return dotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, k: k, level: level, cache: cache)
    }

    /// Whether `C = alpha·A·Bᵀ + beta·C` runs on the dot-product tiles (Note [GEMM dot products]):
    /// a level that has them (AVX-512, AVX2), Float, B transposed and A not, k deep and m short
    /// (at least 32 vectors of k; m at most k/2 on AVX-512, k/8 on AVX2. The lane sums at the end
    /// of every tile weigh on a short k, and the packed path's transpose of B pays for itself over
    /// many rows; measured on AVX-512, 64x1024x128: 193 GFLOP/s against 207 packed, 64x1024x512:
    /// 231 against 196, 1024³: 219 against 232. AVX2's 3×4 tile holds fewer rows: on one Zen 3
    /// core 256×1024×1024 ran at 55-57 GFLOP/s against 64-67 packed, and 256×784×1024 at 61-67
    /// against 72-77, while 64×1024×1024 was even, and on 2 workers 101-102 against 80-82 packed),
    /// and a tile's rows of B (`sgemm_dot_cols` rows of k values) within L1.
    static func dotSuits<T>(_ type: T.Type, transposeA: Bool, transposeB: Bool, m: Int, k: Int, level: KernelLevel,
                            cache: CacheSizes) -> Bool {
        guard T.self == Float.self, transposeB, !transposeA, let table = level.builtTable?.pointee,
              table.sgemm_dot != nil else { return false }
        let lanes = Int(table.float_lanes)
        // Rows per depth: k/2 with 16 lanes (AVX-512), k/8 with AVX2's narrower 3×4 tile.
        let depthPerRow = lanes >= 16 ? 2 : 8
        return k >= 32 * lanes && depthPerRow * m <= k
            && Int(table.sgemm_dot_cols) * k * MemoryLayout<Float>.stride <= cache.l1
    }

    // Note [Narrow products as dot products]: A·B with B narrower than one vector pair (a layer's
    // 10 logits from 256 hidden values) pads every k step of its tiles to 16 columns, of which 10
    // are used, and packs B into such a padded panel on every call. The dot-product tiles take the
    // columns 4 at a time (12 computed for 10) once B's n columns are rows: B (k×n, a few KiB) is
    // transposed into scratch and the product runs as A·(Bᵀ)ᵀ. Calls of both paths alternated in
    // one process (one Zen 3 core, medians of 10,000 pairs; the packing already without its
    // per-step library calls): the digits MLP's logits, 32×10×256, 3.0 µs against 4.55-7.0;
    // 64×10×1024, 20.3-28.4 against 26.9-42.1. The bits are those of the dot products (the same
    // as for A·Bᵀ with Bᵀ stored), the same for any worker count.

    /// Whether `C = alpha·A·B + beta·C` runs on the dot-product tiles through a transposed copy
    /// of B (Note [Narrow products as dot products]): B fewer columns than two vectors, and the
    /// product `A·Bᵀ` with those rows would take the dot-product path (`dotSuits`).
    static func narrowDotSuits<T>(_ type: T.Type, transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                  level: KernelLevel, cache: CacheSizes) -> Bool {
        guard !transposeB, let table = level.builtTable?.pointee else { return false }
        return n < 2 * Int(table.float_lanes)
            && dotSuits(T.self, transposeA: transposeA, transposeB: true, m: m, k: k, level: level, cache: cache)
    }

    /// `C = alpha·A·B + beta·C` for a narrow B (`narrowDotSuits` holds): B transposed into pooled
    /// scratch (64-byte aligned rows of k values), then `dotProduct`.
    static func narrowDotProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, level: KernelLevel, cache: CacheSizes,
        epilogue: Epilogue?
    ) {
        // Rows 64 bytes apart, so that the tiles' loads of them are aligned. (More than 1 KiB, so
        // that `withScratch` takes a pooled buffer, 64-byte aligned.)
        let ld = roundUp(k, 64 / MemoryLayout<T>.stride)
        withScratch(T.self, count: Swift.max(n * ld, 1024 / MemoryLayout<T>.stride + 1)) { bt in
            level.builtTable!.pointee.transpose32(UnsafeRawPointer(b), ldb, UnsafeMutableRawPointer(bt), ld, n, k)
            dotProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: UnsafePointer(bt), ldb: ld, beta: beta,
                       c: c, ldc: ldc, loop: loop, level: level, cache: cache, epilogue: epilogue)
        }
    }

    /// Rows of A per block: as many as take half of L2 (a multiple of the tile's rows, at least
    /// one tile).
    static func dotRowBlock(m: Int, k: Int, tileRows: Int, cache: CacheSizes) -> Int {
        let rows = Swift.max(tileRows, cache.l2 / 2 / Swift.max(1, k * MemoryLayout<Float>.stride) / tileRows * tileRows)
        return Swift.min(m, rows)
    }

    /// B's rows (C's columns) per work item: eight tiles' worth (64 on AVX-512, 32 on AVX2).
    static func dotColumns(table: ck_table) -> Int { 8 * Int(table.sgemm_dot_cols) }

    /// `C = alpha·A·Bᵀ + beta·C` on the dot-product tiles (`dotSuits` holds): blocks of C split
    /// over the workers, the epilogue on each block once it is done.
    static func dotProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, level: KernelLevel, cache: CacheSizes,
        epilogue: Epilogue?
    ) {
        let table = level.builtTable!.pointee
        let dot = table.sgemm_dot!
        let rowBlock = dotRowBlock(m: m, k: k, tileRows: Int(table.sgemm_dot_rows), cache: cache)
        let columns = dotColumns(table: table)
        let rowBlocks = (m + rowBlock - 1) / rowBlock, columnBlocks = (n + columns - 1) / columns
        let items = rowBlocks * columnBlocks
        // As on the small-product path: no split at or below 2^20 multiply-adds, pieces of at
        // least 2^18, several per worker.
        let workers = loop.concurrency, work = m * n * k
        let split = workers > 1 && work > 1 << 20 && items > 1
        let smallest = Swift.max(1, (items << 18) / Swift.max(1, work))
        let alpha = unsafeBitCast(alpha, to: Float.self), beta = unsafeBitCast(beta, to: Float.self)
        let a = floats(a), b = floats(b), c = floats(c)
        // B's rows copied to aligned scratch when they are not aligned to a vector (a Swift
        // array's storage, 16 or 32 bytes past a 64-byte boundary; a plan's buffers are aligned).
        let vectorBytes = Int(table.float_lanes) * MemoryLayout<Float>.stride
        let aligned = Int(bitPattern: b) % vectorBytes == 0 && ldb * MemoryLayout<Float>.stride % vectorBytes == 0
        // (More than 1 KiB, so that `withScratch` takes a pooled buffer, 64-byte aligned.)
        let copyCount = aligned ? 0 : Swift.max(Int(table.sgemm_dot_cols) * k, 1024 / MemoryLayout<Float>.stride + 1)
        splitting(loop, 0..<items, when: split, grain: Swift.max(smallest, items / (4 * workers))) { range in
            withScratch(Float.self, count: copyCount) { scratch in
                let bcopy = aligned ? nil : scratch
                // The epilogue takes each run of the range's blocks in one row block at once: whole
                // rows where the range allows, which the hardware prefetcher follows better than
                // 64-column pieces of many rows (Note [GEMM dot products]).
                var runStart = 0
                for item in range {
                    let ic = item / columnBlocks * rowBlock, jc = item % columnBlocks * columns
                    let rows = Swift.min(rowBlock, m - ic), cols = Swift.min(columns, n - jc)
                    dot(k, a + ic * lda, lda, b + jc * ldb, ldb, c + ic * ldc + jc, ldc, rows, cols, alpha, beta, bcopy)
                    if item == range.lowerBound || jc == 0 { runStart = jc }
                    if let epilogue, item + 1 == range.upperBound || jc + cols == n {
                        epilogue(ic..<(ic + rows), runStart..<(jc + cols))
                    }
                }
            }
        }
    }
}
