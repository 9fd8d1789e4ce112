import DispatchLoop
import Foundation
import Kernels
import Scheduler
import Tensor

/// `bench gemm`: throughput of `GEMM.multiply` (single precision unless `--double`).
///
/// ```
/// bench gemm --size 1024 --threads 1 --repeat 10 --json
/// bench gemm --m 256 --n 1024 --k 784 --trans-b --threads 2
/// bench gemm --size 512 --l1-kib 32 --l2-kib 512 --l3-kib 32768   # cache sizes for the blocking
/// bench gemm --size 1024 --threads 2 --loop dispatch                # concurrentPerform, not the executor
/// bench gemm --m 64 --n 1024 --k 1024 --trans-b --aligned           # operands on 64-byte boundaries
/// bench gemm --m 784 --n 1024 --k 256 --trans-a --beta 1 --flush-mb 16  # C += A·B on cold operands
/// ```
/// Threads come from the Scheduler's `Executor` (pinned workers) unless `--loop dispatch`; the
/// cache sizes default to those the topology (hwloc) reports. `--beta` scales C before adding the
/// product (1: an update folded into the product, as a training step's SGD does); `--flush-mb N`
/// writes N MiB between the timed calls (untimed), so the operands come from memory as they do in
/// a training step, where the other layers' products evict them.
/// The first line names the kernel level (`KernelLevel.current`) and its tile and blocking.
/// With `--json` the last line is `{"m":…,"n":…,"k":…,"threads":…,"median_s":…,"gflops":…,…,
/// "kernel_level":"avx2"}`.
enum GemmCommand {
    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["trans-a", "trans-b", "json", "double", "aligned"])
        let size = try args.int("size")
        let m = try args.int("m") ?? size ?? 1024
        let n = try args.int("n") ?? size ?? m
        let k = try args.int("k") ?? size ?? m
        let transA = args.flag("trans-a"), transB = args.flag("trans-b")
        let threads = try args.int("threads", default: 1)
        let repeats = try args.int("repeat", default: 10)
        let json = args.flag("json"), double = args.flag("double"), aligned = args.flag("aligned")
        let loopKind = args.string("loop", default: "executor")
        let flushBytes = try args.int("flush-mb", default: 0) << 20
        let beta = try args.double("beta", default: 0)
        let topology = Topology.current()
        let defaults = CacheSizes(l1: topology.l1dBytes, l2: topology.l2Bytes, l3: topology.l3Bytes)
        let cache = CacheSizes(l1: try args.int("l1-kib").map { $0 << 10 } ?? defaults.l1,
                               l2: try args.int("l2-kib").map { $0 << 10 } ?? defaults.l2,
                               l3: try args.int("l3-kib").map { $0 << 10 } ?? defaults.l3)
        try args.finish()
        guard m > 0, n > 0, k > 0 else { throw ArgumentError("sizes must be positive (m=\(m) n=\(n) k=\(k))") }
        guard flushBytes >= 0 else { throw ArgumentError("--flush-mb must be at least 0") }
        guard threads > 0, repeats > 0 else { throw ArgumentError("--threads and --repeat must be positive") }
        let (loop, finish) = try makeLoop(threads: threads, kind: loopKind)
        defer { finish() }

        let cpu0 = processCPUSeconds()
        let times = double
            ? try measure(Double.self, m: m, n: n, k: k, transA: transA, transB: transB, loop: loop, repeats: repeats,
                          cache: cache, aligned: aligned, flushBytes: flushBytes, beta: beta)
            : try measure(Float.self, m: m, n: n, k: k, transA: transA, transB: transB, loop: loop, repeats: repeats,
                          cache: cache, aligned: aligned, flushBytes: flushBytes, beta: beta)
        // CPU seconds per run (all threads, including the untimed warm-up run): on a machine shared
        // with other work, GFLOP per CPU-second shows the kernel's own speed when wall time cannot.
        let cpuPerRun = (processCPUSeconds() - cpu0) / Double(repeats + 1)
        let median = times.median, best = times.min() ?? 0
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        let gflops = flops / median / 1e9
        let ops = (transA ? "T" : "N") + (transB ? "T" : "N")
        let level = KernelLevel.current
        let tile = double ? "\(GEMM.MicroKernel<Double>(level: level, cache: cache)!)"
                          : "\(GEMM.MicroKernel<Float>(level: level, cache: cache)!)"
        print("kernels: \(level) (\(tile))")
        print(String(format: "%@gemm %@ m=%d n=%d k=%d threads=%d: median %.3f ms, %.1f GFLOP/s (best %.1f; %.1f per CPU-second)",
                     double ? "d" : "s", ops, m, n, k, threads, median * 1e3, gflops, flops / best / 1e9,
                     flops / cpuPerRun / 1e9))
        if json {
            var line = JSONLine()
            line.add("m", m); line.add("n", n); line.add("k", k); line.add("threads", threads)
            line.add("median_s", median); line.add("gflops", gflops)
            line.add("best_s", best); line.add("repeat", repeats)
            line.add("trans_a", transA); line.add("trans_b", transB); line.add("aligned", aligned)
            line.add("type", double ? "f64" : "f32")
            line.add("beta", beta); line.add("flush_mb", flushBytes >> 20)
            line.add("cpu_s_per_run", cpuPerRun)
            line.add("loop", threads == 1 ? "serial" : loopKind)
            line.add("l1", cache.l1); line.add("l2", cache.l2); line.add("l3", cache.l3)
            line.add("kernel_level", level.description)
            print(line.text)
        }
    }

    /// The loop for `--threads` (inline for 1) and what to call when done: the Scheduler's executor
    /// with `threads` pinned workers, or `concurrentPerform` for `--loop dispatch`.
    static func makeLoop(threads: Int, kind: String) throws -> (any ParallelLoop, () -> Void) {
        if threads == 1 { return (SerialLoop(), {}) }
        switch kind {
        case "executor":
            let executor = Executor(workers: threads)
            return (executor, { executor.shutdown() })
        case "dispatch":
            return (DispatchParallelLoop(workers: threads), {})
        default:
            throw ArgumentError("--loop must be executor or dispatch, got '\(kind)'")
        }
    }

    /// CPU time of the whole process (user + system), in seconds.
    static func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func measure<T: KernelFloat>(_ type: T.Type, m: Int, n: Int, k: Int, transA: Bool, transB: Bool,
                                        loop: any ParallelLoop, repeats: Int, cache: CacheSizes,
                                        aligned: Bool, flushBytes: Int, beta: Double) throws -> [Double] {
        var state: UInt64 = 42
        func next() -> T {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return T(Int(state >> 40) % 2001 - 1000) / 1000
        }
        let a = (0..<(m * k)).map { _ in next() }, b = (0..<(k * n)).map { _ in next() }
        var c = [T](repeating: 0, count: m * n)
        return try a.withUnsafeBufferPointer { ap in
            try b.withUnsafeBufferPointer { bp in
                try c.withUnsafeMutableBufferPointer { cp in
                    // --aligned: copies on 64-byte boundaries, as a plan's buffers and parameters are
                    // (a Swift array's storage starts 32 bytes past one).
                    let a = aligned ? alignedCopy(ap) : UnsafeMutableBufferPointer(mutating: ap)
                    let b = aligned ? alignedCopy(bp) : UnsafeMutableBufferPointer(mutating: bp)
                    let c = aligned ? alignedCopy(UnsafeBufferPointer(cp)) : cp
                    defer { if aligned { a.deallocate(); b.deallocate(); c.deallocate() } }
                    // --flush-mb: a buffer written between calls (untimed) evicts the operands from
                    // the caches, as a step's other products do.
                    let flush = LargeAllocation.allocate(UInt8.self, capacity: Swift.max(flushBytes, 64))
                    defer { flush.deallocate() }
                    var fill: UInt8 = 0
                    return try Clock.measure(repeat: repeats, between: {
                        guard flushBytes > 0 else { return }
                        fill &+= 1
                        memset(flush.baseAddress!, Int32(fill), flushBytes)
                    }) {
                        try GEMM.multiply(transposeA: transA, transposeB: transB, m: m, n: n, k: k,
                                          a: a.baseAddress!, lda: transA ? m : k, b: b.baseAddress!, ldb: transB ? k : n,
                                          beta: T(beta), c: c.baseAddress!, ldc: n, loop: loop, cache: cache)
                    }
                }
            }
        }
    }

    static func alignedCopy<T>(_ source: UnsafeBufferPointer<T>) -> UnsafeMutableBufferPointer<T> {
        let copy = LargeAllocation.allocate(T.self, capacity: source.count)
        _ = copy.initialize(fromContentsOf: source)
        return copy
    }
}
