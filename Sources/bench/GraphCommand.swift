import Foundation
import Scheduler
import Tensor

/// `bench graph`: runs a graph file (format in `GraphFile`) forward, and backward with `--grad`,
/// and prints its outputs and gradients.
///
/// ```
/// bench graph --file model.json --inputs inputs.json --grad --threads 2 --json
/// ```
/// `--inputs` maps placeholder names to values (`{"x": [[1, 2], [3, 4]]}`). Outputs are the file's
/// `outputs` (default: its last node); `--grad` differentiates the file's `loss` (default: the last
/// node) with respect to its `wrt` (default: every parameter). With `--json` the last line is
/// `{"outputs": [{"id":…,"op":…,"shape":[…],"values":[…]}…], "gradients": [{"wrt":…,"name":…,…}…], …}`.
enum GraphCommand {
    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["grad", "json", "double"])
        guard let path = args.string("file") else { throw ArgumentError("--file is required") }
        let inputs = args.string("inputs")
        let threads = try args.int("threads", default: 1)
        let grad = args.flag("grad"), json = args.flag("json"), double = args.flag("double")
        try args.finish()
        guard threads > 0 else { throw ArgumentError("--threads must be positive") }
        if double {
            try execute(Double.self, path: path, inputs: inputs, threads: threads, grad: grad, json: json)
        } else {
            try execute(Float.self, path: path, inputs: inputs, threads: threads, grad: grad, json: json)
        }
    }

    static func read(_ path: String) throws -> Data {
        guard let data = FileManager.default.contents(atPath: path) else { throw ArgumentError("cannot read \(path)") }
        return data
    }

    static func execute<S: TensorScalar>(_: S.Type, path: String, inputs: String?, threads: Int, grad: Bool, json: Bool) throws {
        let file: GraphFile<S>
        do { file = try GraphFile<S>(data: read(path)) } catch let e as GraphFileError {
            throw ArgumentError("\(path): \(e)")
        }
        guard let last = file.nodes.last else { throw ArgumentError("\(path): the graph has no nodes") }
        let outputs = file.outputs.isEmpty ? [last] : file.outputs
        var gradients: [Node<S>] = []
        var wrt: [Node<S>] = []
        if grad {
            let loss = file.loss ?? last
            wrt = file.wrt
            gradients = try file.graph.gradients(of: loss, wrt: wrt)
        }
        var feeds: [Node<S>: Tensor<S>] = [:]
        if let inputs {
            do { feeds = try file.feeds(json: read(inputs)) } catch let e as GraphFileError { throw ArgumentError("\(inputs): \(e)") }
        }
        let executor = Executor(workers: threads)
        let plan = try Plan(outputs: outputs + gradients, executor: executor)
        let t0 = Clock.now()
        try plan.run(feeds: feeds)
        let seconds = Clock.now() - t0

        func name(_ n: Node<S>) -> String {
            switch n.operation {
            case let .placeholder(name), let .parameter(name): name
            default: "%\(n.id) \(n.operation.name)"
            }
        }
        func numbers(_ t: Tensor<S>) -> String {
            "[" + t.scalars.map { $0.isFinite ? "\($0)" : "null" }.joined(separator: ",") + "]"
        }
        func list(_ v: [Int]) -> String { "[" + v.map(String.init).joined(separator: ",") + "]" }
        var outputJSON: [String] = [], gradientJSON: [String] = []
        for n in outputs {
            let t = try plan.value(of: n)
            print("output \(name(n)) \(t)")
            outputJSON.append("{\"id\":\(n.id),\"op\":\(JSONLine.quote(n.operation.name)),\"shape\":\(list(t.shape)),\"values\":\(numbers(t))}")
        }
        for (w, d) in zip(wrt, gradients) {
            let t = try plan.value(of: d)
            print("gradient wrt \(name(w)) \(t)")
            gradientJSON.append("{\"wrt\":\(w.id),\"name\":\(JSONLine.quote(name(w))),\"shape\":\(list(t.shape)),\"values\":\(numbers(t))}")
        }
        print(String(format: "%d tasks, %.3f ms, peak %d bytes", plan.taskCount, seconds * 1e3, plan.peakBytes))
        if json {
            var line = JSONLine()
            line.add("file", path); line.add("threads", threads)
            line.addRaw("outputs", "[" + outputJSON.joined(separator: ",") + "]")
            line.addRaw("gradients", "[" + gradientJSON.joined(separator: ",") + "]")
            line.add("tasks", plan.taskCount); line.add("peak_bytes", plan.peakBytes); line.add("seconds", seconds)
            print(line.text)
        }
    }
}
