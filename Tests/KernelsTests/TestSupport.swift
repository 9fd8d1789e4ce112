import Dispatch
import Kernels
import Scheduler

/// A `ParallelLoop` over `DispatchQueue.concurrentPerform`, for tests with several workers
/// (the Scheduler's executor is adapted to `ParallelLoop` by the Tensor layer, not here).
struct DispatchLoop: ParallelLoop {
    let workers: Int
    var concurrency: Int { workers }

    func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
        if range.isEmpty { return }
        let g = max(1, grain)
        let pieces = (range.count + g - 1) / g
        withoutActuallyEscaping(body) { body in
            let work = UncheckedBody(run: body)
            DispatchQueue.concurrentPerform(iterations: pieces) { p in
                let lo = range.lowerBound + p * g
                work.run(lo ..< min(range.upperBound, lo + g))
            }
        }
    }
}

/// Carries a `parallelFor` body into `concurrentPerform`.
/// Safe because `ParallelLoop` callers promise that calls on disjoint ranges may run concurrently,
/// and `concurrentPerform` returns before the (non-escaping) body goes out of scope.
struct UncheckedBody: @unchecked Sendable {
    let run: (Range<Int>) -> Void
}

/// SplitMix64: a small seeded generator so every test run sees the same data.
struct TestRandom: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func floats<T: KernelFloat>(_ count: Int, in range: ClosedRange<Double> = -1...1) -> [T] where T.RawSignificand: FixedWidthInteger {
        (0..<count).map { _ in T(Double.random(in: range, using: &self)) }
    }
}

/// The Scheduler's executor as a `ParallelLoop` (forwarding, since the Tensor module owns the
/// conformance of `Executor` itself and tests share one binary).
struct ExecutorLoop: ParallelLoop {
    let executor: Executor
    var concurrency: Int { executor.concurrency }
    func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
        executor.parallelFor(range, grain: grain, body)
    }
}

/// One executor for the whole test run (its workers park when idle).
let sharedExecutor = Executor(workers: 3)

/// Loops used by the "same bits for 1 and N workers" tests.
let workerLoops: [any ParallelLoop] = [
    DispatchLoop(workers: 2), DispatchLoop(workers: 3), DispatchLoop(workers: 8), ExecutorLoop(executor: sharedExecutor),
]
