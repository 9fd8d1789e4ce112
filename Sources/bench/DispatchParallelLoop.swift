import Dispatch
import Kernels

/// A `ParallelLoop` over `DispatchQueue.concurrentPerform` with a fixed worker count, so `bench`
/// can run kernels on several threads. (To be replaced by the Scheduler's executor once the Tensor
/// layer adapts it to `ParallelLoop`.)
struct DispatchParallelLoop: ParallelLoop {
    /// Pieces that may run at once (`--threads`).
    let workers: Int
    var concurrency: Int { workers }

    func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
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
