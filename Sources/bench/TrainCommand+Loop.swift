import Foundation
import Kernels

extension TrainCommand {
    /// The parallel loop `bench train` runs its plans' large operations on: `threads` libdispatch
    /// threads. (Interim: replaced by the Scheduler's pinned executor once plans run on it.)
    struct ThreadLoop: ParallelLoop {
        let threads: Int
        var workerCount: Int { threads }
        var concurrency: Int { threads }

        func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
            let n = range.count
            guard n > 0 else { return }
            let pieces = min(threads, (n + max(1, grain) - 1) / max(1, grain))
            guard pieces > 1 else { body(range); return }
            let size = (n + pieces - 1) / pieces
            // `ParallelLoop`'s contract: `body` may run concurrently on disjoint ranges, so sharing it
            // with the dispatch threads is safe; it does not outlive this call (concurrentPerform waits).
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: pieces) { k in
                let lo = range.lowerBound + k * size
                let hi = min(range.upperBound, lo + size)
                if lo < hi { body(lo..<hi) }
            }
        }
    }
}
