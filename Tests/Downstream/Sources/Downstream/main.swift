// Runs a task graph on the Scheduler (watched by an observer of its own and profiled) and differentiates a small graph with Tensor, checking both
// against values worked out by hand; exits non-zero on any mismatch.
import Foundation
import Kernels
import Profiling
import Scheduler
import Synchronization
import Tensor

func check(_ condition: Bool, _ what: String) {
    if !condition {
        print("downstream: FAILED: \(what)")
        exit(1)
    }
}

// A diamond of tasks: load before left and right, join after both. Each task appends its name
// under a lock; the order must respect the edges, and the graph runs twice.
let order = Mutex<[String]>([])
let graph = TaskGraph()
let load = graph.addTask("load") { order.withLock { $0.append("load") } }
let left = graph.addTask("left") { order.withLock { $0.append("left") } }
let right = graph.addTask("right") { order.withLock { $0.append("right") } }
let join = graph.addTask("join") { order.withLock { $0.append("join") } }
load.precede(left, right)
join.succeed(left, right)
let executor = Executor(workers: 2)
let compiled = try graph.compile()

/// Counts the tasks the workers start: an observer as a user writes one.
final class StartCounter: TaskObserver {
    let started = Atomic<Int>(0)
    func taskWillStart(_ task: ObservedTask, worker: Int) { started.wrappingAdd(1, ordering: .relaxed) }
    func taskDidEnd(_ task: ObservedTask, worker: Int) {}
}
let counter = StartCounter()
let recorder = TraceRecorder()
executor.addObserver(counter)
try executor.run(compiled, observer: recorder)
try executor.run(compiled, observer: recorder)
executor.removeObserver(counter)
check(counter.started.load(ordering: .relaxed) == 8, "the observer counted \(counter.started.load(ordering: .relaxed)) task starts, want 8")
let profile = try Profile(graph: compiled, events: recorder.events)
check(profile.runs.map(\.tasks) == [4, 4], "profiled runs \(profile.runs.map(\.tasks)), want [4, 4]")
let ran = order.withLock { $0 }
check(ran.count == 8, "8 task runs, got \(ran)")
for run in [Array(ran[0..<4]), Array(ran[4..<8])] {
    check(run.first == "load" && run.last == "join" && Set(run[1...2]) == ["left", "right"], "diamond order \(run)")
}

// loss = Σ (x·w)², x = [[1, 2], [3, 4]], w = [1, 1]ᵀ: x·w = [3, 7]ᵀ, loss = 9 + 49 = 58,
// dloss/dw = 2·xᵀ·(x·w) = 2·[1·3 + 3·7, 2·3 + 4·7]ᵀ = [48, 68]ᵀ.
let g = Graph<Float>()
let x = g.placeholder("x", shape: [2, 2])
let w = g.parameter("w", Tensor(shape: [2, 1], scalars: [1, 1]))
let y = try x.matmul(w)
let loss = try (y * y).sum()
let grads = try g.gradients(of: loss, wrt: [w])
let plan = try Plan(outputs: [loss, grads[0]], executor: executor)
try plan.run(feeds: [x: Tensor(shape: [2, 2], scalars: [1, 2, 3, 4])])
let lossValue = try plan.value(of: loss).scalars, gradValue = try plan.value(of: grads[0]).scalars
check(lossValue == [58], "loss \(lossValue), want [58]")
check(gradValue == [48, 68], "gradient \(gradValue), want [48, 68]")
executor.shutdown()

print("downstream: task graph, observer, profile and gradient OK (kernel level \(KernelLevel.current))")
