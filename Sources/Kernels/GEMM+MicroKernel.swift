extension GEMM {
    /// The register tile: `acc (6 × NR) = Σ_p op(A)[r][p] · Bpanel[p][·]` over `p = 0..<k` in order,
    /// then `C = alpha·acc + beta·C` on the `rows × cols` corner of the tile that exists.
    ///
    /// op(A)'s row r, column p is read at `a + r·ars + p·acs` (a packed panel has ars = 1, acs = 6;
    /// the direct path reads A in place); rows at or beyond `aRows` reuse row `aRows - 1`, whose
    /// results are then dropped. `b` holds `k` rows of NR = 2 vectors, `bStride` elements apart
    /// (NR for a packed panel, ldb when B is read in place).
    /// The 12 accumulators, 2 B vectors and 1 broadcast A value fill 15 of AVX2's 16 registers;
    /// each k step is 2 loads, 6 broadcasts and 12 FMAs (`vfmadd231ps ymm` for Float).
    @inline(__always)
    static func tile<T: KernelFloat>(
        k: Int, a: UnsafePointer<T>, ars: Int, acs: Int, aRows: Int, b: UnsafePointer<T>, bStride: Int,
        alpha: T, beta: T, c: UnsafeMutablePointer<T>, ldc: Int, rows: Int, cols: Int
    ) {
        typealias V = T.Vector
        let w = V.scalarCount
        let a0 = a
        let a1 = a + Swift.min(1, aRows - 1) * ars
        let a2 = a + Swift.min(2, aRows - 1) * ars
        let a3 = a + Swift.min(3, aRows - 1) * ars
        let a4 = a + Swift.min(4, aRows - 1) * ars
        let a5 = a + Swift.min(5, aRows - 1) * ars
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        var bp = UnsafeRawPointer(b)
        let bStep = bStride * MemoryLayout<T>.stride
        let vStep = w * MemoryLayout<T>.stride
        var off = 0
        for _ in 0..<k {
            let b0 = bp.loadUnaligned(as: V.self)
            let b1 = bp.loadUnaligned(fromByteOffset: vStep, as: V.self)
            var x = V(repeating: a0[off])
            c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V(repeating: a1[off])
            c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            x = V(repeating: a2[off])
            c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
            x = V(repeating: a3[off])
            c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
            x = V(repeating: a4[off])
            c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
            x = V(repeating: a5[off])
            c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
            off &+= acs
            bp += bStep
        }
        update(c00, c01, c, cols: cols, alpha: alpha, beta: beta)
        if rows > 1 { update(c10, c11, c + ldc, cols: cols, alpha: alpha, beta: beta) }
        if rows > 2 { update(c20, c21, c + 2 * ldc, cols: cols, alpha: alpha, beta: beta) }
        if rows > 3 { update(c30, c31, c + 3 * ldc, cols: cols, alpha: alpha, beta: beta) }
        if rows > 4 { update(c40, c41, c + 4 * ldc, cols: cols, alpha: alpha, beta: beta) }
        if rows > 5 { update(c50, c51, c + 5 * ldc, cols: cols, alpha: alpha, beta: beta) }
    }

    /// One row of the tile: `dst[j] = alpha·x[j] + beta·dst[j]` for `j < cols` (no read when
    /// beta = 0). The partial-row path does the same arithmetic per lane, so a C element gets the
    /// same bits whether it sits in a full tile or at an edge.
    @inline(__always)
    static func update<V: SIMD>(_ x0: V, _ x1: V, _ dst: UnsafeMutablePointer<V.Scalar>, cols: Int,
                                alpha: V.Scalar, beta: V.Scalar) where V.Scalar: KernelFloat {
        let w = V.scalarCount
        if cols == 2 * w {
            let p = UnsafeMutableRawPointer(dst)
            let off = w * MemoryLayout<V.Scalar>.stride
            let va = V(repeating: alpha)
            var r0: V, r1: V
            if beta == 0 {
                r0 = x0 * va; r1 = x1 * va
            } else {
                var o0 = p.loadUnaligned(as: V.self), o1 = p.loadUnaligned(fromByteOffset: off, as: V.self)
                if beta != 1 { o0 = o0 * V(repeating: beta); o1 = o1 * V(repeating: beta) }
                r0 = o0.addingProduct(x0, va); r1 = o1.addingProduct(x1, va)
            }
            p.storeBytes(of: r0, as: V.self)
            p.storeBytes(of: r1, toByteOffset: off, as: V.self)
        } else {
            for j in 0..<cols {
                let x = j < w ? x0[j] : x1[j - w]
                if beta == 0 {
                    dst[j] = x * alpha
                } else {
                    var o = dst[j]
                    if beta != 1 { o = o * beta }
                    dst[j] = o.addingProduct(x, alpha)
                }
            }
        }
    }
}
