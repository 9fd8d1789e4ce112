/// Data-cache sizes per core, in bytes, from which GEMM derives its block sizes.
///
/// The Scheduler's topology (hwloc) knows the real values; `CacheSizes.default` holds typical
/// Zen 3 figures (L1d 32 KiB, L2 512 KiB, L3 32 MiB) for callers that have none.
///
/// ```swift
/// let cache = CacheSizes(l1: 32 << 10, l2: 512 << 10, l3: 32 << 20)
/// try GEMM.multiply(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, cache: cache)
/// ```
public struct CacheSizes: Sendable, Equatable {
    /// Level-1 data cache per core.
    public var l1: Int
    /// Level-2 cache per core.
    public var l2: Int
    /// Level-3 cache (shared); only a share of it is used for the packed B panel.
    public var l3: Int

    public init(l1: Int, l2: Int, l3: Int) {
        self.l1 = l1
        self.l2 = l2
        self.l3 = l3
    }

    /// Zen 3: 32 KiB L1d, 512 KiB L2, 32 MiB L3.
    public static let `default` = CacheSizes(l1: 32 << 10, l2: 512 << 10, l3: 32 << 20)
}
