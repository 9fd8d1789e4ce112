import Foundation
import Scheduler
import Synchronization

/// `bench scheduler`: task-graph throughput of the Scheduler on five graph shapes.
///
/// ```
/// bench scheduler --graph chain|tree|wavefront|traversal|flat [--size N] [--threads T]
///                 [--rerun] [--repeat R] [--work-ns W] [--json]
/// bench scheduler [--size N] [--repeat R] [--json]   # the suite: all shapes, 1 worker and all
///                                                   # workers (N tasks each; default about 1M)
/// ```
/// Without `--rerun` each timed repetition builds, compiles and runs the graph; with `--rerun`
/// the graph is built once and only runs are timed. Tasks are empty unless `--work-ns` asks for
/// about that many nanoseconds of floating-point work per task.
enum SchedulerCommand {
    static let shapes = ["chain", "tree", "wavefront", "traversal", "flat"]

    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["rerun", "json"])
        let graph = args.string("graph")
        let size = try args.int("size")
        let threads = try args.int("threads")
        let rerun = args.flag("rerun")
        let repeats = try args.int("repeat", default: 5)
        let workNs = try args.int("work-ns", default: 0)
        let json = args.flag("json")
        let seed = try args.int("seed", default: 1)
        try args.finish()
        guard repeats >= 1 else { throw ArgumentError("--repeat must be at least 1") }
        guard workNs >= 0 else { throw ArgumentError("--work-ns must not be negative") }
        if let threads, threads < 1 { throw ArgumentError("--threads must be at least 1") }
        let work = TaskWork(nanoseconds: workNs)
        keepFreedMemory()

        guard let graph else {
            try suite(size: size, repeats: repeats, work: work, json: json, seed: seed)
            return
        }
        guard shapes.contains(graph) else {
            throw ArgumentError("--graph must be one of \(shapes.joined(separator: "|")), got '\(graph)'")
        }
        let n = size ?? defaultSize(graph)
        guard n >= 1 else { throw ArgumentError("--size must be at least 1") }
        let executor = Executor(workers: threads)
        let result = try measure(graph, size: n, executor: executor, rerun: rerun, repeats: repeats,
                                 work: work, seed: seed)
        print("\(graph): \(result.tasks) tasks, \(result.edges) edges, \(executor.workerCount) workers"
              + (executor.isPinned ? " (pinned)" : " (unpinned)") + ", "
              + (rerun ? "prebuilt graph, runs only" : "build + compile + run")
              + ": median \(format(result.median * 1e3, 3)) ms, \(format(result.nsPerTask, 1)) ns/task")
        if json {
            var line = result.jsonLine(graph: graph, threads: executor.workerCount, rerun: rerun)
            line.add("repeat", repeats)
            line.add("work_ns", workNs)
            line.add("pinned", executor.isPinned)
            print(line.text)
        }
    }

    /// Default sizes: about a million tasks each (wavefront: a 1000 x 1000 grid).
    static func defaultSize(_ graph: String) -> Int {
        switch graph {
        case "wavefront": 1000
        case "tree": (1 << 20) - 1
        default: 1_000_000
        }
    }

    struct Measurement {
        var tasks: Int
        var edges: Int
        var median: Double
        var nsPerTask: Double { tasks > 0 ? median * 1e9 / Double(tasks) : 0 }
    }

    static func measure(_ shape: String, size: Int, executor: Executor, rerun: Bool, repeats: Int,
                        work: TaskWork, seed: Int) throws -> Measurement {
        let body = work.body()
        if rerun {
            let compiled = try build(shape, size: size, seed: seed, body: body).compile()
            let times = try Clock.measure(repeat: repeats) { try executor.run(compiled) }
            return Measurement(tasks: compiled.taskCount, edges: compiled.edgeCount, median: times.median)
        }
        var tasks = 0, edges = 0
        let times = try Clock.measure(repeat: repeats) {
            let compiled = try build(shape, size: size, seed: seed, body: body).compile()
            try executor.run(compiled)
            tasks = compiled.taskCount
            edges = compiled.edgeCount
        }
        return Measurement(tasks: tasks, edges: edges, median: times.median)
    }

    /// Builds one of the five shapes with every task running `body`.
    static func build(_ shape: String, size n: Int, seed: Int, body: @escaping TaskGraph.Body) -> TaskGraph {
        let g = TaskGraph()
        switch shape {
        case "chain":
            g.reserve(tasks: n, edges: n - 1)
            for i in 0..<n {
                g.addTask("chain", body)
                if i > 0 { g.addEdge(from: i - 1, to: i) }
            }
        case "tree":
            // A binary tree of n tasks from one root: task i releases 2i+1 and 2i+2.
            g.reserve(tasks: n, edges: n - 1)
            for i in 0..<n {
                g.addTask("tree", body)
                if i > 0 { g.addEdge(from: (i - 1) / 2, to: i) }
            }
        case "wavefront":
            // An n x n grid; cell (r, c) waits for (r-1, c) and (r, c-1).
            g.reserve(tasks: n * n, edges: 2 * n * (n - 1))
            for r in 0..<n {
                for c in 0..<n {
                    let i = r * n + c
                    g.addTask("wavefront", body)
                    if r > 0 { g.addEdge(from: i - n, to: i) }
                    if c > 0 { g.addEdge(from: i - 1, to: i) }
                }
            }
        case "traversal":
            // Levels of equal width (about sqrt(n)); each task gets 1 to 4 edges to random tasks
            // of the next level (seeded).
            let width = max(1, Int(Double(n).squareRoot()))
            g.reserve(tasks: n, edges: n * 5 / 2)
            var rng = UInt64(truncatingIfNeeded: seed) &* 0x9E37_79B9_7F4A_7C15 | 1
            func next() -> Int {
                rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17
                return Int(truncatingIfNeeded: rng >> 1)
            }
            for i in 0..<n { g.addTask("traversal", body); _ = i }
            for i in 0..<n {
                let levelStart = (i / width + 1) * width
                guard levelStart < n else { break }
                let levelWidth = min(width, n - levelStart)
                for _ in 0..<(1 + next() % 4) { g.addEdge(from: i, to: levelStart + next() % levelWidth) }
            }
        default: // flat
            g.reserve(tasks: n, edges: 0)
            for _ in 0..<n { g.addTask("flat", body) }
        }
        return g
    }

    /// All five shapes on one worker and on all workers, build+run and rerun: one table.
    static func suite(size: Int?, repeats: Int, work: TaskWork, json: Bool, seed: Int) throws {
        let all = Executor()
        let one = Executor(workers: 1)
        let executors = all.workerCount == 1 ? [one] : [one, all]
        print("Scheduler suite: \(all.topology)")
        print("workers pinned: \(all.isPinned); tasks: " + (work.nanoseconds > 0 ? "~\(work.nanoseconds) ns of work" : "empty")
              + "; median of \(repeats) runs; ns per task")
        let header = ["graph", "tasks", "edges", "threads", "build+run", "rerun"]
        let widths = [10, 9, 9, 8, 11, 9]
        func row(_ cells: [String]) -> String {
            zip(cells, widths).enumerated().map { i, p in
                i == 0 ? p.0.padding(toLength: p.1, withPad: " ", startingAt: 0)
                       : String(repeating: " ", count: max(0, p.1 - p.0.count)) + p.0
            }.joined(separator: " ")
        }
        print(row(header))
        var results: [String] = []
        for shape in shapes {
            // In the suite `--size` is a task count for every shape (the wavefront's side is its root).
            var n = size ?? defaultSize(shape)
            if shape == "wavefront", let size { n = max(1, Int(Double(size).squareRoot())) }
            for executor in executors {
                let built = try measure(shape, size: n, executor: executor, rerun: false, repeats: repeats, work: work, seed: seed)
                let rerun = try measure(shape, size: n, executor: executor, rerun: true, repeats: repeats, work: work, seed: seed)
                print(row([shape, "\(built.tasks)", "\(built.edges)", "\(executor.workerCount)",
                           format(built.nsPerTask, 1), format(rerun.nsPerTask, 1)]))
                for (m, isRerun) in [(built, false), (rerun, true)] {
                    results.append(m.jsonLine(graph: shape, threads: executor.workerCount, rerun: isRerun).text)
                }
            }
        }
        if json {
            var line = JSONLine()
            line.add("suite", "scheduler")
            line.add("repeat", repeats)
            line.add("work_ns", work.nanoseconds)
            line.addRaw("results", "[" + results.joined(separator: ",") + "]")
            print(line.text)
        }
    }

    /// Asks glibc to keep freed memory instead of returning it to the kernel, so repeated
    /// builds measure building, not page faults on fresh pages (like a long-running program
    /// whose heap has reached its working size). The first, untimed repetition warms it up.
    static func keepFreedMemory() {
        // glibc's mallopt (malloc.h is not in Swift's Glibc module): M_TRIM_THRESHOLD = -1,
        // M_MMAP_THRESHOLD = -3.
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        guard let handle = dlopen(nil, RTLD_NOW), let sym = dlsym(handle, "mallopt") else { return }
        let mallopt = unsafeBitCast(sym, to: Mallopt.self)
        _ = mallopt(-3, 32 << 20)   // the largest threshold glibc accepts on 64-bit
        _ = mallopt(-1, Int32.max)
    }

    static func format(_ x: Double, _ digits: Int) -> String { String(format: "%.\(digits)f", x) }
}

/// A fixed amount of floating-point work per task, calibrated once on this machine.
struct TaskWork {
    let nanoseconds: Int
    let iterations: Int

    init(nanoseconds: Int) {
        self.nanoseconds = nanoseconds
        guard nanoseconds > 0 else { iterations = 0; return }
        // Calibrate: time a long loop, derive iterations per nanosecond.
        let probe = 2_000_000
        let t0 = Clock.now()
        let x = TaskWork.spin(probe)
        let seconds = max(Clock.now() - t0, 1e-6)
        TaskWork.sink(x)
        iterations = max(1, Int(Double(nanoseconds) * Double(probe) / (seconds * 1e9)))
    }

    /// The task body: a closure without captured context (the iteration count is a global), so
    /// building a graph allocates nothing per task and running it retains nothing shared.
    func body() -> TaskGraph.Body {
        TaskWork.iterationsPerTask.store(iterations, ordering: .relaxed)
        if iterations == 0 { return TaskWork.empty }
        return TaskWork.busy
    }

    static let iterationsPerTask = Atomic<Int>(0)
    static let empty: TaskGraph.Body = {}
    static let busy: TaskGraph.Body = { TaskWork.sink(TaskWork.spin(TaskWork.iterationsPerTask.load(ordering: .relaxed))) }

    /// A dependent chain of multiply-adds the compiler cannot fold.
    @inline(never)
    static func spin(_ n: Int) -> Double {
        var x = 1.0
        for i in 0..<n { x = x * 0.999_999 + Double(i & 7) * 1e-9 }
        return x
    }

    @inline(never)
    static func sink(_ x: Double) { if x == 42.4242 { print("") } }
}

extension SchedulerCommand.Measurement {
    /// The keys every scheduler result carries in `--json` output: graph, tasks, edges, threads,
    /// rerun, median_s, ns_per_task.
    func jsonLine(graph: String, threads: Int, rerun: Bool) -> JSONLine {
        var line = JSONLine()
        line.add("graph", graph)
        line.add("tasks", tasks)
        line.add("edges", edges)
        line.add("threads", threads)
        line.add("rerun", rerun)
        line.add("median_s", median)
        line.add("ns_per_task", nsPerTask)
        return line
    }
}
