extension GEMM {
    /// Packs op(A)[i0 ..< i0+mc][p0 ..< p0+kc] into row panels of 6: panel q holds, for each p,
    /// the 6 values of rows 6q ..< 6q+6 (zeros past the last row), so the micro-kernel reads it
    /// as one sequential stream.
    static func packA<T: KernelFloat>(_ a: Operand<T>, row i0: Int, rows mc: Int, col p0: Int, cols kc: Int,
                                      into dst: UnsafeMutablePointer<T>) {
        let mr = GEMM.mr
        var d = dst
        var ir = 0
        while ir < mc {
            let rows = Swift.min(mr, mc - ir)
            if !a.transposed {
                for r in 0..<mr {
                    if r < rows {
                        let src = a.pointer(row: i0 + ir + r, col: p0)
                        for p in 0..<kc { d[p * mr + r] = src[p] }
                    } else {
                        for p in 0..<kc { d[p * mr + r] = 0 }
                    }
                }
            } else {
                for p in 0..<kc {
                    let src = a.pointer(row: i0 + ir, col: p0 + p)
                    let dp = d + p * mr
                    for r in 0..<rows { dp[r] = src[r] }
                    for r in rows..<mr { dp[r] = 0 }
                }
            }
            d += mr * kc
            ir += mr
        }
    }

    /// Packs the column panels `panels` (of NR = 2 vectors each) of op(B)[p0 ..< p0+kc][j0 ..< j0+nc]:
    /// panel q occupies `dst[q·kc·NR ..< (q+1)·kc·NR]` and holds, for each p, the NR values of
    /// columns j0 + q·NR ..< j0 + (q+1)·NR (zeros past the last column).
    static func packB<T: KernelFloat>(_ b: Operand<T>, row p0: Int, rows kc: Int, col j0: Int, cols nc: Int,
                                      panels: Range<Int>, into dst: UnsafeMutablePointer<T>) {
        let w = T.Vector.scalarCount
        let nr = 2 * w
        for q in panels {
            let cols = Swift.min(nr, nc - q * nr)
            let d = dst + q * kc * nr
            if !b.transposed {
                for p in 0..<kc {
                    let src = b.pointer(row: p0 + p, col: j0 + q * nr)
                    let dp = d + p * nr
                    if cols == nr {
                        let s = UnsafeRawPointer(src), t = UnsafeMutableRawPointer(dp)
                        let off = w * MemoryLayout<T>.stride
                        t.storeBytes(of: s.loadUnaligned(as: T.Vector.self), as: T.Vector.self)
                        t.storeBytes(of: s.loadUnaligned(fromByteOffset: off, as: T.Vector.self),
                                     toByteOffset: off, as: T.Vector.self)
                    } else {
                        for j in 0..<cols { dp[j] = src[j] }
                        for j in cols..<nr { dp[j] = 0 }
                    }
                }
            } else {
                for j in 0..<nr {
                    if j < cols {
                        let src = b.pointer(row: p0, col: j0 + q * nr + j)
                        for p in 0..<kc { d[p * nr + j] = src[p] }
                    } else {
                        for p in 0..<kc { d[p * nr + j] = 0 }
                    }
                }
            }
        }
    }
}

/// A 64-byte aligned scratch buffer of `count` elements, freed by `deallocate`.
@inline(__always)
func allocateAligned<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
    UnsafeMutableRawPointer.allocate(byteCount: Swift.max(1, count) * MemoryLayout<T>.stride, alignment: 64)
        .bindMemory(to: T.self, capacity: count)
}
