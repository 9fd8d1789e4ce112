import Dispatch
import Kernels

/// A `ParallelLoop` over `DispatchQueue.concurrentPerform` with a fixed worker count: kernels on
/// several threads without the Scheduler's executor, for `bench gemm --loop dispatch` (to compare
/// with the executor) and for the kernels' tests (results must not depend on which loop splits).
///
/// Package-internal (a target of its own, no product): `bench` and the test targets share it, and
/// the public libraries do not offer it.
///
/// ```swift
/// let loop = DispatchParallelLoop(workers: 4)
/// Elementwise.binary(.add, a, b, into: c, count: n, loop: loop)
/// ```
package struct DispatchParallelLoop: ParallelLoop {
    /// Pieces that may run at once.
    package let workers: Int
    package var concurrency: Int { workers }

    package init(workers: Int) { self.workers = workers }

    package func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
        if range.isEmpty { return }
        let g = max(1, grain)
        let pieces = (range.count + g - 1) / g
        if workers <= 1 || pieces == 1 {
            body(range)
            return
        }
        withoutActuallyEscaping(body) { body in
            let work = LoopBody(run: body)
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
private struct LoopBody: @unchecked Sendable {
    let run: (Range<Int>) -> Void
}
