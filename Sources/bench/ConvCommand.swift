import Foundation
import Kernels

/// `bench conv`: the convolution and pooling kernels alone, on the layers of `bench backprop --model
/// cnn` (LeNet-5 on 28x28x1, batch 64): conv2d forward, its input and filter gradients, and 2x2 max
/// pooling forward and backward, each as ms per call (median after warm-up) and GFLOP/s. The peer
/// script Benchmarks/kernels/torch_conv.py times PyTorch's (oneDNN) kernels on the same shapes.
///
/// ```
/// bench conv --threads 1 --batch 64 --repeat 50 [--json]
/// bench conv --layer conv2 --op forward --repeat 2000     # one kernel alone (e.g. under perf)
/// ```
enum ConvCommand {
    struct Row { let name: String; let flops: Double; let median: Double }

    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["json"])
        let threads = try args.int("threads", default: 1)
        let batch = try args.int("batch", default: 64)
        let repeats = try args.int("repeat", default: 50)
        let json = args.flag("json")
        let layer = args.string("layer", default: ""), op = args.string("op", default: "")
        try args.finish()
        guard ["", "conv1", "conv2"].contains(layer) else { throw ArgumentError("--layer must be conv1 or conv2, got '\(layer)'") }
        let ops = ["", "forward", "input", "filter", "maxpool-forward", "maxpool-backward"]
        guard ops.contains(op) else { throw ArgumentError("--op must be one of \(ops.dropFirst().joined(separator: ", ")), got '\(op)'") }
        guard threads > 0, batch > 0, repeats > 0 else { throw ArgumentError("--threads, --batch and --repeat must be positive") }
        let (loop, finish) = try GemmCommand.makeLoop(threads: threads, kind: "executor")
        defer { finish() }
        let layers = [("conv1 28x28x1->6 k5 p2", Conv2DShape(batch: batch, height: 28, width: 28, inputChannels: 1, outputChannels: 6,
                                                             kernel: (5, 5), padding: (2, 2))),
                      ("conv2 14x14x6->16 k5", Conv2DShape(batch: batch, height: 14, width: 14, inputChannels: 6, outputChannels: 16,
                                                           kernel: (5, 5)))]
        var rows: [Row] = []
        for (name, s) in layers where layer.isEmpty || name.hasPrefix(layer + " ") {
            rows += try measure(name, s, only: op, loop: loop, repeats: repeats)
        }
        print("conv2d and max pooling kernels, batch \(batch), threads=\(threads), kernel level \(KernelLevel.current) (median of \(repeats))")
        print("op                                         ms    GFLOP/s")
        for r in rows {
            print(r.name.padding(toLength: 38, withPad: " ", startingAt: 0) + String(format: " %8.3f %10.2f", r.median * 1e3, r.flops / r.median / 1e9))
        }
        if json {
            var line = JSONLine()
            line.add("system", "ours"); line.add("threads", threads); line.add("batch", batch)
            line.add("kernel_level", KernelLevel.current.description)
            let items = rows.map { r in
                var o = JSONLine()
                o.add("op", r.name); o.add("median_ms", r.median * 1e3); o.add("gflops", r.flops / r.median / 1e9)
                return o.text
            }
            line.addRaw("results", "[" + items.joined(separator: ",") + "]")
            print(line.text)
        }
    }

    /// The layer's kernels (all, or the one `only` names), each timed alone.
    static func measure(_ name: String, _ s: Conv2DShape, only: String, loop: any ParallelLoop, repeats: Int) throws -> [Row] {
        func wanted(_ op: String) -> Bool { only.isEmpty || only == op }
        var rng: UInt64 = 11
        func random(_ n: Int) -> [Float] {
            (0..<n).map { _ in
                rng = rng &* 6364136223846793005 &+ 1442695040888963407
                return Float(Int(rng >> 40) % 20001 - 10000) / 10000
            }
        }
        let oh = s.outputHeight, ow = s.outputWidth
        let x = random(s.batch * s.height * s.width * s.inputChannels)
        let w = random(25 * s.inputChannels * s.outputChannels)
        let dy = random(s.batch * oh * ow * s.outputChannels)
        var y = [Float](repeating: 0, count: dy.count), dx = [Float](repeating: 0, count: x.count)
        var dw = [Float](repeating: 0, count: w.count)
        var scratch = [Float](repeating: 0, count: Swift.max(1, Convolution.filterScratchCount(s)))
        let flops = 2.0 * Double(s.batch * oh * ow * s.outputChannels) * Double(25 * s.inputChannels)
        var rows: [Row] = []
        // The pooling below reads the forward output: computed once even when not timed.
        try Convolution.forward(x, filter: w, shape: s, into: &y, loop: loop)
        if wanted("forward") {
            let forward = try Clock.measure(repeat: repeats, warmup: 3) {
                try Convolution.forward(x, filter: w, shape: s, into: &y, loop: loop)
            }
            rows.append(Row(name: "\(name) forward", flops: flops, median: forward.median))
        }
        if wanted("input") {
            let input = try Clock.measure(repeat: repeats, warmup: 3) {
                try Convolution.backwardInput(gradient: dy, filter: w, shape: s, into: &dx, loop: loop)
            }
            rows.append(Row(name: "\(name) backward input", flops: flops, median: input.median))
        }
        if wanted("filter") {
            let filter = try Clock.measure(repeat: repeats, warmup: 3) {
                try Convolution.backwardFilter(x, gradient: dy, shape: s, into: &dw, scratch: &scratch, loop: loop)
            }
            rows.append(Row(name: "\(name) backward filter", flops: flops, median: filter.median))
        }
        // The 2x2 max pooling that follows the layer (on its output, [batch, oh, ow, cout]).
        let p = Pool2DShape(batch: s.batch, height: oh, width: ow, channels: s.outputChannels, kernel: (2, 2), stride: (2, 2),
                            padding: (0, 0))
        var pooled = [Float](repeating: 0, count: s.batch * p.outputHeight * p.outputWidth * s.outputChannels)
        let pdy = random(pooled.count)
        var pdx = [Float](repeating: 0, count: y.count)
        let compares = Double(y.count)
        if wanted("maxpool-forward") {
            let poolForward = Clock.measure(repeat: repeats, warmup: 3) { Pooling.maxForward(y, shape: p, into: &pooled, loop: loop) }
            rows.append(Row(name: "\(name) maxpool2 forward", flops: compares, median: poolForward.median))
        }
        if wanted("maxpool-backward") {
            let poolBackward = Clock.measure(repeat: repeats, warmup: 3) {
                Pooling.maxBackward(y, gradient: pdy, shape: p, into: &pdx, loop: loop)
            }
            rows.append(Row(name: "\(name) maxpool2 backward", flops: compares, median: poolBackward.median))
        }
        return rows
    }
}
