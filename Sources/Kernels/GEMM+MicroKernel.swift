import CKernels

extension GEMM {
    /// The register-tile micro-kernel of one CPU level and the blocking it prefers (BLIS's
    /// "context"): the only architecture-specific part of GEMM. Packing and the loops around the
    /// tile read `mr`, `nr`, `kc`, `mc`, `nc` from here.
    ///
    /// The tile computes `acc (mr × nr) = Σ_p op(A)[r][p] · B[p][j]` over `p` in order, one
    /// multiply-add per term (fused on levels with FMA), then `C = alpha·acc + beta·C` on the
    /// corner of the tile that exists; it lives in the C target `CKernels`, compiled per level.
    ///
    /// | level    | Float tile | Double tile |
    /// |----------|------------|-------------|
    /// | baseline | 4 × 8      | 6 × 4       |
    /// | avx2     | 6 × 16     | 6 × 8       |
    /// | avx512   | 12 × 32    | 12 × 16     |
    ///
    /// Block sizes (the BLIS analysis, from `cache`):
    /// - `kc`: an mr×kc micro-panel of A and a kc×nr micro-panel of B share a level-specific part
    ///   of L1: 75% (baseline, AVX2), 150% for AVX-512, whose larger tile update needs a deeper
    ///   kc to amortize (multiple of 32, 32...1024);
    /// - `mc`: the packed mc×kc block of A takes about a quarter of L2 (multiple of mr);
    /// - `nc`: the packed kc×nc block of B takes about an eighth of L3 (multiple of nr, ≤ 4096).
    /// `kc` is the only size that affects results (C is updated between k blocks).
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
        /// Preferred depth, height and width of the packed blocks.
        public let kc: Int, mc: Int, nc: Int
        /// The C functions (`ck_sgemm_tile` or `ck_dgemm_tile`, by `T`).
        let packedTile: UnsafeRawPointer, stridedTile: UnsafeRawPointer

        /// The micro-kernel of `level` for `T` (Float or Double), blocked for `cache`; nil when
        /// this build lacks the level (AVX2 or AVX-512 on aarch64). It describes any level this
        /// build has, but GEMM runs it only where `level.isSupported`.
        public init?(level: KernelLevel, cache: CacheSizes) {
            guard let table = level.builtTable?.pointee else { return nil }
            if T.self == Float.self {
                mr = Int(table.sgemm_mr); nr = Int(table.sgemm_nr)
                packedTile = unsafeBitCast(table.sgemm_packed!, to: UnsafeRawPointer.self)
                stridedTile = unsafeBitCast(table.sgemm_strided!, to: UnsafeRawPointer.self)
            } else {
                precondition(T.self == Double.self, "GEMM runs on Float and Double, not \(T.self)")
                mr = Int(table.dgemm_mr); nr = Int(table.dgemm_nr)
                packedTile = unsafeBitCast(table.dgemm_packed!, to: UnsafeRawPointer.self)
                stridedTile = unsafeBitCast(table.dgemm_strided!, to: UnsafeRawPointer.self)
            }
            self.level = level
            let size = MemoryLayout<T>.stride
            let kcRaw = cache.l1 * Int(table.gemm_l1_percent) / 100 / ((mr + nr) * size)
            let kc = Swift.max(32, Swift.min(1024, kcRaw / 32 * 32))
            self.kc = kc
            mc = Swift.max(mr, cache.l2 / 4 / (kc * size) / mr * mr)
            nc = Swift.max(nr, Swift.min(4096, cache.l3 / 8 / (kc * size) / nr * nr))
        }

        /// One tile from packed panels: A holds `k` steps of `mr` values, B `k` steps of `nr`
        /// values; C gets its `rows × cols` corner.
        @inline(__always)
        func packed(k: Int, a: UnsafePointer<T>, b: UnsafePointer<T>, alpha: T, beta: T,
                    c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int) {
            call(packedTile, k: k, a: a, ars: 1, acs: mr, aRows: mr, b: b, bStride: nr,
                 alpha: alpha, beta: beta, c: c, ldc: ldc, rows: rows, cols: cols)
        }

        /// One tile read in place: op(A)'s row r, column p at `a + r·ars + p·acs` (rows at or
        /// beyond `aRows` reuse row `aRows - 1`, their results dropped), B's row p at
        /// `b + p·bStride` (`nr` contiguous values).
        @inline(__always)
        func strided(k: Int, a: UnsafePointer<T>, ars: Int, acs: Int, aRows: Int, b: UnsafePointer<T>, bStride: Int,
                     alpha: T, beta: T, c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int) {
            call(stridedTile, k: k, a: a, ars: ars, acs: acs, aRows: aRows, b: b, bStride: bStride,
                 alpha: alpha, beta: beta, c: c, ldc: ldc, rows: rows, cols: cols)
        }

        @inline(__always)
        private func call(_ function: UnsafeRawPointer, k: Int, a: UnsafePointer<T>, ars: Int, acs: Int, aRows: Int,
                          b: UnsafePointer<T>, bStride: Int, alpha: T, beta: T,
                          c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int) {
            if T.self == Float.self {
                let tile = unsafeBitCast(function, to: ck_sgemm_tile.self)
                tile(k, UnsafeRawPointer(a).assumingMemoryBound(to: Float.self), ars, acs, aRows,
                     UnsafeRawPointer(b).assumingMemoryBound(to: Float.self), bStride,
                     UnsafeMutableRawPointer(c).assumingMemoryBound(to: Float.self), ldc, rows, cols,
                     unsafeBitCast(alpha, to: Float.self), unsafeBitCast(beta, to: Float.self))
            } else {
                let tile = unsafeBitCast(function, to: ck_dgemm_tile.self)
                tile(k, UnsafeRawPointer(a).assumingMemoryBound(to: Double.self), ars, acs, aRows,
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
