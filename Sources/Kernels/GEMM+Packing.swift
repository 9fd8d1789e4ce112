import Synchronization

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
        // The largest free buffer: growing it (rarely) keeps the pool's size bounded.
        if let best = free.indices.max(by: { free[$0].bytes < free[$1].bytes }) {
            let buffer = free.remove(at: best)
            if buffer.bytes >= bytes { return buffer }
            buffer.pointer.deallocate()
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
