#if canImport(Glibc)
import Glibc
#endif

extension GEMM {
    /// Packs op(A)[i0 ..< i0+mc][p0 ..< p0+kc] into row panels of `mr`: panel q holds, for each p,
    /// the mr values of rows mr·q ..< mr·(q+1) (zeros past the last row), so the micro-kernel
    /// reads it as one sequential stream.
    static func packA<T: KernelFloat>(_ a: Operand<T>, row i0: Int, rows mc: Int, col p0: Int, cols kc: Int,
                                      mr: Int, into dst: UnsafeMutablePointer<T>) {
        var ir = 0
        while ir < mc {
            panel(from: a.pointer(row: i0 + ir, col: p0), along: a.rowStride, depth: a.colStride,
                  count: Swift.min(mr, mc - ir), steps: kc, width: mr, into: dst + ir * kc)
            ir += mr
        }
    }

    /// Packs the column panels `panels` (of `nr` columns each) of op(B)[p0 ..< p0+kc][j0 ..< j0+nc]:
    /// panel q occupies `dst[q·kc·nr ..< (q+1)·kc·nr]` and holds, for each p, the nr values of
    /// columns j0 + q·nr ..< j0 + (q+1)·nr (zeros past the last column).
    static func packB<T: KernelFloat>(_ b: Operand<T>, row p0: Int, rows kc: Int, col j0: Int, cols nc: Int,
                                      panels: Range<Int>, nr: Int, into dst: UnsafeMutablePointer<T>) {
        for q in panels {
            panel(from: b.pointer(row: p0, col: j0 + q * nr), along: b.colStride, depth: b.rowStride,
                  count: Swift.min(nr, nc - q * nr), steps: kc, width: nr, into: dst + q * kc * nr)
        }
    }

    /// One packed panel: `dst[p·width + r] = src[r·along + p·depth]` for `r < count`, `p < steps`,
    /// and 0 for `count ≤ r < width`. Float runs the level's C kernel (vector copies when the
    /// panel's values are contiguous, 8×8 register transposes when its steps are); values are
    /// only moved, so every way of packing gives the same bits.
    @inline(__always)
    static func panel<T: KernelFloat>(from src: UnsafePointer<T>, along: Int, depth: Int, count: Int, steps: Int,
                                      width: Int, into dst: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            currentKernels.pointee.pack(floats(src), along, depth, count, steps, floats(dst), width)
            return
        }
        for p in 0..<steps {
            let s = src + p * depth, d = dst + p * width
            for r in 0..<count { d[r] = s[r * along] }
            for r in count..<width { d[r] = 0 }
        }
    }
}

/// Packing buffers kept between GEMM calls, so that steady-state products allocate nothing.
///
/// A worker takes a buffer at least as large as it needs (allocating, or replacing the largest
/// free one by a bigger one, only while the pool warms up) and gives it back when its share is
/// done. The pool holds as many buffers as were ever in use at once (a product's shared packed B
/// block and one packed A block per worker: a few MB at most) and keeps them for the life of the
/// process.
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
        return Buffer(pointer: LargeAllocation.allocate(byteCount: size, alignment: 64), bytes: size)
    }

    mutating func recycle(_ buffer: Buffer) {
        free.append(buffer)
    }
}

/// A `PackingPool` under a pthread mutex: workers of concurrent products take and give back
/// buffers at the start and end of their share, far from the inner loops. Not
/// `Synchronization.Mutex`: on Linux ThreadSanitizer cannot see it and reports every buffer handed
/// over as a race, which kept the kernels' parallel tests out of its runs; it intercepts pthread
/// mutexes.
final class LockedPackingPool: @unchecked Sendable {
    // @unchecked Sendable: `pool` is only touched under `mutex`.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var pool = PackingPool()

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    /// `PackingPool.take`, under the lock.
    func take(bytes: Int) -> PackingPool.Buffer {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return pool.take(bytes: bytes)
    }

    /// `PackingPool.recycle`, under the lock.
    func recycle(_ buffer: PackingPool.Buffer) {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        pool.recycle(buffer)
    }
}

/// The process-wide packing pool.
let packingPool = LockedPackingPool()

/// Runs `body` with scratch space for `count` elements of `T` that allocates nothing in steady
/// state: stack storage up to 1 KiB (where `withUnsafeTemporaryAllocation` is sure to use the
/// stack), a pooled buffer beyond.
@inline(__always)
func withScratch<T, R>(_ type: T.Type, count: Int, _ body: (UnsafeMutablePointer<T>) -> R) -> R {
    let bytes = Swift.max(1, count) * MemoryLayout<T>.stride
    if bytes <= 1024 {
        return withUnsafeTemporaryAllocation(of: T.self, capacity: Swift.max(1, count)) { body($0.baseAddress!) }
    }
    let buffer = packingPool.take(bytes: bytes)
    defer { packingPool.recycle(buffer) }
    return body(buffer.pointer.bindMemory(to: T.self, capacity: count))
}
