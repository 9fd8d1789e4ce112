import Scheduler

extension Profile {
    /// A chain of dependent tasks in one run, in execution order.
    ///
    /// `Profile.criticalPath` is the longest such chain by measured durations (a lower bound on
    /// the run's makespan with unlimited workers); `Profile.bindingChain` is the chain that
    /// actually ended last, whose waits show time lost between dependent tasks.
    public struct TaskPath: Sendable, Hashable {
        /// One task of the path.
        public struct Step: Sendable, Hashable {
            /// Index of the task in `Profile.tasks`.
            public var task: Int
            /// Index into `Profile.events`.
            public var event: Int
            public var durationNanos: UInt64
            /// Time from the end of the previous step (or the run's start, for the first) to this
            /// step's begin.
            public var waitNanos: UInt64
        }
        /// The run the path was taken from.
        public var run: Int
        /// The tasks in execution order (tasks that did not run are left out).
        public var steps: [Step]

        /// Sum of the steps' durations: the path's length.
        public var workNanos: UInt64 { steps.reduce(0) { $0 + $1.durationNanos } }
        /// Sum of the waits before each step.
        public var waitNanos: UInt64 { steps.reduce(0) { $0 + $1.waitNanos } }
    }

    struct RunAnalysis {
        var runs: [RunStats]
        var criticalPath: TaskPath
        var bindingChain: TaskPath
    }

    /// Per run: which event ran each task, the longest path by durations (dynamic programming in
    /// topological order) and the binding chain (walking back through the last-ending predecessor).
    static func analyzeRuns(events: [ProfileEvent], depth: [Int], tasks: [ProfileTask], order: [Int],
                            successors: Adjacency, predecessors: Adjacency) throws(ProfileError) -> RunAnalysis {
        var byRun = [Int: [Int]]()
        for (i, e) in events.enumerated() { byRun[e.run, default: []].append(i) }
        let n = tasks.count
        var eventOf = [Int](repeating: -1, count: n)
        var dist = [UInt64](repeating: 0, count: n)
        var via = [Int](repeating: -1, count: n)
        var runs = [RunStats]()
        runs.reserveCapacity(byRun.count)

        func load(_ members: [Int]) throws(ProfileError) {
            for t in 0..<n { eventOf[t] = -1 }
            for i in members where !events[i].isPiece {
                let t = events[i].task
                guard eventOf[t] < 0 else { throw .duplicateTask(task: "\(tasks[t].name) (#\(t))", run: events[i].run) }
                eventOf[t] = i
            }
        }
        /// Longest path; returns its end task and length.
        func longest() -> (end: Int, length: UInt64) {
            var end = -1, length: UInt64 = 0
            for t in order {
                var best: UInt64 = 0, arg = -1
                for p in predecessors[t] where arg < 0 || dist[p] > best { best = dist[p]; arg = p }
                via[t] = arg
                dist[t] = best + (eventOf[t] >= 0 ? events[eventOf[t]].durationNanos : 0)
                if end < 0 || dist[t] > length { end = t; length = dist[t] }
            }
            return (end, length)
        }
        func steps(from chain: [Int], runBegin: UInt64) -> [TaskPath.Step] {
            var out = [TaskPath.Step]()
            var previousEnd = runBegin
            for t in chain where eventOf[t] >= 0 {
                let e = events[eventOf[t]]
                out.append(TaskPath.Step(task: t, event: eventOf[t], durationNanos: e.durationNanos,
                                         waitNanos: e.beginNanos > previousEnd ? e.beginNanos - previousEnd : 0))
                previousEnd = e.endNanos
            }
            return out
        }
        func criticalPath(run: Int, runBegin: UInt64) -> TaskPath {
            var t = longest().end, chain = [Int]()
            while t >= 0 { chain.append(t); t = via[t] }
            return TaskPath(run: run, steps: steps(from: chain.reversed(), runBegin: runBegin))
        }
        func bindingChain(run: Int, runBegin: UInt64, members: [Int]) -> TaskPath {
            var last = -1
            for i in members where !events[i].isPiece {
                if last < 0 || events[i].endNanos > events[last].endNanos { last = i }
            }
            var chain = [Int]()
            var t = last >= 0 ? events[last].task : -1
            while t >= 0 {
                chain.append(t)
                var next = -1
                for p in predecessors[t] where eventOf[p] >= 0 {
                    if next < 0 || events[eventOf[p]].endNanos > events[eventOf[next]].endNanos { next = p }
                }
                t = next
            }
            return TaskPath(run: run, steps: steps(from: chain.reversed(), runBegin: runBegin))
        }

        for run in byRun.keys.sorted() {
            let members = byRun[run]!
            try load(members)
            var stats = RunStats(run: run, beginNanos: .max, endNanos: 0, tasks: 0, pieces: 0, busyNanos: 0,
                                 criticalPathNanos: 0, bindingChainWaitNanos: 0)
            for i in members {
                let e = events[i]
                stats.beginNanos = min(stats.beginNanos, e.beginNanos)
                stats.endNanos = max(stats.endNanos, e.endNanos)
                if e.isPiece { stats.pieces += 1 } else { stats.tasks += 1 }
                if depth[i] == 0 { stats.busyNanos += e.durationNanos }
            }
            stats.criticalPathNanos = longest().length
            stats.bindingChainWaitNanos = bindingChain(run: run, runBegin: stats.beginNanos, members: members).waitNanos
            runs.append(stats)
        }

        guard !runs.isEmpty else {
            return RunAnalysis(runs: [], criticalPath: TaskPath(run: 0, steps: []), bindingChain: TaskPath(run: 0, steps: []))
        }
        let median = runs.sorted { ($0.criticalPathNanos, $0.run) < ($1.criticalPathNanos, $1.run) }[(runs.count - 1) / 2]
        let members = byRun[median.run]!
        try load(members)
        return RunAnalysis(runs: runs,
                           criticalPath: criticalPath(run: median.run, runBegin: median.beginNanos),
                           bindingChain: bindingChain(run: median.run, runBegin: median.beginNanos, members: members))
    }
}
