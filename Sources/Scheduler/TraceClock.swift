import CHwloc
#if canImport(Glibc)
import Glibc
#endif

// Note [Trace timestamps]: a `TraceRecorder` takes two timestamps per task, so their cost is most
// of what recording costs. `clock_gettime` takes about 21 ns here and the CPU's cycle counter
// (rdtsc) about 9. On the small-ops backprop step (199 tasks, about 97 µs), recording cost +18-22%
// before; with these timestamps and `bench backprop` reserving the recorder's room before timing
// (`reserveCapacity`), +7-11%. Workers therefore buffer raw ticks, and `TraceRecorder.events`
// turns them into the monotonic nanoseconds of `TraceRecorder.now()` (the clock every other timestamp of a
// profile uses) with a line through two readings of both clocks: the recorder's anchor (taken
// when it is made or reset) and the moment of reading. Over at least `measuredSpan` of ticks the
// line's slope is that of the two readings, so a long recording stays aligned with the monotonic
// clock at both ends; over a shorter span the slope comes from a calibration made once per
// process. The cycle counter is used only where the kernel itself keeps time with it
// (clocksource `tsc`: invariant and synchronized across CPUs); elsewhere a tick is a nanosecond
// of `clock_gettime`, and the conversion is the identity.

/// The clock behind trace timestamps (Note [Trace timestamps]): the CPU's cycle counter where
/// the kernel trusts it, else the monotonic clock; and the conversion of its ticks to monotonic
/// nanoseconds.
struct TraceClock: Sendable {
    /// Both clocks read at (nearly) the same moment.
    struct Reading: Sendable {
        let nanos: UInt64
        let ticks: UInt64
    }

    /// Ticks to monotonic nanoseconds.
    typealias Converter = (UInt64) -> UInt64

    /// Whether ticks are cycles (else they are `TraceRecorder.now()` nanoseconds).
    let cycles: Bool
    /// Nanoseconds per tick from the process's calibration (1 without cycles).
    let nanosecondsPerTick: Double

    /// The process's clock, calibrated on first use (about 2 ms where ticks are cycles).
    static let shared = TraceClock()

    /// Nanoseconds of ticks over which two readings give the slope themselves.
    static let measuredSpan: UInt64 = 50_000_000

    private init() {
        cycles = ge_has_cycle_counter() != 0 && TraceClock.kernelKeepsTimeWithCycleCounter()
        guard cycles else {
            nanosecondsPerTick = 1
            return
        }
        let start = TraceClock.readBoth(cycles: true)
        var end = start
        while end.nanos &- start.nanos < 2_000_000 { end = TraceClock.readBoth(cycles: true) }
        nanosecondsPerTick = end.ticks > start.ticks ? Double(end.nanos - start.nanos) / Double(end.ticks - start.ticks) : 1
    }

    /// The current tick.
    @inline(__always)
    func ticks() -> UInt64 { cycles ? UInt64(ge_cycle_counter()) : TraceRecorder.now() }

    /// Both clocks now.
    func read() -> Reading { TraceClock.readBoth(cycles: cycles) }

    /// Ticks to nanoseconds along the line through `anchor` and `now` (see the note).
    func converter(from anchor: Reading, to now: Reading) -> Converter {
        guard cycles else { return { $0 } }
        var slope = nanosecondsPerTick
        if now.ticks > anchor.ticks, now.nanos > anchor.nanos,
           Double(now.ticks - anchor.ticks) * nanosecondsPerTick >= Double(TraceClock.measuredSpan) {
            slope = Double(now.nanos - anchor.nanos) / Double(now.ticks - anchor.ticks)
        }
        let baseNanos = Double(anchor.nanos), baseTicks = anchor.ticks
        return { tick in
            let delta = tick >= baseTicks ? Double(tick - baseTicks) : -Double(baseTicks - tick)
            return UInt64(Swift.max(0, (baseNanos + delta * slope).rounded()))
        }
    }

    /// The monotonic clock between two tick reads, paired with their midpoint: the tightest of a
    /// few tries. A thread preempted between the reads (a busy machine: ranks, communication
    /// threads and workers sharing two cores) would pair the clock with a midpoint off by half the
    /// time it lost, milliseconds; every event converted along a line through that reading would
    /// move by as much (seen: the last task of one training step drawn over the first task of the
    /// next on the same worker, which `Profile` refuses as overlapping).
    private static func readBoth(cycles: Bool) -> Reading {
        guard cycles else {
            let now = TraceRecorder.now()
            return Reading(nanos: now, ticks: now)
        }
        var best = Reading(nanos: 0, ticks: 0), widest = UInt64.max
        for _ in 0..<16 {
            let before = UInt64(ge_cycle_counter())
            let nanos = TraceRecorder.now()
            let after = UInt64(ge_cycle_counter())
            let width = after &- before
            if width < widest {
                widest = width
                best = Reading(nanos: nanos, ticks: before / 2 + after / 2)
            }
            if width <= tightReading { break }
        }
        return best
    }

    /// Ticks between the two cycle-counter reads of a reading taken without interruption: a
    /// `clock_gettime` (about 21 ns, some 90 cycles here) with room to spare, far below a time
    /// slice.
    private static let tightReading: UInt64 = 2_000

    /// Whether the kernel's clocksource is `tsc` (Linux: /sys/devices/system/clocksource).
    private static func kernelKeepsTimeWithCycleCounter() -> Bool {
        guard let file = fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r") else { return false }
        defer { fclose(file) }
        var line = [CChar](repeating: 0, count: 64)
        guard fgets(&line, Int32(line.count), file) != nil else { return false }
        let name = String(decoding: line.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.trimmingNewline == "tsc"
    }
}

private extension String {
    var trimmingNewline: String { hasSuffix("\n") ? String(dropLast()) : self }
}
