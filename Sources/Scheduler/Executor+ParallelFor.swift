#if canImport(Glibc)
import Glibc
#endif

extension Executor {
    /// How many pieces of a `parallelFor` can usefully run at once: the worker count, or 1 on a
    /// thread that is already running a `parallelFor` piece (nested loops then run inline).
    public var concurrency: Int { currentLoopDepth() > 0 ? 1 : pool.count }

    /// Calls `body` on disjoint subranges that together cover `range`, each at least `grain` long
    /// (except the last), on this executor's workers and the calling thread; returns when all
    /// calls have returned.
    ///
    /// Callable from any thread, from inside a task (the pieces go to the worker's own deque and
    /// idle workers steal them; the caller runs pieces too and then helps with other work rather
    /// than block, so it works with one worker) and from inside a piece (then it runs inline).
    /// At most `concurrency` threads work on one call, the caller included: no oversubscription.
    ///
    /// Note [Spreading pieces]: the caller hands `concurrency - 1` tokens to the pool (a worker
    /// puts them on its own deque, a thread outside the pool on the shared queue), each waking
    /// one parked worker, and claims pieces itself. A woken worker takes a token and claims
    /// pieces from the same counter as the caller, so it takes every piece it arrives in time
    /// for. An idle worker wakes in tens of microseconds, well within a large operation's
    /// piece (milliseconds); but on a machine busy with other processes a woken worker may wait
    /// a whole time slice (several ms) for its CPU, and by then the caller has claimed the rest.
    /// Pieces then stay on the caller although nothing in the pool holds them back (the test
    /// `parallelForInsideATaskSpreadsOverIdleWorkers` checks the spreading itself). More pieces
    /// than workers let a late worker still take a share.
    ///
    /// An outside caller works too, as the first of `concurrency` threads (as a BLAS caller is
    /// its library's thread 0), so one worker stays idle. When it handed every piece to the
    /// workers and slept, a 2-worker product of 128³ ran at 309-351 GFLOP/s against 369-430 now
    /// (the caller's wait and the hand-over of every piece, on three threads for two CPUs);
    /// 1024³ and 256x1024x1024 were unchanged. With pinned workers, the caller may at first
    /// share a CPU with the worker that takes its token; the system then moves the caller, which
    /// is not pinned, to the idle CPU.
    ///
    /// ```swift
    /// executor.parallelFor(0..<rows, grain: 16) { rows in
    ///     for r in rows { scale(row: r) }
    /// }
    /// ```
    public func parallelFor(_ range: Range<Int>, grain: Int, _ body: (Range<Int>) -> Void) {
        let n = range.count
        guard n > 0 else { return }
        let grain = max(1, grain)
        let width = concurrency
        let maxPieces = (n - 1) / grain + 1
        // After `shutdown()` no worker would take the pieces: the caller runs them all.
        if width <= 1 || maxPieces <= 1 || pool.stopping.load(ordering: .acquiring) {
            runInline(range, body)
            return
        }
        // A few pieces per thread balance uneven pieces without paying a claim per grain.
        let pieceSize = max(grain, (n - 1) / min(maxPieces, width * 4) + 1)
        let worker = pool.currentWorker()
        withoutActuallyEscaping(body) { escapable in
            let job = ParallelForJob(range: range, pieceSize: pieceSize, body: escapable,
                                     observers: worker?.observers,
                                     piece: ObservedTask(index: worker?.currentTask ?? -1, isPiece: true,
                                                         graph: worker?.observers?.graph))
            // The caller claims pieces alongside `width - 1` helpers: `width` threads in all.
            let tokens = min(job.pieces, width) - 1
            // Note [parallelFor lifetime]: every token holds a retain of the job.
            let bits = Int(bitPattern: Unmanaged.passUnretained(job).toOpaque()) | WorkItem.loopKind
            for _ in 0..<tokens { _ = Unmanaged.passRetained(job) }
            if let worker {
                for _ in 0..<tokens { worker.deque.push(bits) }
            } else {
                // Note [Shutting down without stranding a run]: tokens pushed after the last
                // worker left would never be taken, and the caller would sleep forever.
                let accepted = closed.withLock { closed in
                    if !closed { pool.injection.push(bits, times: tokens) }
                    return !closed
                }
                if !accepted {   // the caller runs every piece itself
                    for _ in 0..<tokens { Unmanaged.passUnretained(job).release() }
                }
            }
            for _ in 0..<tokens { pool.wakeOne() }
            job.work(worker: worker)
            if let worker {
                pool.help(worker) { job.isDone }
            } else {
                job.block()
            }
            job.body = nil   // before withoutActuallyEscaping checks that nothing kept it
        }
    }

    /// The whole range as one piece on the calling thread (reported as a piece when observed).
    private func runInline(_ range: Range<Int>, _ body: (Range<Int>) -> Void) {
        let depth = currentLoopDepth()
        pthread_setspecific(loopDepthKey, UnsafeRawPointer(bitPattern: depth + 1))
        defer { pthread_setspecific(loopDepthKey, UnsafeRawPointer(bitPattern: depth)) }
        if let worker = pool.currentWorker(), let observers = worker.observers {
            let piece = ObservedTask(index: worker.currentTask, isPiece: true, graph: observers.graph)
            observers.taskWillStart(piece, worker: worker.index)
            body(range)
            observers.taskDidEnd(piece, worker: worker.index)
        } else {
            body(range)
        }
    }
}
