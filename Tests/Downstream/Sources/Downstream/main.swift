// Runs a task graph on the Scheduler and differentiates a small graph with Tensor, checking both
// against values worked out by hand; exits non-zero on any mismatch.
import Foundation
import Kernels
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
try executor.run(compiled)
try executor.run(compiled)
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

print("downstream: task graph and gradient OK (kernel level \(KernelLevel.current))")
