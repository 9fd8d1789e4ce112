import Kernels
import Scheduler

extension Topology {
    /// The cache sizes GEMM blocks for: this machine's, as hwloc reports them.
    public var cacheSizes: CacheSizes { CacheSizes(l1: l1dBytes, l2: l2Bytes, l3: l3Bytes) }
}

/// The cache sizes of the machine, read once (plans run without an executor use them).
enum MachineCaches {
    static let sizes: CacheSizes = Topology.current().cacheSizes
}
