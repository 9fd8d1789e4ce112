import Foundation

/// Wall-clock timing helpers shared by the bench commands.
enum Clock {
    /// Monotonic seconds.
    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Runs `body` `repeat` times (after `warmup` untimed runs) and returns each run's seconds.
    static func measure(repeat count: Int, warmup: Int = 1, between: () -> Void = {},
                        _ body: () throws -> Void) rethrows -> [Double] {
        for _ in 0..<warmup { try body() }
        var times: [Double] = []
        times.reserveCapacity(count)
        for _ in 0..<count {
            between()
            let t0 = now()
            try body()
            times.append(now() - t0)
        }
        return times
    }
}

extension Array where Element == Double {
    /// The median (mean of the middle two for even counts); 0 for an empty array.
    var median: Double {
        guard !isEmpty else { return 0 }
        let s = sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
