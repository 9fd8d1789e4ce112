import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One `parallelFor` call in flight: its range cut into equal pieces that any thread claims with
/// one atomic increment each.
///
/// Note [parallelFor lifetime]
/// The caller pushes k *tokens* (items pointing at this job, each holding a retain) and then
/// claims pieces itself. A token run by a worker claims pieces until none are left, then drops
/// its retain; a token that arrives late finds nothing and only drops its retain. The caller
/// returns once `done == pieces`, i.e. after every piece's body returned, not after every token
/// was taken: tokens never touch `body` unless they claimed a piece, and they can only claim one
/// before `done` reaches `pieces`. So `body` (a non-escaping closure) is cleared before the caller
/// returns and is never called afterwards.
final class ParallelForJob: @unchecked Sendable {
    // @unchecked Sendable: `body` is set before the job is published and cleared after all pieces
    // are done (Note [parallelFor lifetime]); the closure itself is called concurrently by design
    // (the `ParallelLoop` contract: bodies touch disjoint data); `semaphore` is published by the
    // waiter's CAS and read by the finisher after its exchange; the rest is atomics or immutable.
    let lower: Int
    let upper: Int
    let pieceSize: Int
    let pieces: Int
    /// Told about each piece run by a worker (nil when the calling task is not observed).
    let observers: ObserverList?
    /// What each piece reports: a piece of the calling task.
    let piece: ObservedTask
    var body: ((Range<Int>) -> Void)?
    private let next = Atomic<Int>(0)
    private let done = Atomic<Int>(0)
    private let waiter = Atomic<Int>(0)   // 0 running, 1 the caller sleeps, 2 all pieces done
    /// Created only by a caller that is about to sleep (workers never do: they help instead),
    /// before its CAS to 1 publishes it; the finisher reads it after its exchange sees 1.
    private var semaphore: DispatchSemaphore? = nil

    init(range: Range<Int>, pieceSize: Int, body: @escaping (Range<Int>) -> Void,
         observers: ObserverList?, piece: ObservedTask) {
        lower = range.lowerBound
        upper = range.upperBound
        self.pieceSize = pieceSize
        pieces = (range.count + pieceSize - 1) / pieceSize
        self.body = body
        self.observers = observers
        self.piece = piece
    }

    /// Whether every piece has returned; acquire, so their writes are visible after.
    var isDone: Bool { done.load(ordering: .acquiring) == pieces }

    /// Claims and runs pieces until none are left. `worker` is nil on a non-worker thread.
    func work(worker: Worker?) {
        let depth = Int(bitPattern: pthread_getspecific(loopDepthKey))
        pthread_setspecific(loopDepthKey, UnsafeRawPointer(bitPattern: depth + 1))
        defer { pthread_setspecific(loopDepthKey, UnsafeRawPointer(bitPattern: depth)) }
        while true {
            // Relaxed: the counter only hands out distinct piece numbers.
            let i = next.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= pieces { return }
            let lo = lower + i * pieceSize
            let range = lo..<min(lo + pieceSize, upper)
            if let observers, let worker {
                observers.taskWillStart(piece, worker: worker.index)
                body.unsafelyUnwrapped(range)
                observers.taskDidEnd(piece, worker: worker.index)
            } else {
                body.unsafelyUnwrapped(range)
            }
            // Acquire-release: the caller's acquire load of `done` sees every piece's writes.
            if done.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == pieces {
                if waiter.exchange(2, ordering: .acquiringAndReleasing) == 1 { semaphore.unsafelyUnwrapped.signal() }
            }
        }
    }

    /// Blocks a non-worker caller until all pieces are done: check for a while
    /// (`Pool.waitBriefly`), then sleep. The CAS to 1 and the finisher's exchange to 2 decide who
    /// goes first, so the signal is never lost.
    func block() {
        if Pool.waitBriefly({ isDone }) { return }
        let sleeper = DispatchSemaphore(value: 0)
        semaphore = sleeper
        if waiter.compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
            sleeper.wait()
        }
        _ = isDone   // acquire the pieces' writes (the semaphore orders them too)
    }
}

/// Depth of `parallelFor` pieces on the calling thread (0 outside any).
@inline(__always)
func currentLoopDepth() -> Int { Int(bitPattern: pthread_getspecific(loopDepthKey)) }
