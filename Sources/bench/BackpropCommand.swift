import Foundation
import Kernels
import Profiling
import Scheduler
import Tensor
import Training

/// `bench backprop`: forward + backward (+ an SGD step with `--update`) of a model as one plan.
///
/// ```
/// bench backprop --model mlp --threads 2 --batch 256 --update --json
/// bench backprop --model small-ops --threads 1
/// bench backprop --model cnn --threads 2 --update          # LeNet-5 on 28x28x1, batch 64
/// bench backprop --model wide --branches 4 --threads 2
/// bench backprop --model mlp --threads 2 --profile /tmp/mlp-profile
/// ```
/// Models (the same as the peers in Benchmarks/backprop):
/// - `mlp`: 784-1024-1024-10, ReLU, softmax cross-entropy (mean over the batch), batch 256 by default;
/// - `char`: the character-level model of `bench train --data shakespeare` (embedding 70x64, positions,
///   4-head causal self-attention with residual, layer norm, last position, dense 64-70), context 32, batch 64;
/// - `cnn`: LeNet-5 on 28x28x1 NHWC images: conv 5x5 6 filters (padding 2), ReLU, 2x2 max pool, conv 5x5
///   16 filters, ReLU, 2x2 max pool, dense 400-120-84-10 with ReLUs, softmax cross-entropy; batch 64;
/// - `wide`: K (`--branches`, 4) branches relu(x_k W1_k) W2_k, x_k 256x1024, W 1024x1024; loss = sum of outputs;
/// - `deep`: 100 layers of width 64, h = relu(h W_i + b_i), batch 64; loss = sum(h);
/// - `small-ops`: 50 branches on 64 floats, 40 ops each (tanh, * w_b, + x_b in turn); loss = sum of sums;
///   gradients with respect to every x_b and w_b.
/// `--profile DIR` traces the timed steps and writes trace.json, summary.txt/json, graph.dot and
/// report.html there. `--no-fusion` runs every operation as its own task; `--parallelism` traces one more step and prints
/// the workers' busy time over its makespan. With `--json` the last line is one object with
/// `model`, `threads`, `batch`, `median_ms`, `min_ms`, `tasks`, `peak_bytes` and more.
enum BackpropCommand {
    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["update", "json", "no-fusion", "parallelism"])
        let model = args.string("model", default: "mlp")
        let threads = try args.int("threads", default: 1)
        let defaults = ["mlp": 256, "wide": 256, "deep": 64, "small-ops": 1, "cnn": 64, "char": 64]
        guard let defaultBatch = defaults[model] else {
            throw ArgumentError("--model must be mlp, cnn, char, wide, deep or small-ops, got '\(model)'")
        }
        var batch = try args.int("batch", default: 0)
        if batch == 0 { batch = defaultBatch }
        let branches = try args.int("branches", default: 4)
        let repeats = try args.int("repeat", default: 20)
        let warmup = try args.int("warmup", default: 5)
        let update = args.flag("update"), json = args.flag("json"), fusion = !args.flag("no-fusion")
        let parallelism = args.flag("parallelism")
        let profileDirectory = args.string("profile")
        try args.finish()
        guard threads > 0, repeats > 0, warmup >= 0, batch > 0, branches > 0 else {
            throw ArgumentError("--threads, --repeat, --batch and --branches must be positive")
        }

        let executor = Executor(workers: threads)
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 0)
        let built = try build(model, graph: g, batch: batch, branches: branches, rng: &rng)
        let grads = try g.gradients(of: built.loss, wrt: built.wrt)
        var updates: [ParameterUpdate<Float>] = []
        if update {
            let lr: Float = 0.01
            for (p, d) in zip(built.wrt, grads) {
                if case .parameter = p.operation {
                    updates.append(.sgd(parameter: p, gradient: d) { lr })
                }
            }
        }
        // Without updates the gradients are outputs (kept); with them, the updates consume them.
        let plan = try Plan(outputs: [built.loss] + (update ? [] : grads), updates: updates,
                            executor: executor, fusion: fusion)
        try plan.run(feeds: built.feeds)
        // With --profile the timed steps themselves are traced (so the time shows profiling's cost).
        let recorder = profileDirectory.map { _ in TraceRecorder() }
        for _ in 0..<warmup { try plan.run() }
        if let recorder {
            // Room for every timed run's events, taken before the clock starts (a recording of a
            // known length should not pay for growing its buffers while it records).
            try plan.run(observer: recorder)
            let perWorker = Dictionary(grouping: recorder.events, by: \.worker).values.map(\.count).max() ?? 0
            recorder.reserveCapacity(eventsPerWorker: (repeats + 1) * perWorker * 5 / 4, workers: threads)
            recorder.reset()
        }
        let times = try Clock.measure(repeat: repeats, warmup: 0) { try plan.run(observer: recorder) }
        let median = times.median * 1e3, best = (times.min() ?? 0) * 1e3
        let loss = try plan.value(of: built.loss).scalar
        print(String(format: "backprop %@ batch %d%@, %d threads: median %.3f ms (min %.3f) over %d steps; %d tasks, peak %.1f MB (%.1f MB without reuse), loss %.4f",
                     model, batch, update ? " +update" : "", threads, median, best, repeats, plan.taskCount,
                     Double(plan.peakBytes) / 1e6, Double(plan.unplannedBytes) / 1e6, Double(loss)))
        if let profileDirectory, let recorder {
            let files = try plan.profile(recorder).write(to: URL(fileURLWithPath: profileDirectory),
                                                         title: "bench backprop --model \(model) --threads \(threads)")
            print("profile of \(repeats) steps: " + files.map(\.path).joined(separator: ", "))
        }
        var averageParallelism = 0.0
        if parallelism {
            // One traced step: busy time of each worker (union of its events) over the makespan.
            let recorder = TraceRecorder()
            try plan.run(observer: recorder)
            let events = recorder.events
            let begin = events.map(\.beginNanos).min() ?? 0, end = events.map(\.endNanos).max() ?? 0
            var busy: UInt64 = 0
            for w in Set(events.map(\.worker)) {
                var last: UInt64 = 0
                for e in events where e.worker == w {
                    let b = Swift.max(e.beginNanos, last)
                    if e.endNanos > b { busy += e.endNanos - b }
                    last = Swift.max(last, e.endNanos)
                }
            }
            averageParallelism = end > begin ? Double(busy) / Double(end - begin) : 0
            print(String(format: "traced step: makespan %.3f ms, busy %.3f ms, average parallelism %.2f of %d workers",
                         Double(end - begin) / 1e6, Double(busy) / 1e6, averageParallelism, threads))
        }
        if json {
            var line = JSONLine()
            line.add("system", "ours")
            line.add("model", model); line.add("threads", threads); line.add("batch", batch)
            line.add("branches", branches); line.add("update", update); line.add("repeat", repeats)
            line.add("median_ms", median); line.add("min_ms", best)
            line.add("tasks", plan.taskCount); line.add("peak_bytes", plan.peakBytes)
            line.add("unplanned_bytes", plan.unplannedBytes); line.add("fusion", fusion)
            line.add("loss", Double(loss))
            if parallelism { line.add("average_parallelism", averageParallelism) }
            print(line.text)
        }
    }

    struct Built {
        var loss: Node<Float>
        var wrt: [Node<Float>]
        var feeds: [Node<Float>: Tensor<Float>]
    }

    static func he(_ g: Graph<Float>, _ name: String, _ rows: Int, _ cols: Int, _ rng: inout SeededGenerator) -> Node<Float> {
        g.parameter(name, .randomNormal(shape: [rows, cols], standardDeviation: Float((2.0 / Double(rows)).squareRoot()), using: &rng))
    }

    static func build(_ model: String, graph g: Graph<Float>, batch: Int, branches: Int,
                      rng: inout SeededGenerator) throws -> Built {
        switch model {
        case "mlp":
            let widths = [784, 1024, 1024, 10]
            let x = g.placeholder("x", shape: [batch, 784]), y = g.placeholder("y", shape: [batch])
            var params: [Node<Float>] = []
            var h = x
            for i in 0..<3 {
                let w = he(g, "w\(i)", widths[i], widths[i + 1], &rng)
                let b = g.parameter("b\(i)", .zeros(shape: [widths[i + 1]]))
                params += [w, b]
                h = try h.matmul(w) + b
                if i < 2 { h = try relu(h) }
            }
            let labels = (0..<batch).map { _ in Float(Int.random(in: 0..<10, using: &rng)) }
            return Built(loss: try softmaxCrossEntropy(logits: h, labels: y), wrt: params,
                         feeds: [x: .randomNormal(shape: [batch, 784], using: &rng), y: Tensor(labels)])
        case "cnn":
            // LeNet-5 on 28x28x1 images (NHWC): conv 5x5x6 (padding 2), ReLU, 2x2 max pooling, conv
            // 5x5x16, ReLU, 2x2 max pooling, dense 400-120-84-10 with ReLUs, softmax cross-entropy.
            let x = g.placeholder("x", shape: [batch, 28, 28, 1]), y = g.placeholder("y", shape: [batch])
            var params: [Node<Float>] = []
            var h = x
            for (i, (cin, cout, pad)) in [(1, 6, 2), (6, 16, 0)].enumerated() {
                let f = g.parameter("conv\(i).filter", .randomNormal(shape: [5, 5, cin, cout],
                                                                     standardDeviation: Float((2.0 / Double(25 * cin)).squareRoot()), using: &rng))
                let b = g.parameter("conv\(i).bias", .zeros(shape: [cout]))
                params += [f, b]
                h = try maxPool2d(relu(conv2d(h, filter: f, padding: [pad, pad]) + b), kernel: [2, 2])
            }
            h = try h.reshaped([batch, 400])
            let widths = [400, 120, 84, 10]
            for i in 0..<3 {
                let w = he(g, "dense\(i).weight", widths[i], widths[i + 1], &rng)
                let b = g.parameter("dense\(i).bias", .zeros(shape: [widths[i + 1]]))
                params += [w, b]
                h = try h.matmul(w) + b
                if i < 2 { h = try relu(h) }
            }
            let labels = (0..<batch).map { _ in Float(Int.random(in: 0..<10, using: &rng)) }
            return Built(loss: try softmaxCrossEntropy(logits: h, labels: y), wrt: params,
                         feeds: [x: .randomNormal(shape: [batch, 28, 28, 1], using: &rng), y: Tensor(labels)])
        case "char":
            // The character-level model of `bench train --data shakespeare`: 32 characters of a
            // 70-character vocabulary, embedding 64, learned positions, 4-head causal self-attention
            // with its residual, layer norm, the last position, dense to 70 logits.
            let model = try Sequential(graph: g, inputShape: [32],
                                       layers: LayerSpec.parse("embedding(70,64)-position-attention(4)-layernorm-last-dense(70)"),
                                       using: &rng)
            let x = g.placeholder("x", shape: [batch, 32]), y = g.placeholder("y", shape: [batch])
            let indices = (0..<(batch * 32)).map { _ in Float(Int.random(in: 0..<70, using: &rng)) }
            let labels = (0..<batch).map { _ in Float(Int.random(in: 0..<70, using: &rng)) }
            return Built(loss: try softmaxCrossEntropy(logits: model.prediction(x, training: true), labels: y),
                         wrt: model.parameters, feeds: [x: Tensor(shape: [batch, 32], scalars: indices), y: Tensor(labels)])
        case "wide":
            var params: [Node<Float>] = []
            var feeds: [Node<Float>: Tensor<Float>] = [:]
            var total: Node<Float>? = nil
            for k in 0..<branches {
                let w1 = he(g, "w1_\(k)", 1024, 1024, &rng), w2 = he(g, "w2_\(k)", 1024, 1024, &rng)
                let x = g.placeholder("x\(k)", shape: [batch, 1024])
                feeds[x] = .randomNormal(shape: [batch, 1024], using: &rng)
                params += [w1, w2]
                let out = try relu(x.matmul(w1)).matmul(w2).sum()
                total = try total.map { try $0 + out } ?? out
            }
            return Built(loss: total!, wrt: params, feeds: feeds)
        case "deep":
            let x = g.placeholder("x", shape: [batch, 64])
            var params: [Node<Float>] = []
            var h = x
            for i in 0..<100 {
                let w = he(g, "w\(i)", 64, 64, &rng), b = g.parameter("b\(i)", .zeros(shape: [64]))
                params += [w, b]
                h = try relu(h.matmul(w) + b)
            }
            return Built(loss: try h.sum(), wrt: params, feeds: [x: .randomNormal(shape: [batch, 64], using: &rng)])
        default:   // small-ops
            var xs: [Node<Float>] = [], ws: [Node<Float>] = []
            var total: Node<Float>? = nil
            for b in 0..<50 {
                let x = g.parameter("x\(b)", .randomNormal(shape: [64], using: &rng))
                let w = g.parameter("w\(b)", .randomUniform(shape: [64], in: 0.75..<1.25, using: &rng))
                xs.append(x); ws.append(w)
                var h = x
                for i in 0..<40 {
                    switch i % 3 {
                    case 0: h = try tanh(h)
                    case 1: h = try h * w
                    default: h = try h + x
                    }
                }
                let s = try h.sum()
                total = try total.map { try $0 + s } ?? s
            }
            return Built(loss: total!, wrt: xs + ws, feeds: [:])
        }
    }
}
