import Foundation
import Tensor

/// `bench graph`: runs a graph file (docs/graph-format.md) forward, and with `--grad` backward too,
/// and prints its outputs and gradients as JSON.
///
/// ```
/// bench graph --file docs/examples/mlp.json --inputs docs/examples/mlp-inputs.json --grad --threads 2
/// ```
///
/// Gradients are of the output marked `"loss"` (or the single output) with respect to every parameter
/// and placeholder, keyed by node id. Without `--json` the result is printed as indented JSON; with it,
/// as one line that also holds the file, thread count, task count and peak bytes.
enum GraphCommand {
    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["grad", "json"])
        guard let path = args.string("file") else { throw ArgumentError("--file g.json is required") }
        let inputs = args.string("inputs")
        let grad = args.flag("grad"), json = args.flag("json")
        let threads = try args.int("threads", default: 1)
        let profile = args.string("profile")
        try args.finish()
        guard threads > 0 else { throw ArgumentError("--threads must be positive") }

        let file = try GraphFile<Float>(contentsOf: URL(fileURLWithPath: path))
        let feeds = try inputs.map { try file.feeds(contentsOf: URL(fileURLWithPath: $0)) } ?? [:]
        let idOf = Dictionary(file.nodes.map { ($0.value, $0.key) }, uniquingKeysWith: { a, _ in a })

        var wrt: [Node<Float>] = []
        var gradients: [Node<Float>] = []
        if grad {
            guard let loss = file.loss ?? (file.outputs.count == 1 ? file.outputs[0].node : nil) else {
                throw ArgumentError("--grad needs a loss: mark an output with \"loss\" in the file, or have a single output")
            }
            wrt = file.nodes.values.filter {
                switch $0.operation { case .parameter, .placeholder: true; default: false }
            }.sorted { $0.id < $1.id }
            gradients = try file.graph.gradients(of: loss, wrt: wrt)
        }

        // The plan runs on `threads` workers once `Plan(outputs:executor:)` lands from the tensor
        // branch; until then it runs its tasks in order on this thread, and --threads only checks.
        let plan = try Plan(outputs: file.outputs.map(\.node) + gradients)
        if let profile {
            // Profile spot (for the profiling engineer): run with a trace recorder and write the
            // profile files into `profile` once the profile writer has landed.
            throw ArgumentError("--profile \(profile): the profile writer has not landed on this branch yet")
        }
        try plan.run(feeds: feeds)

        var sections = [("outputs", try file.outputs.map { ($0.name, tensorJSON(try plan.value(of: $0.node))) })]
        if grad { sections.append(("gradients", try zip(wrt, gradients).map { (idOf[$0]!, tensorJSON(try plan.value(of: $1))) })) }
        let quote = JSONLine.quote
        if json {
            var line = JSONLine()
            line.add("file", path)
            line.add("threads", threads)
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
    static func tensorJSON(_ t: Tensor<Float>) -> String {
        let values = t.scalars.map { x in x.isNaN ? "\"nan\"" : x.isInfinite ? (x < 0 ? "\"-inf\"" : "\"inf\"") : "\(x)" }
        return "{\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"values\":[\(values.joined(separator: ","))]}"
    }

}
