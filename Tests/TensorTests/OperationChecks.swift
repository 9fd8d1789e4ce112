import Foundation
import Scheduler
import Tensor

/// Runs one graph's outputs on executors of 1, 2 and 3 workers and reports each run's values as
/// bit patterns, and which operations' kernels split into several pieces (from a trace), so a
/// test can check both that the work was divided and that dividing it changed no bit.
struct WorkerCountCheck {
    /// Per worker count (1, 2, 3): every output's bit patterns, in order.
    var values: [[[UInt64]]] = []
    /// Per worker count: names of the tasks that ran as two or more `parallelFor` pieces.
    var split: [Set<String>] = []

    static let workerCounts = [1, 2, 3]

    /// `build` makes the graph (parameters and constants only, no placeholders) and returns the
    /// outputs to compare; it is called once per worker count, so it must be deterministic.
    init<S: TensorScalar>(_ build: (Graph<S>) throws -> [Node<S>]) throws {
        for workers in Self.workerCounts {
            let executor = Executor(workers: workers)
            defer { executor.shutdown() }
            let g = Graph<S>()
            let outputs = try build(g)
            let plan = try Plan(outputs: outputs, executor: executor)
            let recorder = TraceRecorder()
            try plan.run(observer: recorder)
            values.append(try outputs.map { try plan.value(of: $0).scalars.map { Self.bits($0) } })
            var pieces: [Int: Int] = [:]
            for e in recorder.events where e.task == -1 && e.parent >= 0 { pieces[e.parent, default: 0] += 1 }
            split.append(Set(pieces.filter { $0.value >= 2 }.map { plan.taskInfo[$0.key].name }))
        }
    }

    static func bits<S: TensorScalar>(_ x: S) -> UInt64 {
        if let f = x as? Float { return UInt64(f.bitPattern) }
        return (x as! Double).bitPattern
    }

    /// Whether 2 and 3 workers gave exactly the 1-worker values.
    var bitwiseEqual: Bool { values.allSatisfy { $0 == values[0] } }
}

/// Writes a graph file holding `outputs` (and `loss`), reads it back, and reports whether the
/// reread graph gives bitwise-equal outputs and gradients and writes back the same text.
enum GraphFileRoundTrip {
    static func matches(_ outputs: [(name: String, node: Node<Float>)], loss: Node<Float>,
                        feeds: (GraphFile<Float>) -> [Node<Float>: Tensor<Float>] = { _ in [:] }) throws -> Bool {
        let original = try GraphFile(outputs: outputs + [("loss", loss)], loss: loss)
        let text = try original.json().json
        let read = try GraphFile<Float>(json: Data(text.utf8))
        let same = try GraphFileTests.run(read, feeds(read)) == GraphFileTests.run(original, feeds(original))
        return try same && read.json().json == text
    }
}
