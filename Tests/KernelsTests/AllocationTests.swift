// Release builds only: the test executable is shared by every test target, and replacing `malloc`
// in it breaks sanitizer builds (ThreadSanitizer intercepts `malloc`/`free` itself; a block from
// our `malloc` freed through its `free` crashes), which CI runs in debug. Package.swift exports
// these symbols in release builds only, to match.
#if !DEBUG
import Glibc
import Kernels
import Synchronization
import Testing
import TestSupport

// Counting heap allocations.
//
// The test executable defines `malloc` (and the aligned allocators) itself, which the dynamic linker resolves ahead of the C
// library's for every caller (the Swift runtime's object and buffer allocations included); it
// forwards to glibc's `__libc_malloc`, so the allocator is unchanged. While a thread is armed,
// that thread's calls are counted; other threads (other tests running in parallel) are not.
// `mallinfo2()` cannot do this: a malloc freed before the next look leaves its counters unchanged.
// Each test first checks that a known allocation is seen, so a linker that ignored the
// interposition would fail the test instead of passing it vacuously.

@_silgen_name("__libc_malloc")
private func libcMalloc(_ size: Int) -> UnsafeMutableRawPointer?

/// `pthread_self()` of the armed thread as an integer (0: nobody armed).
private let armedThread = Atomic<UInt>(0)
/// Allocations made by the armed thread since it was armed.
private let allocationCount = Atomic<Int>(0)
/// Where the self-checks publish their allocation, so the optimizer cannot remove it.
private let sink = Atomic<Int>(0)

/// One heap allocation that the optimizer cannot elide.
private func knownAllocation() {
    let p = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 8)
    sink.store(Int(bitPattern: p), ordering: .relaxed)
    p.deallocate()
}

@_cdecl("malloc")
public func countingMalloc(_ size: Int) -> UnsafeMutableRawPointer? {
    count()
    return libcMalloc(size)
}

@_silgen_name("__libc_memalign")
private func libcMemalign(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer?

/// The Swift runtime allocates with default alignment through `posix_memalign`
/// (`UnsafeMutablePointer.allocate`, for one), so it is counted the same way.
@_cdecl("posix_memalign")
public func countingPosixMemalign(_ result: UnsafeMutablePointer<UnsafeMutableRawPointer?>,
                                  _ alignment: Int, _ size: Int) -> Int32 {
    guard alignment >= MemoryLayout<UnsafeRawPointer>.size, alignment & (alignment - 1) == 0 else { return EINVAL }
    count()
    guard let p = libcMemalign(alignment, size) else { return ENOMEM }
    result.pointee = p
    return 0
}

@_cdecl("aligned_alloc")
public func countingAlignedAlloc(_ alignment: Int, _ size: Int) -> UnsafeMutableRawPointer? {
    count()
    return libcMemalign(alignment, size)
}

@inline(__always) private func count() {
    // Relaxed: the armed thread only counts its own calls, and reads the count on the same thread.
    let armed = armedThread.load(ordering: .relaxed)
    if armed != 0 && armed == UInt(pthread_self()) {
        allocationCount.add(1, ordering: .relaxed)
    }
}

/// Number of `malloc`/`posix_memalign`/`aligned_alloc` calls made by the current thread while running `body` (not thread-safe
/// across tests that arm at the same time: the suite is serialized and nothing else arms).
private func mallocs(_ body: () throws -> Void) rethrows -> Int {
    allocationCount.store(0, ordering: .relaxed)
    armedThread.store(UInt(pthread_self()), ordering: .relaxed)
    defer { armedThread.store(0, ordering: .relaxed) }
    try body()
    return allocationCount.load(ordering: .relaxed)
}

/// Shapes and strides as the Tensor layer passes them: built once, reused by every run.
@Suite(.serialized)
struct AllocationTests {
    /// The counter sees an allocation (otherwise every other expectation here would be vacuous).
    @Test func counterSeesAllocations() {
        #expect(mallocs { knownAllocation() } >= 1)
        #expect(mallocs { for _ in 0..<5 { knownAllocation() } } >= 5)
    }

    @Test func hotKernelsAllocateNothing() throws {
        #expect(mallocs { knownAllocation() } >= 1)  // the counter works in this process

        let n = 4096
        let x = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let y = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let out = UnsafeMutablePointer<Float>.allocate(capacity: n)
        let labels = UnsafeMutablePointer<Int32>.allocate(capacity: 1000)
        defer { x.deallocate(); y.deallocate(); out.deallocate(); labels.deallocate() }
        var random = TestRandom(seed: 7)
        for i in 0..<n { x[i] = Float.random(in: -2...2, using: &random); y[i] = Float.random(in: -2...2, using: &random) }
        for r in 0..<1000 { labels[r] = Int32(r % 4) }

        let shape3 = [4, 8, 16], contiguous3 = [128, 16, 1], rowBroadcast3 = [0, 16, 1], transposed3 = [1, 4, 32]
        let shape2 = [64, 64], contiguous2 = [64, 1], transposed2 = [1, 64], rowStrides = [0, 1], colStrides = [1, 0]
        let all3 = [0, 1, 2], trailing = [1, 2], outer = [0], middle = [1], last = [1]
        let flat = [64], axis0 = [0]
        let loop = SerialLoop()
        let px = UnsafePointer(x), py = UnsafePointer(y)
        // Operands for the packed GEMM path (B of 256×512 does not fit the direct path's budget).
        let big = UnsafeMutablePointer<Float>.allocate(capacity: 256 * 512)
        let bigOut = UnsafeMutablePointer<Float>.allocate(capacity: 8 * 512)
        defer { big.deallocate(); bigOut.deallocate() }
        for i in 0..<(256 * 512) { big[i] = Float(i % 13) - 6 }
        let pbig = UnsafePointer(big)

        let kernels: [(String, () throws -> Void)] = [
            ("binary contiguous", { Elementwise.binary(.mul, px, py, into: out, count: 64, loop: loop) }),
            ("binary scalar", { Elementwise.binary(.add, px, scalar: 2, into: out, count: 64, loop: loop) }),
            ("binary broadcast 3d", {
                try Elementwise.binary(.add, shape: shape3, px, strides: contiguous3, py, strides: rowBroadcast3, into: out, loop: loop)
            }),
            ("binary broadcast rows/cols", {
                try Elementwise.binary(.sub, shape: shape2, px, strides: rowStrides, py, strides: colStrides, into: out, loop: loop)
            }),
            ("unary exp", { Elementwise.unary(.exp, px, into: out, count: 64, loop: loop) }),
            ("unary tanh", { Elementwise.unary(.tanh, px, into: out, count: 64, loop: loop) }),
            ("unary gradient", { Elementwise.unaryGradient(.tanh, value: px, gradient: py, into: out, count: 64, loop: loop) }),
            ("multiplyAdd", { Elementwise.multiplyAdd(px, scale: 0.5, into: out, count: 64, loop: loop) }),
            ("strided copy transpose", { try StridedCopy.copy(shape: shape2, from: px, strides: transposed2, to: out, loop: loop) }),
            ("strided copy 3d", { try StridedCopy.copy(shape: shape3, from: px, strides: transposed3, to: out, loop: loop) }),
            ("strided copy to strides", {
                try StridedCopy.copy(shape: shape2, from: px, strides: contiguous2, to: out, strides: transposed2, loop: loop)
            }),
            ("reduce sum all 64", { try Reduction.reduce(.sum, px, shape: flat, axes: axis0, into: out, loop: loop) }),
            ("reduce sum all 3d", { try Reduction.reduce(.sum, px, shape: shape3, axes: all3, into: out, loop: loop) }),
            ("reduce sum trailing", { try Reduction.reduce(.sum, px, shape: shape3, axes: trailing, into: out, loop: loop) }),
            ("reduce mean outer", { try Reduction.reduce(.mean, px, shape: shape3, axes: outer, into: out, loop: loop) }),
            ("reduce max middle", { try Reduction.reduce(.max, px, shape: shape3, axes: middle, into: out, loop: loop) }),
            ("reduce max rows", { try Reduction.reduce(.max, px, shape: shape2, axes: last, into: out, loop: loop) }),
            ("argmax", {
                try Reduction.argmax(px, shape: shape2, axis: 1, into: UnsafeMutablePointer(mutating: labels), loop: loop)
                for r in 0..<1000 { labels[r] = Int32(r % 4) }
            }),
            ("softmax", { Softmax.forward(px, into: out, rows: 64, cols: 64, loop: loop) }),
            ("log-softmax", { Softmax.logForward(px, into: out, rows: 64, cols: 64, loop: loop) }),
            ("softmax backward", { Softmax.backward(output: px, gradient: py, into: out, rows: 64, cols: 64, loop: loop) }),
            ("log-softmax backward", { Softmax.logBackward(output: px, gradient: py, into: out, rows: 64, cols: 64, loop: loop) }),
            ("cross-entropy", {
                _ = try Softmax.crossEntropy(logits: px, labels: labels, rows: 64, cols: 10, probabilities: out, loop: loop)
            }),
            ("cross-entropy gradient", {
                try Softmax.crossEntropyGradient(logits: px, labels: labels, rows: 64, cols: 10, into: out, loop: loop)
            }),
            ("gemm direct, B panel packed", {
                try GEMM.multiply(m: 8, n: 20, k: 64, a: px, lda: 64, b: py, ldb: 20, c: out, ldc: 20, loop: loop)
            }),
            ("gemm packed (pooled buffers)", {
                try GEMM.multiply(m: 8, n: 512, k: 256, a: px, lda: 256, b: pbig, ldb: 512, c: bigOut, ldc: 512, loop: loop)
            }),
            ("softmax, wide rows (pooled scratch)", { Softmax.logForward(px, into: out, rows: 8, cols: 512, loop: loop) }),
            ("cross-entropy, 1000 rows (pooled losses)", {
                _ = try Softmax.crossEntropy(logits: px, labels: labels, rows: 1000, cols: 4, loop: loop)
            }),
            ("small gemm", {
                try GEMM.multiply(m: 8, n: 8, k: 8, a: px, lda: 8, b: py, ldb: 8, c: out, ldc: 8, loop: loop)
            }),
        ]
        for (name, kernel) in kernels {
            try kernel()  // warm-up: lazy globals, first-use runtime metadata
            let count = try mallocs { for _ in 0..<10 { try kernel() } }
            #expect(count == 0, "\(name): \(count) heap allocations in 10 calls")
        }
    }
}
#endif
