import DispatchLoop
import Kernels
import Scheduler
import TestSupport

extension TestRandom {
    /// `count` values drawn uniformly from `range`.
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
    DispatchParallelLoop(workers: 2), DispatchParallelLoop(workers: 3), DispatchParallelLoop(workers: 8), ExecutorLoop(executor: sharedExecutor),
]
