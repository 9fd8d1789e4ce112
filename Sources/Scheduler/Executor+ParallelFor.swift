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
    /// At most `concurrency` threads work on one call: no oversubscription.
    ///
    /// Note [Spreading pieces]: from inside a task, the `concurrency - 1` tokens go to the
    /// worker's own deque and each wakes one parked worker; a woken worker steals a token and
    /// claims pieces from the same counter as the caller, so it takes every piece it arrives in
    /// time for. An idle worker wakes in tens of microseconds, well within a large operation's
    /// piece (milliseconds); but on a machine busy with other processes a woken worker may wait
    /// a whole time slice (several ms) for its CPU, and by then the caller has claimed the rest.
    /// Pieces then stay on the caller although nothing in the pool holds them back (the test
    /// `parallelForInsideATaskSpreadsOverIdleWorkers` checks the spreading itself). More pieces
    /// than workers let a late worker still take a share.
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
            // A worker claims pieces alongside its helpers; an outside thread hands every piece to
            // the workers and sleeps. Were it to work too, the pool would run width + 1 threads on
            // width CPUs, and with pinned workers the one woken may share the caller's CPU while
            // another CPU idles (measured: 2-worker GEMM ran at 1-worker speed).
            let tokens = min(job.pieces, width) - (worker == nil ? 0 : 1)
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
                if !accepted {
                    for _ in 0..<tokens { Unmanaged.passUnretained(job).release() }
                    job.work(worker: nil)   // every piece, on the calling thread
                }
            }
            for _ in 0..<tokens { pool.wakeOne() }
            if let worker {
                job.work(worker: worker)
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
