import Scheduler

extension Profile {
    /// Time spent at each parallelism level: a sweep over the begin and end of every worker's
    /// outermost events. Level 0 is time within runs with no worker busy.
    static func histogram(events: [ProfileEvent], depth: [Int], workers: Int, makespan: UInt64) -> [UInt64] {
        var points = [(time: UInt64, delta: Int)]()
        for (i, e) in events.enumerated() where depth[i] == 0 && e.endNanos > e.beginNanos {
            points.append((e.beginNanos, 1))
            points.append((e.endNanos, -1))
        }
        points.sort { ($0.time, $0.delta) < ($1.time, $1.delta) }
        var histogram = [UInt64](repeating: 0, count: workers + 1)
        var level = 0, previous: UInt64 = 0
        for p in points {
            if level > 0 { histogram[level] += p.time - previous }
            level += p.delta
            previous = p.time
        }
        let busyTime = histogram.dropFirst().reduce(0, +)
        histogram[0] = makespan > busyTime ? makespan - busyTime : 0
        return histogram
    }

    /// Average number of busy workers in each of `bins` equal slices of `[from, to)`: the
    /// parallelism over time as a bounded-size curve.
    public func parallelism(bins: Int, from: UInt64? = nil, to: UInt64? = nil) -> [Double] {
        let start = from ?? originNanos, stop = to ?? lastEndNanos
        guard bins > 0, stop > start else { return [Double](repeating: 0, count: max(bins, 0)) }
        let width = Double(stop - start) / Double(bins)
        var busy = [Double](repeating: 0, count: bins)
        for (i, e) in events.enumerated() where eventDepths[i] == 0 {
            let b = max(e.beginNanos, start), end = min(e.endNanos, stop)
            guard end > b else { continue }
            let x0 = Double(b - start) / width, x1 = Double(end - start) / width
            var bin = min(Int(x0), bins - 1)
            while bin < bins, Double(bin) < x1 {
                busy[bin] += min(x1, Double(bin + 1)) - max(x0, Double(bin))
                bin += 1
            }
        }
        return busy
    }
}
