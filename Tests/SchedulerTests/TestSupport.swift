import Foundation
import Scheduler
import Synchronization
import Testing
import TestSupport

/// Worker counts every concurrency test runs over.
let workerCounts = [1, 2, 3, 4, 8]

/// Debug builds (and ThreadSanitizer, which CI runs in debug) are 10-50x slower: shrink sizes.
#if DEBUG
let sizeDivisor = 10
#else
let sizeDivisor = 1
#endif

/// `n` in release builds, `n / sizeDivisor` (at least `minimum`) in debug builds.
func scaled(_ n: Int, minimum: Int = 1) -> Int { max(minimum, n / sizeDivisor) }


/// Per-task counters shared with task closures: how often each task ran, and tickets from one
/// clock taken when it began and ended (so "after all predecessors" can be checked).
final class Ledger: @unchecked Sendable {
    // @unchecked Sendable: only atomics, allocated in init and freed in deinit.
    let count: Int
    let runs: UnsafeMutablePointer<Atomic<Int>>
    let begin: UnsafeMutablePointer<Atomic<Int>>
    let end: UnsafeMutablePointer<Atomic<Int>>
    let clock = Atomic<Int>(0)

    init(_ n: Int) {
        count = n
        runs = .allocate(capacity: max(n, 1))
        begin = .allocate(capacity: max(n, 1))
        end = .allocate(capacity: max(n, 1))
        for i in 0..<n {
            (runs + i).initialize(to: Atomic(0))
            (begin + i).initialize(to: Atomic(-1))
            (end + i).initialize(to: Atomic(-1))
        }
    }

    deinit {
        runs.deinitialize(count: count); begin.deinitialize(count: count); end.deinitialize(count: count)
        runs.deallocate(); begin.deallocate(); end.deallocate()
    }

    func reset() {
        for i in 0..<count {
            runs[i].store(0, ordering: .relaxed)
            begin[i].store(-1, ordering: .relaxed)
            end[i].store(-1, ordering: .relaxed)
        }
        clock.store(0, ordering: .relaxed)
    }

    func enter(_ i: Int) {
        runs[i].wrappingAdd(1, ordering: .relaxed)
        begin[i].store(clock.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue, ordering: .relaxed)
    }

    func leave(_ i: Int) {
        end[i].store(clock.wrappingAdd(1, ordering: .sequentiallyConsistent).oldValue, ordering: .relaxed)
    }

    func ranCount(_ i: Int) -> Int { runs[i].load(ordering: .relaxed) }
    func began(_ i: Int) -> Int { begin[i].load(ordering: .relaxed) }
    func ended(_ i: Int) -> Int { end[i].load(ordering: .relaxed) }
}

/// A graph shape as plain edges, built into a `TaskGraph` whose tasks write to a `Ledger`.
struct Shape {
    var name: String
    var count: Int
    var edges: [(Int, Int)]

    func build(_ ledger: Ledger, extra: (@Sendable (Int) throws -> Void)? = nil) -> TaskGraph {
        let graph = TaskGraph()
        var handles: [TaskHandle] = []
        handles.reserveCapacity(count)
        for i in 0..<count {
            handles.append(graph.addTask("\(name)#\(i)") {
                ledger.enter(i)
                try extra?(i)
                ledger.leave(i)
            })
        }
        for (a, b) in edges { handles[a].precede(handles[b]) }
        return graph
    }

    /// Throws unless every task ran exactly once, after all its predecessors ended.
    func verify(_ ledger: Ledger) throws {
        for i in 0..<count { try check(ledger.ranCount(i) == 1, "\(name): task \(i) ran \(ledger.ranCount(i)) times") }
        for (a, b) in edges {
            try check(ledger.ended(a) < ledger.began(b),
                      "\(name): task \(b) began (\(ledger.began(b))) before its predecessor \(a) ended (\(ledger.ended(a)))")
        }
    }

    static func chain(_ n: Int) -> Shape {
        Shape(name: "chain", count: n, edges: (0..<max(0, n - 1)).map { ($0, $0 + 1) })
    }

    static func fanOut(_ n: Int) -> Shape {
        // One source, n tasks, one sink.
        var e: [(Int, Int)] = []
        for i in 1...n { e.append((0, i)); e.append((i, n + 1)) }
        return Shape(name: "fan-out", count: n + 2, edges: e)
    }

    static func diamonds(_ k: Int) -> Shape {
        // k diamonds in series: a -> (b, c) -> d, d is the next a.
        var e: [(Int, Int)] = []
        for d in 0..<k {
            let a = d * 3
            e += [(a, a + 1), (a, a + 2), (a + 1, a + 3), (a + 2, a + 3)]
        }
        return Shape(name: "diamonds", count: k * 3 + 1, edges: e)
    }

    static func layered(levels: Int, width: Int, seed: UInt64) -> Shape {
        var rng = TestRandom(seed: seed)
        var e: [(Int, Int)] = []
        for l in 0..<(levels - 1) {
            for i in 0..<width {
                let from = l * width + i
                for _ in 0..<Int.random(in: 1...4, using: &rng) {
                    e.append((from, (l + 1) * width + Int.random(in: 0..<width, using: &rng)))
                }
            }
        }
        return Shape(name: "layered", count: levels * width, edges: e)
    }

    /// Random DAG: edges only from lower to higher index (so acyclic), with a shuffled naming.
    static func random(_ n: Int, edgesPerTask: Int, seed: UInt64) -> Shape {
        var rng = TestRandom(seed: seed)
        var e: [(Int, Int)] = []
        e.reserveCapacity(n * edgesPerTask)
        let perm = Array(0..<n).shuffled(using: &rng)
        for j in 1..<max(1, n) {
            for _ in 0..<Int.random(in: 0...edgesPerTask, using: &rng) {
                let window = min(j, 64)
                let i = j - Int.random(in: 1...window, using: &rng)
                e.append((perm[i], perm[j]))
            }
        }
        return Shape(name: "random(seed \(seed))", count: n, edges: e)
    }
}

/// Threads in this process now (from /proc), to catch leaked workers.
func processThreadCount() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return -1 }
    for line in status.split(separator: "\n") where line.hasPrefix("Threads:") {
        return Int(line.dropFirst(8).trimmingCharacters(in: .whitespaces)) ?? -1
    }
    return -1
}

/// The parent of every suite here: `.serialized` applies to all nested suites, so tests never
/// compete for the (few) cores, and process-wide checks such as the thread count stay exact.
@Suite(.serialized) struct SchedulerTests {}

/// A value behind a pthread mutex, for test bookkeeping shared with tasks. (Not
/// `Synchronization.Mutex`: ThreadSanitizer cannot see it on Linux and reports false races.)
final class Locked<State>: @unchecked Sendable {
    // @unchecked Sendable: `state` is only touched inside `withLock`, under the mutex.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private var state: State
    init(_ initial: State) {
        state = initial
        pthread_mutex_init(mutex, nil)
    }
    deinit { pthread_mutex_destroy(mutex); mutex.deallocate() }
    func withLock<R>(_ body: (inout State) throws -> R) rethrows -> R {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&state)
    }
}

/// Busy work for about `nanoseconds` of wall time (floating-point work checked against the
/// monotonic clock, so it occupies its thread the whole time).
@inline(never)
func spin(nanoseconds: UInt64) {
    let start = TraceRecorder.now()
    var x = 1.0
    while TraceRecorder.now() &- start < nanoseconds {
        for _ in 0..<100 { x = x * 1.000001 + 1e-9 }
    }
    if x.isNaN { print(x) }   // keeps the work from being optimized away
}
