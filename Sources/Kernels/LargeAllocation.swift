#if canImport(Glibc)
import Glibc
#endif

/// Memory for large arrays (weights, a plan's arena, GEMM packing buffers, optimizer state) on
/// huge pages where the system allows it.
///
/// Many Linux systems give transparent huge pages only to memory that asks for them
/// (`/sys/kernel/mm/transparent_hugepage/enabled` set to `madvise`, Debian's default). With 4 KiB
/// pages, a training step's few tens of MB (weights, activations, packed blocks) need more TLB
/// entries than a core has, and every GEMM that streams a weight matrix pays for page walks; on
/// 2 MiB pages the same data takes a few entries. Buffers of at least `threshold` bytes are
/// therefore aligned to 2 MiB, rounded up to whole huge pages and advised `MADV_HUGEPAGE`; smaller
/// ones are ordinary allocations. Either kind is freed with `deallocate()`, as any allocation.
///
/// ```swift
/// let arena = LargeAllocation.allocate(byteCount: 8 << 20, alignment: 64)
/// defer { arena.deallocate() }
/// ```
public enum LargeAllocation {
    /// Buffers at least this large go on huge pages (at most half of the last page is then unused).
    public static var threshold: Int { 2 << 20 }
    /// The huge-page size asked for (x86-64 and most aarch64 kernels).
    static var hugePage: Int { 2 << 20 }

    /// `byteCount` bytes aligned to at least `alignment` (a power of two), on huge pages when
    /// `byteCount >= threshold` and the system grants them.
    public static func allocate(byteCount: Int, alignment: Int) -> UnsafeMutableRawPointer {
        guard byteCount >= threshold else { return .allocate(byteCount: byteCount, alignment: alignment) }
        let size = (byteCount + hugePage - 1) / hugePage * hugePage
        let pointer = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: Swift.max(alignment, hugePage))
        #if os(Linux)
        // Advice only: where the kernel has no transparent huge pages this fails and changes nothing.
        _ = madvise(pointer, size, Int32(MADV_HUGEPAGE))
        #endif
        return pointer
    }

    /// Room for `count` values of `T`, as `allocate(byteCount:alignment:)` gives it (uninitialized).
    public static func allocate<T>(_ type: T.Type, capacity count: Int) -> UnsafeMutableBufferPointer<T> {
        let bytes = Swift.max(1, count) * MemoryLayout<T>.stride
        let raw = allocate(byteCount: bytes, alignment: Swift.max(64, MemoryLayout<T>.alignment))
        return UnsafeMutableBufferPointer(start: raw.bindMemory(to: T.self, capacity: Swift.max(1, count)), count: Swift.max(1, count))
    }
}
