import Synchronization

extension GEMM {
    /// Packs op(A)[i0 ..< i0+mc][p0 ..< p0+kc] into row panels of `mr`: panel q holds, for each p,
    /// the mr values of rows mr·q ..< mr·(q+1) (zeros past the last row), so the micro-kernel
    /// reads it as one sequential stream.
    static func packA<T: KernelFloat>(_ a: Operand<T>, row i0: Int, rows mc: Int, col p0: Int, cols kc: Int,
                                      mr: Int, into dst: UnsafeMutablePointer<T>) {
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

    /// Packs the column panels `panels` (of `nr` columns each) of op(B)[p0 ..< p0+kc][j0 ..< j0+nc]:
    /// panel q occupies `dst[q·kc·nr ..< (q+1)·kc·nr]` and holds, for each p, the nr values of
    /// columns j0 + q·nr ..< j0 + (q+1)·nr (zeros past the last column).
    static func packB<T: KernelFloat>(_ b: Operand<T>, row p0: Int, rows kc: Int, col j0: Int, cols nc: Int,
                                      panels: Range<Int>, nr: Int, into dst: UnsafeMutablePointer<T>) {
        let w = T.Vector.scalarCount
        for q in panels {
            let cols = Swift.min(nr, nc - q * nr)
            let d = dst + q * kc * nr
            if !b.transposed {
                for p in 0..<kc {
                    let src = b.pointer(row: p0 + p, col: j0 + q * nr)
                    let dp = d + p * nr
                    if cols == nr {
                        // nr is a whole number of vectors on every level.
                        let s = UnsafeRawPointer(src), t = UnsafeMutableRawPointer(dp)
                        var off = 0
                        while off < nr * MemoryLayout<T>.stride {
                            t.storeBytes(of: s.loadUnaligned(fromByteOffset: off, as: T.Vector.self),
                                         toByteOffset: off, as: T.Vector.self)
                            off += w * MemoryLayout<T>.stride
                        }
                    } else {
                        for j in 0..<cols { dp[j] = src[j] }
                        for j in cols..<nr { dp[j] = 0 }
                    }
                }
            } else if T.self == Float.self && cols == nr && nr % 8 == 0 {
                // Full Float panel: 8×8 blocks transposed in registers (contiguous loads and stores).
                let src = UnsafeRawPointer(b.pointer(row: p0, col: j0 + q * nr)).assumingMemoryBound(to: Float.self)
                packTransposedPanel(src, ld: b.ld, kc: kc, nr: nr,
                                    into: UnsafeMutableRawPointer(d).assumingMemoryBound(to: Float.self))
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

extension GEMM {
    /// Packs one full `nr`-column Float panel of a transposed B (nr a multiple of 8):
    /// `d[p·nr + j] = src[j·ld + p]` for `p < kc`, `j < nr`. Each 8×8 block is loaded as 8 contiguous row vectors and transposed in
    /// registers in three rounds of two-source shuffles (the AVX unpack / shuffle / permute2f128
    /// pattern; each `SIMD8` built from lanes of two vectors lowers to one shuffle), instead of a
    /// scalar gather. Values are only moved, so results are bitwise those of the scalar path.
    @inline(__always)
    static func packTransposedPanel(_ src: UnsafePointer<Float>, ld: Int, kc: Int, nr: Int, into d: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        @inline(__always) func unpackLo(_ a: V, _ b: V) -> V { V(a[0], b[0], a[1], b[1], a[4], b[4], a[5], b[5]) }
        @inline(__always) func unpackHi(_ a: V, _ b: V) -> V { V(a[2], b[2], a[3], b[3], a[6], b[6], a[7], b[7]) }
        @inline(__always) func pairLo(_ a: V, _ b: V) -> V { V(a[0], a[1], b[0], b[1], a[4], a[5], b[4], b[5]) }
        @inline(__always) func pairHi(_ a: V, _ b: V) -> V { V(a[2], a[3], b[2], b[3], a[6], a[7], b[6], b[7]) }
        @inline(__always) func lowHalves(_ a: V, _ b: V) -> V { V(a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3]) }
        @inline(__always) func highHalves(_ a: V, _ b: V) -> V { V(a[4], a[5], a[6], a[7], b[4], b[5], b[6], b[7]) }
        let out = UnsafeMutableRawPointer(d)
        let rowBytes = nr * MemoryLayout<Float>.stride
        var p = 0
        while p + 8 <= kc {
            for h in 0..<(nr / 8) {
                let s = src + h * 8 * ld + p
                @inline(__always) func row(_ j: Int) -> V { UnsafeRawPointer(s + j * ld).loadUnaligned(as: V.self) }
                let r0 = row(0), r1 = row(1), r2 = row(2), r3 = row(3)
                let r4 = row(4), r5 = row(5), r6 = row(6), r7 = row(7)
                let t0 = unpackLo(r0, r1), t1 = unpackHi(r0, r1), t2 = unpackLo(r2, r3), t3 = unpackHi(r2, r3)
                let t4 = unpackLo(r4, r5), t5 = unpackHi(r4, r5), t6 = unpackLo(r6, r7), t7 = unpackHi(r6, r7)
                let s0 = pairLo(t0, t2), s1 = pairHi(t0, t2), s2 = pairLo(t1, t3), s3 = pairHi(t1, t3)
                let s4 = pairLo(t4, t6), s5 = pairHi(t4, t6), s6 = pairLo(t5, t7), s7 = pairHi(t5, t7)
                let o = out + p * rowBytes + h * 8 * MemoryLayout<Float>.stride
                o.storeBytes(of: lowHalves(s0, s4), as: V.self)
                o.storeBytes(of: lowHalves(s1, s5), toByteOffset: rowBytes, as: V.self)
                o.storeBytes(of: lowHalves(s2, s6), toByteOffset: 2 * rowBytes, as: V.self)
                o.storeBytes(of: lowHalves(s3, s7), toByteOffset: 3 * rowBytes, as: V.self)
                o.storeBytes(of: highHalves(s0, s4), toByteOffset: 4 * rowBytes, as: V.self)
                o.storeBytes(of: highHalves(s1, s5), toByteOffset: 5 * rowBytes, as: V.self)
                o.storeBytes(of: highHalves(s2, s6), toByteOffset: 6 * rowBytes, as: V.self)
                o.storeBytes(of: highHalves(s3, s7), toByteOffset: 7 * rowBytes, as: V.self)
            }
            p += 8
        }
        while p < kc {
            for j in 0..<nr { d[p * nr + j] = src[j * ld + p] }
            p += 1
        }
    }
}

/// Packing buffers kept between GEMM calls, so that steady-state products allocate nothing.
///
/// A worker takes a buffer at least as large as it needs (allocating, or replacing the largest
/// free one by a bigger one, only while the pool warms up) and gives it back when its share is
/// done. The pool holds as many buffers as were ever in use at once (two per worker share of a
/// product: a few MB at most) and keeps them for the life of the process.
struct PackingPool: ~Copyable {
    /// One buffer. `@unchecked Sendable`: a buffer is used by one thread at a time, the one that
    /// took it from the pool (under its lock) until it gives it back (under the lock again).
    struct Buffer: @unchecked Sendable {
        let pointer: UnsafeMutableRawPointer
        let bytes: Int
    }

    private var free: [Buffer] = []

    init() { free.reserveCapacity(64) }

    /// A 64-byte aligned buffer of at least `bytes` bytes; give it back with `recycle`.
    mutating func take(bytes: Int) -> Buffer {
        // The smallest free buffer that fits (so a product asking for a small and a large buffer gets
        // the same two back every call); failing that, the largest one grows, which keeps the pool's
        // size bounded by what was ever in use at once.
        var fit: Int? = nil
        for i in free.indices where free[i].bytes >= bytes && (fit == nil || free[i].bytes < free[fit!].bytes) {
            fit = i
        }
        if let fit { return free.remove(at: fit) }
        if let largest = free.indices.max(by: { free[$0].bytes < free[$1].bytes }) {
            free.remove(at: largest).pointer.deallocate()
        }
        let size = Swift.max(64, bytes)
        return Buffer(pointer: UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64), bytes: size)
    }

    mutating func recycle(_ buffer: Buffer) {
        free.append(buffer)
    }
}

/// The process-wide packing pool (a `Mutex`: workers of concurrent products take and give back
/// buffers at the start and end of their share, far from the inner loops).
let packingPool = Mutex(PackingPool())

/// Runs `body` with two pooled scratch buffers of `countA` and `countB` elements of `T`.
@inline(__always)
func withPackingBuffers<T, R>(_ type: T.Type, _ countA: Int, _ countB: Int,
                              _ body: (UnsafeMutablePointer<T>, UnsafeMutablePointer<T>) -> R) -> R {
    let (a, b) = packingPool.withLock { pool in
        (pool.take(bytes: countA * MemoryLayout<T>.stride), pool.take(bytes: countB * MemoryLayout<T>.stride))
    }
    defer { packingPool.withLock { pool in pool.recycle(a); pool.recycle(b) } }
    return body(a.pointer.bindMemory(to: T.self, capacity: countA), b.pointer.bindMemory(to: T.self, capacity: countB))
}

/// Runs `body` with scratch space for `count` elements of `T` that allocates nothing in steady
/// state: stack storage up to 1 KiB (where `withUnsafeTemporaryAllocation` is sure to use the
/// stack), a pooled buffer beyond.
@inline(__always)
func withScratch<T, R>(_ type: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
    let bytes = Swift.max(1, count) * MemoryLayout<T>.stride
    if bytes <= 1024 {
        return withUnsafeTemporaryAllocation(of: T.self, capacity: Swift.max(1, count)) { body($0.baseAddress!) }
    }
    let buffer = packingPool.withLock { pool in pool.take(bytes: bytes) }
    defer { packingPool.withLock { pool in pool.recycle(buffer) } }
    return body(buffer.pointer.bindMemory(to: T.self, capacity: count))
}
