/// General matrix multiply, `C = alpha · op(A) · op(B) + beta · C`, on row-major buffers.
///
/// `op(A)` is `m × k` (A stored `m × k`, or `k × m` when `transposeA`), `op(B)` is `k × n`
/// (B stored `k × n`, or `n × k` when `transposeB`), C is `m × n`; `lda`, `ldb`, `ldc` are the
/// distances in elements between consecutive stored rows. When `beta == 0`, C is only written,
/// never read (NaN in the old C does not leak through), as in BLAS.
///
/// Structure (BLIS): k is cut into ⌈k/kc⌉ nearly equal blocks, n into blocks of `nc`, m into
/// blocks of `mc`; each block of op(B) is packed into `kc × nr` column panels (by the first tile
/// of each panel, as it computes, where a worker packs panels for itself: Note [GEMM packing in
/// the first tile]), each block of op(A) into `mr × kc` row panels (zero-padded at the edges, so
/// edges use the same micro-kernel), and
/// the register-tile micro-kernel of the CPU's level accumulates with multiply-adds (`MicroKernel`:
/// the tile sizes `mr × nr` and the block sizes come from it and from `cache`). Only the
/// micro-kernel is level-specific (C, in `CKernels`); packing, blocking and threading are here.
/// Each worker computes its own rectangle of C with private buffers (no synchronization inside
/// a product). Small products take a path without packing overhead (Note [GEMM
/// small-product budget]: op(B) within half of L2, and at most two panels wide or what is re-read
/// in place within a quarter): op(A) and (when not transposed) op(B) are read in place, k is not
/// blocked, and products up to 64³ run on the calling thread. Products of rows by rows (A·Bᵀ)
/// with a deep k and few rows take dot products of the rows, in place (`usesDotProducts`), and
/// so do such products A·B with a B narrower than two vectors, through a transposed copy of B.
///
/// Summation order (fixed, so results are reproducible): every `C[i][j]` is accumulated over
/// `p = 0, 1, ..., k-1` in order with one FMA per term within each k block (all of k on the
/// small-product path), and the blocks are added to C in order (`C = alpha·acc₀ + beta·C`, then
/// `C = C + alpha·acc₁`, ...). The blocking depends only on `m, n, k`, the transposes and
/// `cache` and the level, never on the thread count: work is divided over blocks of C, never
/// over k, so 1 and N workers give bitwise-equal results. Levels differ in the last bits (the
/// x86-64 baseline does not fuse the multiply-adds; tiles and `kc` differ). One exception to the
/// order above: Float products of rows by rows (`op(A)` = A, `op(B)` = Bᵀ) with a deep k and few
/// rows, and such products A·B whose B is narrower than two vectors, take dot products of the
/// rows (`usesDotProducts`, Note [GEMM dot products]): each element is then summed in vector
/// lanes (lane l takes p ≡ l modulo the vector's width, in order) whose sums are added in a fixed
/// tree, also independent of the thread count.
///
/// An `epilogue` (a bias and an activation, a gradient mask, an optimizer step: any elementwise
/// work on C) runs on each block of C as soon as the block holds its final value, while the block
/// is still in cache, instead of in a second pass over C (Note [GEMM epilogues]). `columnSums`
/// (a bias gradient) are taken from the same blocks after the epilogue, in an order that does not
/// depend on the thread count (Note [Column sums from the product's blocks]).
///
/// ```swift
/// // C (2×2) = A (2×3) · B (3×2)
/// try GEMM.multiply(m: 2, n: 2, k: 3, a: a, lda: 3, b: b, ldb: 2, c: c, ldc: 2)
/// // Cᵀ-style backward product: dW (k×n) += Xᵀ (k×m) · dY (m×n)
/// try GEMM.multiply(transposeA: true, m: k, n: n, k: m, a: x, lda: k, b: dy, ldb: n,
///                   beta: 1, c: dw, ldc: n, loop: executorLoop)
/// ```
public enum GEMM {
    /// `C = alpha · op(A) · op(B) + beta · C` (see the type's documentation), with the
    /// micro-kernel of `level` (by default the one chosen for this CPU). Throws a `KernelError`
    /// naming `gemm` when a size is negative, a leading dimension is too small or `level` is not
    /// supported by this CPU.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func multiply<T: KernelFloat>(
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: T = 1,
        a: UnsafePointer<T>, lda: Int,
        b: UnsafePointer<T>, ldb: Int,
        beta: T = 0,
        c: UnsafeMutablePointer<T>, ldc: Int,
        loop: any ParallelLoop = SerialLoop(),
        cache: CacheSizes = .default,
        level: KernelLevel = .current,
        epilogue: Epilogue? = nil,
        columnSums: [ColumnSum<T>] = []
    ) throws {
        try validate(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                     lda: lda, ldb: ldb, ldc: ldc)
        guard level.isSupported else { throw KernelError("gemm", "kernel level \(level) is not supported by this CPU") }
        for sum in columnSums where sum.rowStride < n {
            throw KernelError("gemm", "column sum's row stride \(sum.rowStride) < n = \(n)")
        }
        if n == 0 { return }
        if m == 0 {
            for sum in columnSums { sum.destination.update(repeating: 0, count: n) }
            return
        }
        if k == 0 || alpha == 0 {
            scale(m: m, n: n, beta: beta, c: c, ldc: ldc)
            withColumnSums(columnSums, m: m, n: n, chunk: m, epilogue: epilogue) { $0?(0..<m, 0..<n) }
            return
        }
        let kernel = MicroKernel<T>.best(m: m, n: n, level: level, cache: cache)!   // supported, so built
        if columnSums.isEmpty {
            product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, loop: loop, cache: cache, kernel: kernel, epilogue: epilogue)
            return
        }
        let chunk = columnSumChunk(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                                   a: Operand(base: a, ld: lda, transposed: transposeA),
                                   b: Operand(base: b, ld: ldb, transposed: transposeB), beta: beta,
                                   kernel: kernel, cache: cache)
        withColumnSums(columnSums, m: m, n: n, chunk: chunk, epilogue: epilogue) { extended in
            product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                    b: b, ldb: ldb, beta: beta, c: c, ldc: ldc, loop: loop, cache: cache, kernel: kernel, epilogue: extended)
        }
    }

    /// One checked, non-empty product (`k > 0`, `alpha ≠ 0`) on `kernel`: the small-product path
    /// or the packed one.
    @inline(__always)
    static func product<T: KernelFloat>(
        transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: T,
        a: UnsafePointer<T>, lda: Int, b: UnsafePointer<T>, ldb: Int, beta: T,
        c: UnsafeMutablePointer<T>, ldc: Int, loop: any ParallelLoop, cache: CacheSizes,
        kernel: MicroKernel<T>, epilogue: Epilogue?
    ) {
        if dotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, k: k, level: kernel.level, cache: cache) {
            dotProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                       loop: loop, level: kernel.level, cache: cache, epilogue: epilogue)
            return
        }
        if narrowDotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                          level: kernel.level, cache: cache) {
            narrowDotProduct(m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c, ldc: ldc,
                             loop: loop, level: kernel.level, cache: cache, epilogue: epilogue)
            return
        }
        let a = Operand(base: a, ld: lda, transposed: transposeA)
        let b = Operand(base: UnsafePointer(b), ld: ldb, transposed: transposeB)
        if let turned = transposedResultKernel(m: m, n: n, k: k, a: a, b: b, beta: beta, kernel: kernel, cache: cache) {
            transposedResultProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, c: c, ldc: ldc, loop: loop, kernel: turned,
                                    cache: cache, epilogue: epilogue)
            return
        }
        if directSuits(T.self, m: m, n: n, k: k, a: a, nr: kernel.nr, cache: cache) {
            directProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc, loop: loop,
                          kernel: kernel, cache: cache, epilogue: epilogue)
        } else {
            packedProduct(m: m, n: n, k: k, alpha: alpha, a: a, b: b, beta: beta, c: c, ldc: ldc,
                          loop: loop, kernel: kernel, cache: cache, epilogue: epilogue)
        }
    }

    // Note [GEMM small-product budget]: the small-product path (`directProduct`) reads op(A) and
    // op(B) in place, so every k step of a tile touches a row of B (ldb apart) and, where op(A)
    // is a transposed X (a weight gradient, Xᵀ·dY), a row of X (lda apart). With rows of 1024
    // values each step is a new page and a new line: a 6×16 tile's 64 steps touch 128 pages, more
    // than Zen 3's L1 data TLB holds (64 entries), in lines that the hardware prefetchers do not follow. While op(B)
    // alone fitted in half of L2, the batch-64 MLP step's weight gradients (1024×1024×64 and
    // 784×1024×64, Xᵀ·dY with beta 1) ran here: 37-40 GFLOP/s on one Zen 3 core against 70-74
    // for PyTorch's, and 57-71 on the packed path, which reads packed panels in order. So the
    // path now takes a product only when what its tiles re-read in place is small: op(B) plus,
    // for a transposed op(A), op(A), within a quarter of L2. Products of at most two panels keep
    // it whatever their size: each tile then reads A once, and packing cost more than it saved
    // (1024×10×256 with op(A) = Xᵀ: 35 GFLOP/s here, 12.5 packed; 256×10×1024: 56 against 22).
    // Alternating calls of the two paths in one process (median GFLOP/s, one Zen 3 core, the
    // first figure for the path chosen now): 1024×1024×64 Xᵀ·B beta 1 58-60 / 37-39 (2 workers
    // 85-100 / 61-73), 784×1024×64 57-71 / 43-49, 64×1024×64 58-74 / 45-52, 256×512×64 Xᵀ·B 73
    // / 56; kept on the small path: 32×256×64 86 / 71 packed, 96³ 64-78 / 58-71, 4096×64×64
    // 62-78 / 54-68, 1024×128×128 68-71 / 64-69. The paths sum over k in the same order where k
    // fits one k block; a deeper product that the new budget moves to the packed path gets its k
    // blocking (other last bits than before, the same for every worker count).

    /// Whether `directProduct` suits an `m × n × k` product (Note [GEMM small-product budget]):
    /// packed op(B) within half of L2, and either at most two panels of columns or what the
    /// tiles re-read in place (op(B), plus op(A) where it is transposed) within a quarter of L2.
    @inline(__always)
    static func directSuits<T>(_ type: T.Type, m: Int, n: Int, k: Int, a: Operand<T>, nr: Int,
                               cache: CacheSizes) -> Bool {
        let stride = MemoryLayout<T>.stride, columns = roundUp(n, nr)
        guard columns * k * stride <= cache.l2 / 2 else { return false }
        return columns <= 2 * nr || (columns + (a.transposed ? m : 0)) * k * stride <= cache.l2 / 4
    }

    /// Work on finished blocks of C, given to `multiply` (Note [GEMM epilogues]): called with the
    /// rows and columns of each block once the block holds its final value.
    ///
    /// Note [GEMM epilogues]: the blocks are disjoint and together cover C, each is handed over
    /// exactly once, and several may be handed over at the same time on different workers, so an
    /// epilogue may read and write the elements of its block (of C and of arrays laid out like
    /// C) and nothing else. A block is a run of row tiles across all of C's columns on the
    /// small-product path (up to half of L1), and a work item's rows times at most
    /// `epilogueColumns` columns on the packed path (after the last k block), and a worker's
    /// consecutive blocks of one row block on the dot-product path (whole rows on one worker):
    /// small enough to be in L1 or L2 when the epilogue reads it, large enough that the
    /// epilogue's per-call cost stays small. Which blocks are made depends on the
    /// worker count; an epilogue that is elementwise gives the same bits however C is cut.
    ///
    /// ```swift
    /// // y = relu(A·B + bias), the bias and activation applied while each block is in cache
    /// try GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: y, ldc: n) { rows, columns in
    ///     for i in rows { for j in columns { y[i * n + j] = max(0, y[i * n + j] + bias[j]) } }
    /// }
    /// ```
    public typealias Epilogue = @Sendable (_ rows: Range<Int>, _ columns: Range<Int>) -> Void

    /// The widest block (in columns) the packed path hands to an epilogue: a block of `mc` rows of
    /// this width fits in L2 (for the MLP's 1024-wide layers, whole rows: one epilogue call per
    /// block rather than one per row).
    static func epilogueColumns(rows: Int, nr: Int, cache: CacheSizes, stride: Int) -> Int {
        Swift.max(nr, cache.l2 / Swift.max(1, rows * stride) / nr * nr)
    }

    /// `batch` independent products `C_i = alpha · op(A_i) · op(B_i) + beta · C_i`, where
    /// `A_i = a + i·strideA` (likewise B, C). A stride of 0 shares one operand across the batch
    /// (e.g. one weight matrix). Each product is computed exactly as `multiply` would, so results do
    /// not depend on how the batch is split over workers.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func multiplyBatched<T: KernelFloat>(
        batch: Int,
        transposeA: Bool = false, transposeB: Bool = false,
        m: Int, n: Int, k: Int,
        alpha: T = 1,
        a: UnsafePointer<T>, lda: Int, strideA: Int,
        b: UnsafePointer<T>, ldb: Int, strideB: Int,
        beta: T = 0,
        c: UnsafeMutablePointer<T>, ldc: Int, strideC: Int,
        loop: any ParallelLoop = SerialLoop(),
        cache: CacheSizes = .default,
        level: KernelLevel = .current
    ) throws {
        guard batch >= 0 else { throw KernelError("gemm", "negative batch \(batch)") }
        try validate(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                     lda: lda, ldb: ldb, ldc: ldc)
        guard level.isSupported else { throw KernelError("gemm", "kernel level \(level) is not supported by this CPU") }
        if batch == 0 || m == 0 || n == 0 { return }
        if k == 0 || alpha == 0 {
            for i in 0..<batch { scale(m: m, n: n, beta: beta, c: c + i * strideC, ldc: ldc) }
            return
        }
        // The tile is chosen once for the batch (attention runs hundreds of small products).
        let kernel = MicroKernel<T>.best(m: m, n: n, level: level, cache: cache)!
        // Small products (on the small-product path): whole products per piece of work, run back
        // to back; large ones: split inside each product.
        let smallProduct = m * n * k <= 64 * 64 * 64
            && directSuits(T.self, m: m, n: n, k: k, a: Operand(base: a, ld: lda, transposed: transposeA),
                           nr: kernel.nr, cache: cache)
        if smallProduct && batch > 1 {
            splitting(loop, 0..<batch, when: loop.concurrency > 1, grain: 1) { range in
                directProducts(range, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                               a: a, lda: lda, strideA: strideA, b: b, ldb: ldb, strideB: strideB, beta: beta,
                               c: c, ldc: ldc, strideC: strideC, kernel: kernel)
            }
        } else {
            for i in 0..<batch {
                product(transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k, alpha: alpha,
                        a: a + i * strideA, lda: lda, b: b + i * strideB, ldb: ldb, beta: beta,
                        c: c + i * strideC, ldc: ldc, loop: loop, cache: cache, kernel: kernel, epilogue: nil)
            }
        }
    }

    static func validate(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                         lda: Int, ldb: Int, ldc: Int) throws {
        guard m >= 0, n >= 0, k >= 0 else {
            throw KernelError("gemm", "negative size m=\(m) n=\(n) k=\(k)")
        }
        let aCols = transposeA ? m : k, bCols = transposeB ? k : n
        // An empty operand (a zero dimension) is never read: any leading dimension will do.
        guard lda >= max(1, aCols) || aCols == 0 else {
            throw KernelError("gemm", "lda \(lda) < \(aCols) (stored columns of A, \(transposeA ? "k×m" : "m×k"))")
        }
        guard ldb >= max(1, bCols) || bCols == 0 else {
            throw KernelError("gemm", "ldb \(ldb) < \(bCols) (stored columns of B, \(transposeB ? "n×k" : "k×n"))")
        }
        guard ldc >= max(1, n) || n == 0 else { throw KernelError("gemm", "ldc \(ldc) < n = \(n)") }
    }

    /// C = beta · C (C = 0 when beta is 0, without reading C).
    static func scale<T: KernelFloat>(m: Int, n: Int, beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
        for i in 0..<m {
            let row = c + i * ldc
            if beta == 0 {
                row.update(repeating: 0, count: n)
            } else if beta != 1 {
                for j in 0..<n { row[j] = beta * row[j] }
            }
        }
    }

    @inline(__always) static func roundUp(_ x: Int, _ multiple: Int) -> Int {
        (x + multiple - 1) / multiple * multiple
    }
}

/// A stored matrix operand and how to read `op(X)[row][col]` from it.
struct Operand<T> {
    let base: UnsafePointer<T>
    let ld: Int
    let transposed: Bool

    /// Distance between consecutive rows / columns of op(X).
    var rowStride: Int { transposed ? 1 : ld }
    var colStride: Int { transposed ? ld : 1 }

    @inline(__always) func pointer(row: Int, col: Int) -> UnsafePointer<T> {
        base + row * rowStride + col * colStride
    }
}
