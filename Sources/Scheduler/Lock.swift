#if canImport(Glibc)
import Glibc
#endif

/// A value guarded by a pthread mutex, reached only through `withLock`.
///
/// Why not `Synchronization.Mutex`: on Linux it is built on a futex inside the standard library,
/// which ThreadSanitizer cannot see, so every state it protects is reported as a data race (we
/// measured 32 such false reports in our tests). ThreadSanitizer intercepts pthread mutexes, so
/// with this lock it checks our locking instead of drowning it. Nothing here is on a per-task path.
/// Visible to the package's other modules (`package`), which lock for the same reason; not public API.
package final class Lock<State>: @unchecked Sendable {
    // @unchecked Sendable: `state` is only touched inside `withLock`, under the mutex.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    // Allocated, not a stored property: ThreadSanitizer reported a stored `Void` state (a lock
    // that only serializes) at the object's own address, where it took the unlocked reads of the
    // object's header for races with the locked access.
    private let state: UnsafeMutablePointer<State>

    package init(_ initial: State) {
        state = .allocate(capacity: 1)
        state.initialize(to: initial)
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
        state.deinitialize(count: 1)
        state.deallocate()
    }

    @inline(__always)
    package func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state.pointee)
    }
}
