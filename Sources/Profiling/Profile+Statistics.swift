import Scheduler

extension Profile {
    /// One row of the operation table: all executions of one operation (pieces of nested loops
    /// get their own row, marked `isPiece`).
    public struct OperationStats: Sendable, Hashable {
        public var name: String
        public var category: ProfileCategory
        public var isPiece: Bool
        public var calls: Int
        /// Sum of durations.
        public var totalNanos: UInt64
        /// Sum of durations minus the time of events nested inside them on the same worker.
        public var selfNanos: UInt64
        public var minNanos: UInt64
        public var maxNanos: UInt64
        /// Self time as a fraction of all busy time (self times of all rows add up to 1).
        public var share: Double
        /// Total floating-point operations of the calls whose flops are known (nil if none are).
        public var flops: Double?
        /// Flops per second over the calls whose flops are known, in GFLOP/s.
        public var gflopsPerSecond: Double?

        public var meanNanos: Double { calls == 0 ? 0 : Double(totalNanos) / Double(calls) }
        /// The name shown in tables: pieces are suffixed " [piece]".
        public var displayName: String { isPiece ? name + " [piece]" : name }
    }

    /// Totals per category (forward, backward, update, other, ...).
    public struct CategoryStats: Sendable, Hashable {
        public var category: ProfileCategory
        /// Top-level task executions (pieces not counted).
        public var calls: Int
        /// Sum of top-level task durations.
        public var totalNanos: UInt64
        /// Sum of self times of all events of this category, pieces included.
        public var selfNanos: UInt64
        public var share: Double
    }

    /// What one worker did.
    public struct WorkerStats: Sendable, Hashable {
        public var worker: Int
        public var label: String
        public var tasks: Int
        public var pieces: Int
        /// Time running anything (nested events not counted twice).
        public var busyNanos: UInt64
        /// The profile's makespan minus busy time.
        public var idleNanos: UInt64
        /// Busy time over makespan.
        public var utilization: Double
    }

    /// One run of the graph.
    public struct RunStats: Sendable, Hashable {
        public var run: Int
        public var beginNanos: UInt64
        public var endNanos: UInt64
        public var tasks: Int
        public var pieces: Int
        /// Busy time of all workers within this run.
        public var busyNanos: UInt64
        /// Longest path through the graph by this run's measured durations.
        public var criticalPathNanos: UInt64
        /// Sum of the waits along the chain of tasks that set this run's makespan: time a ready
        /// task waited to start after its last predecessor ended (scheduling latency, or no free worker).
        public var bindingChainWaitNanos: UInt64

        public var spanNanos: UInt64 { endNanos - beginNanos }
    }

    static func operationTable(events: [ProfileEvent], selfNanos: [UInt64], tasks: [ProfileTask],
                               busy: UInt64) -> [OperationStats] {
        struct Key: Hashable { var name: String; var category: ProfileCategory; var piece: Bool }
        var index = [Key: Int]()
        var rows = [OperationStats]()
        var flopNanos = [UInt64]()
        for (i, e) in events.enumerated() {
            let task = tasks[e.task], d = e.durationNanos
            let key = Key(name: task.name, category: task.category, piece: e.isPiece)
            let r: Int
            if let found = index[key] { r = found } else {
                r = rows.count
                index[key] = r
                rows.append(OperationStats(name: task.name, category: task.category, isPiece: e.isPiece, calls: 0,
                                           totalNanos: 0, selfNanos: 0, minNanos: .max, maxNanos: 0, share: 0))
                flopNanos.append(0)
            }
            rows[r].calls += 1
            rows[r].totalNanos += d
            rows[r].selfNanos += selfNanos[i]
            rows[r].minNanos = min(rows[r].minNanos, d)
            rows[r].maxNanos = max(rows[r].maxNanos, d)
            if !e.isPiece, let f = task.flops {
                rows[r].flops = (rows[r].flops ?? 0) + f
                flopNanos[r] += d
            }
        }
        for r in rows.indices {
            rows[r].share = busy == 0 ? 0 : Double(rows[r].selfNanos) / Double(busy)
            if let f = rows[r].flops, flopNanos[r] > 0 { rows[r].gflopsPerSecond = f / Double(flopNanos[r]) }
        }
        return rows.sorted { ($0.selfNanos, $1.displayName) > ($1.selfNanos, $0.displayName) }
    }

    static func categoryTable(events: [ProfileEvent], selfNanos: [UInt64], tasks: [ProfileTask],
                              busy: UInt64) -> [CategoryStats] {
        var rows = [ProfileCategory: CategoryStats]()
        for (i, e) in events.enumerated() {
            let c = tasks[e.task].category
            var row = rows[c] ?? CategoryStats(category: c, calls: 0, totalNanos: 0, selfNanos: 0, share: 0)
            if !e.isPiece {
                row.calls += 1
                row.totalNanos += e.durationNanos
            }
            row.selfNanos += selfNanos[i]
            rows[c] = row
        }
        return rows.values.sorted { $0.category < $1.category }.map { row in
            var row = row
            row.share = busy == 0 ? 0 : Double(row.selfNanos) / Double(busy)
            return row
        }
    }

    static func workerRow(worker: Int, label: String, events: [ProfileEvent], depth: [Int],
                          makespan: UInt64) -> WorkerStats {
        var row = WorkerStats(worker: worker, label: label, tasks: 0, pieces: 0, busyNanos: 0, idleNanos: 0,
                              utilization: 0)
        for (i, e) in events.enumerated() where e.worker == worker {
            if e.isPiece { row.pieces += 1 } else { row.tasks += 1 }
            if depth[i] == 0 { row.busyNanos += e.durationNanos }
        }
        row.idleNanos = makespan > row.busyNanos ? makespan - row.busyNanos : 0
        row.utilization = makespan == 0 ? 0 : Double(row.busyNanos) / Double(makespan)
        return row
    }
}
