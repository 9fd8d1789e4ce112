import Scheduler
import Testing
import TestSupport

/// `TraceRecorder`'s timestamps (Note [Trace timestamps]): workers buffer the cycle counter where
/// the kernel keeps time with it, and `events` converts to the monotonic nanoseconds of
/// `TraceRecorder.now()`, so recorded events line up with that clock.
@Suite struct TraceTimestampTests {
    /// Tasks that busy-wait 2 ms each, in a chain: every event lies inside the run as the
    /// monotonic clock saw it, lasts about 2 ms, and starts after its predecessor ended.
    @Test(arguments: [1, 2])
    func eventsLineUpWithTheMonotonicClock(workers: Int) throws {
        let executor = Executor(workers: workers)
        defer { executor.shutdown() }
        let graph = TaskGraph()
        var previous: TaskHandle?
        for i in 0..<4 {
            let task = graph.addTask("spin \(i)") { spin(nanoseconds: 2_000_000) }
            previous?.precede(task)
            previous = task
        }
        let compiled = try graph.compile()
        let recorder = TraceRecorder()
        let before = TraceRecorder.now()
        try executor.run(compiled, observer: recorder)
        let after = TraceRecorder.now()
        let events = recorder.events.filter { $0.task >= 0 }.sorted { $0.task < $1.task }
        #expect(events.count == 4)
        // The conversion's slope comes from a 2 ms calibration here (the run is shorter than
        // its measured span): allow a few microseconds at the run's edges.
        let slack: UInt64 = 20_000
        for (i, e) in events.enumerated() {
            #expect(e.beginNanos + slack >= before && e.endNanos <= after + slack, "event \(i) outside the run")
            let length = Int64(bitPattern: e.endNanos &- e.beginNanos)
            #expect(length >= 1_990_000 && length < 50_000_000, "task \(i) lasted \(length) ns")
            if i > 0 { #expect(e.beginNanos + 1_000 >= events[i - 1].endNanos, "task \(i) began before \(i - 1) ended") }
        }
    }

    /// A recording longer than the measured span takes its slope from the anchor and the moment
    /// of reading: an event recorded after a long wait still lines up with the monotonic clock.
    @Test func longRecordingsStayAligned() throws {
        let executor = Executor(workers: 1)
        defer { executor.shutdown() }
        let graph = TaskGraph()
        graph.addTask("spin") { spin(nanoseconds: 1_000_000) }
        let compiled = try graph.compile()
        let recorder = TraceRecorder()
        spin(nanoseconds: 120_000_000)   // beyond the span (50 ms) before anything is recorded
        let before = TraceRecorder.now()
        try executor.run(compiled, observer: recorder)
        let after = TraceRecorder.now()
        spin(nanoseconds: 60_000_000)
        let event = try #require(recorder.events.first { $0.task == 0 })
        #expect(event.beginNanos + 20_000 >= before && event.endNanos <= after + 20_000,
                "event [\(event.beginNanos), \(event.endNanos)] outside [\(before), \(after)]")
    }

    /// Reserved room changes nothing about what is recorded; `reset` empties the recorder and
    /// keeps the room.
    @Test func reservedRecordingRecordsTheSame() throws {
        let executor = Executor(workers: 2)
        defer { executor.shutdown() }
        let graph = TaskGraph()
        for i in 0..<50 { graph.addTask("t\(i)") {} }
        let compiled = try graph.compile()
        let recorder = TraceRecorder()
        recorder.reserveCapacity(eventsPerWorker: 10_000, workers: 2)
        for _ in 0..<30 { try executor.run(compiled, observer: recorder) }
        let events = recorder.events
        #expect(events.count == 30 * 50)
        #expect(Set(events.map(\.worker)).isSubset(of: [0, 1]))
        #expect(events.allSatisfy { $0.endNanos >= $0.beginNanos })
        recorder.reset()
        #expect(recorder.events.isEmpty)
        try executor.run(compiled, observer: recorder)
        #expect(recorder.events.count == 50)
    }
}
