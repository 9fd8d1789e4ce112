import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Lets idle workers sleep without losing wake-ups: a two-phase wait (prepare, re-check for
/// work, commit or cancel) against a notify that is nearly free when nobody sleeps.
///
/// Note [Parking without lost wake-ups]
/// A worker that found no work calls `prepareWait()` (counts itself as a waiter with a seq_cst
/// read-modify-write and reads the epoch), then looks at every queue once more with seq_cst
/// loads, and only then `commitWait(key)` (sleeps until the epoch moves past `key`), or
/// `cancelWait()` if it found work. A producer makes its work visible first, then calls `notify`,
/// which issues a seq_cst fence and reads the waiter count. In the single total order of seq_cst
/// operations either the waiter's increment comes first (then the producer sees a waiter and bumps
/// the epoch under the lock, so the commit returns or is woken), or the producer's fence comes
/// first (then the waiter's re-check sees the work). If the epoch moved before the waiter read its
/// key, the waiter's acquire load of the epoch synchronizes with the bump, so its re-check sees
/// the producer's work too. The epoch only changes under the lock, and a committed waiter checks
/// it under the lock before sleeping, so the signal cannot slip between check and sleep.
final class EventCount: @unchecked Sendable {
    // @unchecked Sendable: `waiters` and `epoch` are atomics; the mutex and condition variable are
    // used only through pthread calls, which are thread-safe, and live as long as the object.
    private let waiters = Atomic<Int>(0)
    private let epoch = Atomic<UInt64>(0)
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    init() {
        mutex = .allocate(capacity: 1)
        cond = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        cond.deallocate()
    }

    /// Phase one: announce the intent to sleep. Re-check for work afterwards.
    func prepareWait() -> UInt64 {
        waiters.wrappingAdd(1, ordering: .sequentiallyConsistent)
        return epoch.load(ordering: .acquiring)
    }

    /// Work was found after `prepareWait`: do not sleep.
    func cancelWait() {
        waiters.wrappingSubtract(1, ordering: .sequentiallyConsistent)
    }

    /// Phase two: sleep until a `notify` after `prepareWait` (returns at once if one came already).
    func commitWait(_ key: UInt64) {
        pthread_mutex_lock(mutex)
        while epoch.load(ordering: .relaxed) == key {   // relaxed: the epoch is written under this lock
            pthread_cond_wait(cond, mutex)
        }
        pthread_mutex_unlock(mutex)
        waiters.wrappingSubtract(1, ordering: .sequentiallyConsistent)
    }

    /// Whether any thread is between `prepareWait` and the end of its wait (after a seq_cst fence,
    /// so it is ordered after the caller's publication of work).
    @inline(__always)
    var hasWaiters: Bool {
        atomicMemoryFence(ordering: .sequentiallyConsistent)
        return waiters.load(ordering: .sequentiallyConsistent) > 0
    }

    /// Wakes one waiter (all with `all: true`) if any; call after making work visible.
    @inline(__always)
    func notify(all: Bool = false) {
        guard hasWaiters else { return }
        wake(all: all)
    }

    private func wake(all: Bool) {
        pthread_mutex_lock(mutex)
        epoch.wrappingAdd(1, ordering: .releasing)   // release: pairs with prepareWait's acquire
        if all { pthread_cond_broadcast(cond) } else { pthread_cond_signal(cond) }
        pthread_mutex_unlock(mutex)
    }
}
