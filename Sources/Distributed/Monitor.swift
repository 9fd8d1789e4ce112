#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex with a condition variable on the monotonic clock: the communication thread
/// and the training thread hand buckets to each other through it.
///
/// Why not `NSCondition`: waits here need a deadline on the monotonic clock (a hang must end in
/// an error, whatever the wall clock does), and pthread primitives are what ThreadSanitizer sees.
final class Monitor: @unchecked Sendable {
    // @unchecked Sendable: the pthread objects are used only through lock/unlock/wait/broadcast.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    init() {
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Runs `body` holding the mutex.
    func locked<R>(_ body: () throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Waits (holding the mutex, inside `locked`) until woken or until `deadline` (monotonic
    /// seconds) passes; false when the deadline passed.
    func wait(until deadline: Double) -> Bool {
        guard deadline.isFinite else { pthread_cond_wait(condition, mutex); return true }
        var ts = timespec(tv_sec: Int(deadline.rounded(.down)), tv_nsec: Int((deadline - deadline.rounded(.down)) * 1e9))
        return pthread_cond_timedwait(condition, mutex, &ts) != ETIMEDOUT
    }

    /// Wakes every waiter (call holding the mutex).
    func broadcast() { pthread_cond_broadcast(condition) }
}
