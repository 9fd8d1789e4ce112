import Foundation
import Profiling
import Scheduler
import Tensor
import Training

/// `bench graph`: runs a graph file (docs/graph-format.md) forward, and with `--grad` backward too,
/// and prints its outputs and gradients as JSON.
///
/// ```
/// bench graph --file docs/examples/mlp.json --inputs docs/examples/mlp-inputs.json --grad --threads 2
/// ```
///
/// The plan runs on `--threads` workers; `--double` runs in Double instead of Float; `--profile DIR`
/// traces the run and writes the profile files (trace.json, summary, graph.dot) into DIR.
///
/// Gradients are of the output marked `"loss"` (or the single output) with respect to every parameter
/// and placeholder, keyed by node id. Without `--json` the result is printed as indented JSON; with it,
/// as one line that also holds the file, thread count, task count and peak bytes.
enum GraphCommand {
    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["grad", "json", "double"])
        guard let path = args.string("file") else { throw ArgumentError("--file g.json is required") }
        let options = Options(path: path, inputs: args.string("inputs"), grad: args.flag("grad"), json: args.flag("json"),
                              threads: try args.int("threads", default: 1), profile: args.string("profile"))
        let double = args.flag("double")
        try args.finish()
        guard options.threads > 0 else { throw ArgumentError("--threads must be positive") }
        if double { try execute(Double.self, options) } else { try execute(Float.self, options) }
    }

    struct Options {
        let path: String, inputs: String?, grad: Bool, json: Bool, threads: Int, profile: String?
    }

    static func execute<S: TensorScalar>(_: S.Type, _ o: Options) throws {
        let file = try GraphFile<S>(contentsOf: URL(fileURLWithPath: o.path))
        let feeds = try o.inputs.map { try file.feeds(contentsOf: URL(fileURLWithPath: $0)) } ?? [:]
        let idOf = Dictionary(file.nodes.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })

        var wrt: [Node<S>] = []
        var gradients: [Node<S>] = []
        if o.grad {
            guard let loss = file.loss ?? (file.outputs.count == 1 ? file.outputs[0].node : nil) else {
                throw ArgumentError("--grad needs a loss: mark an output with \"loss\" in the file, or have a single output")
            }
            wrt = file.nodes.values.filter { $0.operation.isLeaf && $0.operation != .constant }.sorted { $0.id < $1.id }
            gradients = try file.graph.gradients(of: loss, wrt: wrt)
        }

        let executor = Executor(workers: o.threads)
        defer { executor.shutdown() }
        let plan = try Plan(outputs: file.outputs.map(\.node) + gradients, executor: executor)
        let recorder = o.profile.map { _ in TraceRecorder() }
        try plan.run(feeds: feeds, observer: recorder)
        if let directory = o.profile, let recorder {
            let files = try plan.profile(recorder).write(to: URL(fileURLWithPath: directory),
                                                         title: "bench graph --file \(o.path) --threads \(o.threads)")
            FileHandle.standardError.write(Data(("profile: " + files.map(\.path).joined(separator: ", ") + "\n").utf8))
        }

        var sections = [("outputs", try file.outputs.map { ($0.name, tensorJSON(try plan.value(of: $0.node))) })]
        if o.grad { sections.append(("gradients", try zip(wrt, gradients).map { (idOf[$0]!, tensorJSON(try plan.value(of: $1))) })) }
        let quote = JSONLine.quote
        if o.json {
            var line = JSONLine()
            line.add("file", o.path)
            line.add("threads", o.threads)
            line.add("tasks", plan.taskCount)
            line.add("peak_bytes", plan.peakBytes)
            for (name, items) in sections {
                line.addRaw(name, "{" + items.map { quote($0.0) + ":" + $0.1 }.joined(separator: ",") + "}")
            }
            print(line.text)
        } else {
            let body = sections.map { name, items in
                "  \(quote(name)): {\n" + items.map { "    \(quote($0.0)): \($0.1)" }.joined(separator: ",\n") + "\n  }"
            }
            print("{\n" + body.joined(separator: ",\n") + "\n}")
        }
    }

    /// `{"shape": [...], "values": [...]}`; NaN and infinities as the strings "nan", "inf", "-inf".
    static func tensorJSON<S: TensorScalar>(_ t: Tensor<S>) -> String {
        let values = t.scalars.map { x in x.isNaN ? "\"nan\"" : x.isInfinite ? (x < 0 ? "\"-inf\"" : "\"inf\"") : "\(x)" }
        return "{\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"values\":[\(values.joined(separator: ","))]}"
    }
}
