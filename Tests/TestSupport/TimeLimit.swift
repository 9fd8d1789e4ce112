import Foundation
import Testing

// Hang guards for concurrency tests, shared by the Scheduler and Profiling test targets.

/// Runs `body` on its own thread and records a failure if it does not finish within `seconds`
/// (instead of hanging the test run forever). Errors thrown by `body` are recorded too.
package func withTimeLimit(_ seconds: Double, _ what: String, sourceLocation: SourceLocation = #_sourceLocation,
                   _ body: @escaping @Sendable () throws -> Void) {
    let done = DispatchSemaphore(value: 0)
    let failure = Failure()
    let thread = Thread {
        do { try body() } catch { failure.set(error) }
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    if done.wait(timeout: .now() + seconds) == .timedOut {
        Issue.record("\(what): not finished within \(seconds) s (hang?)", sourceLocation: sourceLocation)
        return
    }
    if let error = failure.get() { Issue.record("\(what): \(error)", sourceLocation: sourceLocation) }
}

/// The error a `withTimeLimit` body threw; set before the semaphore signal that orders the read.
private final class Failure: @unchecked Sendable {
    // @unchecked Sendable: written by the body's thread before `done.signal()`, read after the wait.
    private var error: (any Error)?
    func set(_ e: any Error) { error = e }
    func get() -> (any Error)? { error }
}

/// A thrown failure for checks inside `withTimeLimit` bodies.
package struct CheckFailed: Error, CustomStringConvertible {
    package let description: String
    package init(_ d: String) { description = d }
}

package func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
    if !condition { throw CheckFailed(message()) }
}
