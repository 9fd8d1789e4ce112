import CKernels

// Note [Unrolled k loops]: the tiles' k loops (`CK_UNROLL_K` in kernels_template.h) are unrolled
// four times. Rolled, clang kept one of the 6×16 AVX2 tile's twelve accumulators in two registers
// and moved it twice per k step, with a counter and a branch per twelve multiply-adds. On the Zen 3
// host, the tile alone on operands in L1 (`Benchmarks/gemm/tile_peak`, 6×16×256 over and over) ran
// 74-88 GFLOP/s rolled and 87-97 unrolled, against 96-101 for a register-only FMA loop. `bench
// gemm`, 1 worker, the two builds alternated, 3 rounds: 256×1024×1024 60-68 -> 72-81 GFLOP/s,
// 256×1024×784 65-83 -> 72-82, 1024×1024×256 (Xᵀ·dZ, beta 1) 68-73 -> 80-85, 1024³ 66-82 -> 81-90.
// The MLP step on 1 worker, separate processes alternated: batch 64 new/old 0.91 (median of 8
// pairs), batch 256 0.96 (6 pairs). The same operations in the same order: the bits do not change.
// The tiles that read A and B in place (`strided`: small products, convolutions) keep rolled loops:
// unrolled, the digits run (batch 32, products of k 10 to 64) was 23% slower (new/old 0.77, 10
// pairs). The AVX2 dot-product tile (`sgemm_dot`: 3 rows of A by 4 rows of B, k of 256 or more)
// is unrolled too: rolled, its loop was 7 loads, 12 multiply-adds and a branch, and it ran the
// batch-64 input gradient dZ·Wᵀ at 57-65% of the FMA peak (about 97-100 GFLOP/s here, the core
// above its reported 2.445 GHz). The two builds alternated, one worker: `bench gemm --m 64 --n
// 1024 --k 1024 --trans-b --aligned` 56.7-64.6 -> 62.8-69.8 GFLOP/s (4 pairs, each faster); the
// MLP step at batch 64, new/old median 0.98 on one worker and 0.84 on two (5 pairs each), where
// that product is on the critical path; the digits run even (6 pairs, 0.83-1.32, median 1.00).
//
// Note [Tile runs in one call]: each tile was one call from Swift through the level's table (15
// arguments, the form's branches on rows), about as costly as a short tile's k loop: the digits
// step's products (k 10 to 64) spent much of their time in calls. The packed form now takes a
// column of tiles (rows beyond mr: the row panels of packed A one after another) and the strided
// form a row of tiles (columns beyond nr: B's panels in place, or packed ones k·nr values
// apart), and loops in C over the same tiles in the same order: the bits do not change. Each
// tile stays a function of its own (`*_packed_tile`, `*_strided_tile`, not inlined): inlined
// into the loop, clang hoisted the splats of alpha and beta out of it and spilled the 6×16
// tile's accumulators, and the MLP's products ran at half speed. `blockTimesPanels` hands a
// panel's tiles over in one call where nothing is interleaved between them (no copying tile, no
// prefetch share), `directTiles` a row tile's in-place panels in one and its packed ones in
// another. Alternated in one process (Zen 3, one worker), time with runs over time per tile:
// `bench gemm` 32×256×64 0.949-0.953, 64×256×32 with op(A) = Xᵀ 0.909-0.912, 32×256×10 with B
// transposed (the digits step's dZ·Wᵀ, all of op(B) packed) 0.867-0.868; 256×1024×1024
// 0.993-1.000, 1024×1024×256 (Xᵀ·dZ, beta 1) 0.980-0.986. The digits step (batch 32, Adam)
// 0.943-0.955 on 1 and 2 workers; the MLP step at batch 64 0.987 (1 worker) and 0.975-0.976
// (2), at batch 256 0.931-1.004.

extension GEMM {
    /// The register-tile micro-kernel of one CPU level and the blocking it prefers (BLIS's
    /// "context"): the only architecture-specific part of GEMM. Packing and the loops around the
    /// tile read `mr`, `nr`, `kc`, `mc`, `nc` from here.
    ///
    /// The tile computes `acc (mr × nr) = Σ_p op(A)[r][p] · B[p][j]` over `p` in order, one
    /// multiply-add per term (fused on levels with FMA), then `C = alpha·acc + beta·C` on the
    /// corner of the tile that exists; it lives in the C target `CKernels`, compiled per level.
    ///
    /// | level    | Float tile | Double tile | narrow Float | narrow Double |
    /// |----------|------------|-------------|--------------|---------------|
    /// | baseline | 4 × 8      | 6 × 4       | 8 × 4        | 12 × 2        |
    /// | avx2     | 6 × 16     | 6 × 8       | 12 × 8       | 12 × 4        |
    /// | avx512   | 12 × 32    | 12 × 16     | 24 × 16      | 24 × 8        |
    ///
    /// Besides these, the Float wide tile has forms that pack their B panel or their A panel as
    /// they read it in place (`packedCopyingB`, `packedCopyingA`), and AVX2 and AVX-512 have
    /// dot-product tiles for A·Bᵀ (3 × 4 and 2 × 8 dot products, `GEMM.usesDotProducts`), which
    /// are not register tiles of this kind.
    ///
    /// The narrow tiles (one vector wide, the same accumulator count) serve products with few
    /// columns, such as 16 output channels or 10 classes (`best(m:n:level:cache:)` picks the tile
    /// that computes fewer padded elements); they share the wide tile's `kc`, so both give the same
    /// bits. Read in place, a tile may also take A's columns in segments (`segmented`): a
    /// convolution reads its patches straight from the image that way.
    ///
    /// Block sizes (the BLIS analysis, from `cache`):
    /// - `kc`: an mr×kc micro-panel of A and a kc×nr micro-panel of B share a level-specific part
    ///   of L1: 75% (baseline, AVX2), 150% for AVX-512, whose larger tile update needs a deeper
    ///   kc to amortize (multiple of 32, 32...1024);
    /// - `mc`: the packed mc×kc block of A takes about a quarter of L2 (multiple of mr);
    /// - `nc`: the packed kc×nc block of B takes about an eighth of L3 (multiple of nr, ≤ 4096).
    /// - Float products of at least `deepRows` rows (AVX-512: 512; other levels: none) block k
    ///   deeper where k is deeper than `kc` (`blocked(rows:depth:)`): the kc×nr micro-panel of B
    ///   an eighth of L2 (1024 with a 1 MiB L2), with the mc and nc that follow from it. C is
    ///   updated once per k block; in a large product it comes from memory each time, and fewer
    ///   blocks took 2048³ from 231-236 to 249 GFLOP/s on one worker.
    /// `kc` is the only size that affects results (C is updated between k blocks); it depends on
    /// the level, the cache sizes, k and m, never on the worker count.
    ///
    /// ```swift
    /// let kernel = GEMM.MicroKernel<Float>(level: .current, cache: .default)!
    /// print(kernel.mr, kernel.nr, kernel.kc)      // 12 32 256 on AVX-512 with a 32 KiB L1
    /// ```
    /// - Note: `@unchecked Sendable`: the two raw pointers are addresses of C functions, which
    ///   are immutable and callable from any thread.
    public struct MicroKernel<T: KernelFloat>: @unchecked Sendable {
        /// The level whose tile this is.
        public let level: KernelLevel
        /// Rows and columns of the register tile.
        public let mr: Int, nr: Int
        /// The cache sizes the blocking is for.
        public let cache: CacheSizes
        /// Products of at least this many rows take `deepKc` (0: none; see `blocked(rows:depth:)`).
        public let deepRows: Int
        /// Whether this is the deep blocking of `blocked(rows:depth:)`.
        private(set) var deepened: Bool
        /// The level's share of L1 for kc (percent), and the wide tile's rows plus columns and its
        /// columns: kc comes from the wide tile's sizes for both tiles (it is the one size that
        /// shapes the sums, so the narrow tile keeps the wide one's results bit for bit).
        let l1Percent: Int, wideRowsAndColumns: Int, wideColumns: Int

        // The block sizes are computed when read (a few integer divisions): the small-product
        // path never reads them. Computed in every call, they and the copy of the level's table
        // took 12% of the samples of 8³ products (about 160 ns a call); read lazily, 8³ went from
        // 6.0-6.4 to 6.8-7.3 GFLOP/s.

        /// Preferred depth of the packed blocks: `deepKc` for the deep blocking, else the L1 rule.
        public var kc: Int { deepened ? deepKc : shallowKc }
        /// Preferred height of a packed block of op(A) for this `kc`.
        public var mc: Int { Swift.max(mr, cache.l2 / 4 / (kc * MemoryLayout<T>.stride) / mr * mr) }
        /// Preferred width of a packed block of op(B) for this `kc`.
        public var nc: Int { Swift.max(nr, Swift.min(4096, cache.l3 / 8 / (kc * MemoryLayout<T>.stride) / nr * nr)) }
        /// The L1 rule's kc (multiple of 32, 32...1024).
        var shallowKc: Int {
            let kcRaw = cache.l1 * l1Percent / 100 / (wideRowsAndColumns * MemoryLayout<T>.stride)
            return Swift.max(32, Swift.min(1024, kcRaw / 32 * 32))
        }
        /// The deep k block of `blocked(rows:depth:)`: the wide tile's kc×nr micro-panel of B an
        /// eighth of L2 (at least the L1 rule's kc, at most 1024).
        public var deepKc: Int {
            Swift.max(shallowKc, Swift.min(1024, cache.l2 / 8 / (wideColumns * MemoryLayout<T>.stride) / 32 * 32))
        }
        /// The C functions (`ck_sgemm_tile` or `ck_dgemm_tile`, by `T`).
        let packedTile: UnsafeRawPointer, stridedTile: UnsafeRawPointer
        /// The wide Float tile that packs B as it reads it (`sgemm_packed_copy_b`); nil for Double
        /// and the narrow tiles (Note [GEMM packing in the first tile]).
        let copyingTile: UnsafeRawPointer?
        /// The wide Float tile that packs A as it reads it (`sgemm_packed_copy_a`); nil for Double
        /// and the narrow tiles.
        let copyingATile: UnsafeRawPointer?

        /// The micro-kernel of `level` for `T` (Float or Double), blocked for `cache`; nil when
        /// this build lacks the level (AVX2 or AVX-512 on aarch64). It describes any level this
        /// build has, but GEMM runs it only where `level.isSupported`.
        ///
        /// `narrow` picks the level's narrow tile: one vector of columns and twice the rows, for
        /// products with few columns (see `GEMM.MicroKernel.best`). Both tiles give the same bits.
        public init?(level: KernelLevel, cache: CacheSizes, narrow: Bool = false) {
            guard let table = level.builtTable else { return nil }
            if T.self == Float.self {
                mr = Int(narrow ? table.pointee.sgemm_narrow_mr : table.pointee.sgemm_mr)
                nr = Int(narrow ? table.pointee.sgemm_narrow_nr : table.pointee.sgemm_nr)
                packedTile = unsafeBitCast((narrow ? table.pointee.sgemm_narrow_packed : table.pointee.sgemm_packed)!,
                                           to: UnsafeRawPointer.self)
                stridedTile = unsafeBitCast((narrow ? table.pointee.sgemm_narrow_strided : table.pointee.sgemm_strided)!,
                                            to: UnsafeRawPointer.self)
                copyingTile = narrow ? nil : table.pointee.sgemm_packed_copy_b.map { unsafeBitCast($0, to: UnsafeRawPointer.self) }
                copyingATile = narrow ? nil : table.pointee.sgemm_packed_copy_a.map { unsafeBitCast($0, to: UnsafeRawPointer.self) }
                wideRowsAndColumns = Int(table.pointee.sgemm_mr + table.pointee.sgemm_nr)
                wideColumns = Int(table.pointee.sgemm_nr)
                deepRows = Int(table.pointee.gemm_deep_rows)
            } else {
                precondition(T.self == Double.self, "GEMM runs on Float and Double, not \(T.self)")
                mr = Int(narrow ? table.pointee.dgemm_narrow_mr : table.pointee.dgemm_mr)
                nr = Int(narrow ? table.pointee.dgemm_narrow_nr : table.pointee.dgemm_nr)
                packedTile = unsafeBitCast((narrow ? table.pointee.dgemm_narrow_packed : table.pointee.dgemm_packed)!,
                                           to: UnsafeRawPointer.self)
                stridedTile = unsafeBitCast((narrow ? table.pointee.dgemm_narrow_strided : table.pointee.dgemm_strided)!,
                                            to: UnsafeRawPointer.self)
                copyingTile = nil
                copyingATile = nil
                wideRowsAndColumns = Int(table.pointee.dgemm_mr + table.pointee.dgemm_nr)
                wideColumns = Int(table.pointee.dgemm_nr)
                deepRows = 0   // the deep blocking is measured for Float only
            }
            self.level = level
            self.cache = cache
            l1Percent = Int(table.pointee.gemm_l1_percent)
            deepened = false
        }

        /// This tile with the blocking for a product of `m` rows and depth `k`: from `deepRows`
        /// rows on (Float, on levels that have it), and where k is deeper than `kc`, `kc = deepKc`
        /// with the `mc` and `nc` that go with it; otherwise `self` (a product of one k block keeps
        /// the taller row blocks). Large products then update C in fewer passes, and C comes from
        /// memory. The blocking depends on the shape, the cache sizes and the level only, so the
        /// bits stay the same for every worker count.
        public func blocked(rows m: Int, depth k: Int) -> MicroKernel {
            guard deepRows > 0, m >= deepRows, !deepened, k > shallowKc, deepKc > shallowKc else { return self }
            var copy = self
            copy.deepened = true
            return copy
        }

        /// The tile for an `m × n` product on `level`: the narrow one when it computes fewer
        /// padded elements (rows rounded to the tile's height, or to half of it where the tile has
        /// a half-height form, times columns rounded to its width), e.g. 16 or 10 columns against
        /// AVX-512's 32-wide tile; otherwise the wide one.
        public static func best(m: Int, n: Int, level: KernelLevel, cache: CacheSizes) -> MicroKernel? {
            guard let wide = MicroKernel(level: level, cache: cache) else { return nil }
            guard n < wide.nr, let narrow = MicroKernel(level: level, cache: cache, narrow: true) else { return wide }
            return narrow.paddedElements(m: m, n: n) < wide.paddedElements(m: m, n: n) ? narrow : wide
        }

        /// Elements this tile computes for an `m × n` product (a last row tile of at most half the
        /// height runs the half-height form).
        func paddedElements(m: Int, n: Int) -> Int {
            let rest = m % mr
            let rows = m - rest + (rest == 0 ? 0 : rest <= mr / 2 ? mr / 2 : mr)
            return rows * GEMM.roundUp(n, nr)
        }

        /// Tiles from packed panels: A holds `k` steps of `mr` values, B `k` steps of `nr`
        /// values; C gets its `rows × cols` corner. With `rows` > `mr`, a column of tiles: the
        /// next row panel of A `k·mr` values on, its tile `mr` rows down C (Note [Tile runs in
        /// one call]).
        @inline(__always)
        func packed(k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>, alpha: T, beta: T,
                    c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int) {
            call(packedTile, k: k, a: a, ars: 1, acs: mr, aRows: mr, segment: k, jump: 0, b: b, bStride: nr,
                 alpha: alpha, beta: beta, c: c, ldc: ldc, rows: rows, cols: cols)
        }

        /// Whether `packedCopyingB` exists for this tile.
        var copiesB: Bool { copyingTile != nil }

        /// A whole `mr × nr` tile from a packed A panel and B read in place (row p at
        /// `b + p·bStride`, `nr` contiguous values), storing B's rows to `bCopy` as the packed
        /// panel (`nr` per step): `packed`'s operations, so its bits. Only where `copiesB`.
        @inline(__always)
        func packedCopyingB(k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>, bStride: Int, bCopy: UnsafeMutablePointer<T>,
                            alpha: T, beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
            let tile = unsafeBitCast(copyingTile!, to: (@convention(c) (Int, UnsafePointer<Float>?, UnsafePointer<Float>?, Int,
                                                                         UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?,
                                                                         Int, Float, Float) -> Void).self)
            tile(k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
                 bStride, UnsafeMutableRawPointer(bCopy).assumingMemoryBound(to: Float.self),
                 UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc,
                 unsafeBitCast(alpha, to: Float.self), unsafeBitCast(beta, to: Float.self))
        }

        /// Whether `packedCopyingA` exists for this tile.
        var copiesA: Bool { copyingATile != nil }

        /// A whole `mr × nr` tile from op(A) read in place (row r, column p at
        /// `a + r·rowStride + p·colStride`) and a packed B panel, storing A's values to `aCopy` as
        /// the packed row panel (`mr` per step): `packed`'s operations, so its bits. Only where
        /// `copiesA`.
        @inline(__always)
        func packedCopyingA(k: Int, a: UnsafePointer<T>, rowStride: Int, colStride: Int, aCopy: UnsafeMutablePointer<T>,
                            b: UnsafePointer<T>, alpha: T, beta: T, c: UnsafeMutablePointer<T>, ldc: Int) {
            let tile = unsafeBitCast(copyingATile!, to: (@convention(c) (Int, UnsafePointer<Float>?, Int, Int,
                                                                          UnsafeMutablePointer<Float>?, UnsafePointer<Float>?,
                                                                          UnsafeMutablePointer<Float>?, Int, Float, Float) -> Void).self)
            tile(k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), rowStride, colStride,
                 UnsafeMutableRawPointer(aCopy).assumingMemoryBound(to: Float.self),
                 UnsafeRawPointer(b).assumingMemoryBound(to: Float.self),
                 UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc,
                 unsafeBitCast(alpha, to: Float.self), unsafeBitCast(beta, to: Float.self))
        }

        /// One tile read in place: op(A)'s row r, column p at `a + r·ars + p·acs` (rows at or
        /// beyond `aRows` reuse row `aRows - 1`, their results dropped), B's row p at
        /// `b + p·bStride` (`nr` contiguous values). With `cols` > `nr`, a row of tiles, each
        /// `nr` columns on in C; B's next panel is `nr` columns on where B is read in place
        /// (`bStride` ≠ `nr`) and `k·nr` values on where it is packed (`bStride` = `nr`) (Note
        /// [Tile runs in one call]).
        @inline(__always)
        func strided(k: Int, a: UnsafePointer<T>, ars: Int, acs: Int, aRows: Int, b: UnsafePointer<T>, bStride: Int,
                     alpha: T, beta: T, c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int) {
            call(stridedTile, k: k, a: a, ars: ars, acs: acs, aRows: aRows, segment: k, jump: 0, b: b, bStride: bStride,
                 alpha: alpha, beta: beta, c: c, ldc: ldc, rows: rows, cols: cols)
        }

        /// One tile read in place with A's columns in segments: op(A)'s row r, column p at
        /// `a + r·ars + p·acs + (p / segment)·jump` (a convolution's patches read straight from
        /// the image: a segment per kernel row, `jump` to the next input row). Each C element sees
        /// the same operations as in `strided` on the gathered patches, so the bits are the same.
        @inline(__always)
        func segmented(k: Int, a: UnsafePointer<T>, ars: Int, acs: Int, aRows: Int, segment: Int, jump: Int,
                       b: UnsafePointer<T>, bStride: Int, alpha: T, beta: T, c: UnsafeMutablePointer<T>, ldc: Int,
                       rows: Int, cols: Int) {
            call(stridedTile, k: k, a: a, ars: ars, acs: acs, aRows: aRows, segment: segment, jump: jump, b: b,
                 bStride: bStride, alpha: alpha, beta: beta, c: c, ldc: ldc, rows: rows, cols: cols)
        }

        @inline(__always)
        private func call(_ function: UnsafeRawPointer, k: Int, a: UnsafePointer<T>, ars: Int, acs: Int, aRows: Int,
                          segment: Int, jump: Int, b: UnsafePointer<T>, bStride: Int, alpha: T, beta: T,
                          c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int) {
            if T.self == Float.self {
                let tile = unsafeBitCast(function, to: ck_sgemm_tile.self)
                tile(k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), ars, acs, aRows, segment, jump,
                     UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), bStride,
                     UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, rows, cols,
                     unsafeBitCast(alpha, to: Float.self), unsafeBitCast(beta, to: Float.self))
            } else {
                let tile = unsafeBitCast(function, to: ck_dgemm_tile.self)
                tile(k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), ars, acs, aRows, segment, jump,
                     UnsafeRawPointer(b).assumingMemoryBound(to: Double.self), bStride,
                     UnsafeMutableRawPointer(c).assumingMemoryBound(to: Double.self), ldc, rows, cols,
                     unsafeBitCast(alpha, to: Double.self), unsafeBitCast(beta, to: Double.self))
            }
        }
    }
}

extension GEMM.MicroKernel: CustomStringConvertible {
    /// For example `"Float tile 12×32, kc 192, mc 240, nc 2720"`.
    public var description: String { "\(T.self) tile \(mr)×\(nr), kc \(kc), mc \(mc), nc \(nc)" }
}
