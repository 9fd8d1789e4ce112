/// How a kernel splits its work across threads, without knowing who runs them.
///
/// Kernels call `parallelFor` with independent pieces of work (rows or column blocks of an output,
/// never parts of one reduction), so results do not depend on how many threads run them.
/// The Tensor layer adapts the Scheduler's `Executor` to this protocol; `SerialLoop` runs inline.
///
/// ```swift
/// let loop: any ParallelLoop = SerialLoop()
/// loop.parallelFor(0..<rows, grain: 16) { rowRange in /* work on rowRange */ }
/// ```
public protocol ParallelLoop: Sendable {
    /// How many pieces can usefully run at once right now (1 inside an already parallel region).
    var concurrency: Int { get }

    /// Calls `body` on disjoint subranges that together cover `range`, each at least `grain` long
    /// (except the last), possibly concurrently; returns after all calls have returned.
    func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void)
}

/// Runs every loop inline on the calling thread.
public struct SerialLoop: ParallelLoop {
    public init() {}
    public var concurrency: Int { 1 }
    public func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
        if !range.isEmpty { body(range) }
    }
}

/// Runs `body` on `range`: split over `loop` with `grain` when `split` is true, inline otherwise.
///
/// Kernels pass their loop bodies here as closure literals: a non-escaping argument keeps the
/// closure's captures on the stack, where a closure stored in a local `let` (escaping by type)
/// has its context allocated on the heap at every call.
@inline(__always)
func splitting(_ loop: any ParallelLoop, _ range: Range<Int>, when split: Bool, grain: @autoclosure () -> Int,
               _ body: (Range<Int>) -> Void) {
    if split { loop.parallelFor(range, grain: grain(), body) } else { body(range) }
}
