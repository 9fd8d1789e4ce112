import Foundation

/// A value several threads update under a lock (counting what parallel kernels hand over, say).
/// `NSLock` is a pthread mutex, which ThreadSanitizer sees; `Synchronization.Mutex` on Linux it
/// does not, and its every use would read as a race in a sanitized run.
public final class Locked<Value>: @unchecked Sendable {
    // @unchecked Sendable: `value` is only touched under `lock`.
    private let lock = NSLock()
    private var value: Value

    public init(_ value: Value) { self.value = value }

    /// Runs `body` on the value under the lock.
    public func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
