import Foundation
import Kernels

/// `bench kernels`: throughput of the elementwise, reduction and softmax kernels on large Float
/// arrays, in elements/s and GB/s (bytes read plus bytes written), with `memcpy` as the bandwidth
/// reference. Prints the kernel level in use (`KernelLevel.current`; JSON `kernel_level`).
///
/// ```
/// bench kernels --count 10000000 --threads 1 --repeat 5 [--json] [--loop executor|dispatch]
/// ```
enum KernelsCommand {
    struct Row { let name: String; let elements: Int; let bytes: Int; let median: Double }

    static func run(_ words: [String]) throws {
        var args = try Arguments(words, flags: ["json"])
        let count = try args.int("count", default: 10_000_000)
        let threads = try args.int("threads", default: 1)
        let repeats = try args.int("repeat", default: 5)
        let json = args.flag("json")
        let loopKind = args.string("loop", default: "executor")
        try args.finish()
        guard count >= 1000, threads > 0, repeats > 0 else {
            throw ArgumentError("--count must be at least 1000, --threads and --repeat positive")
        }
        let (loop, finish) = try GemmCommand.makeLoop(threads: threads, kind: loopKind)
        defer { finish() }
        let rows = try measureAll(count: count, loop: loop, repeats: repeats)
        print("kernels on \(count) floats, threads=\(threads) (median of \(repeats))")
        print("kernel level: \(KernelLevel.current)")
        print("op                     ms      Gelem/s   GB/s")
        for r in rows {
            let s = r.median
            print(r.name.padding(toLength: 20, withPad: " ", startingAt: 0)
                  + String(format: " %8.3f %9.3f %7.2f", s * 1e3, Double(r.elements) / s / 1e9, Double(r.bytes) / s / 1e9))
        }
        if json {
            var line = JSONLine()
            line.add("count", count); line.add("threads", threads); line.add("kernel_level", KernelLevel.current.description)
            let items = rows.map { r in
                var o = JSONLine()
                o.add("op", r.name); o.add("median_s", r.median)
                o.add("elements_per_s", Double(r.elements) / r.median); o.add("gb_per_s", Double(r.bytes) / r.median / 1e9)
                return o.text
            }
            line.addRaw("results", "[" + items.joined(separator: ",") + "]")
            print(line.text)
        }
    }

    static func measureAll(count n: Int, loop: any ParallelLoop, repeats: Int) throws -> [Row] {
        var state: UInt64 = 7
        let a: [Float] = (0..<n).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int(state >> 40) % 20001 - 10000) / 2000
        }
        let b = a.reversed().map { abs($0) + 0.5 }
        var out = [Float](repeating: 0, count: n)
        let f = MemoryLayout<Float>.stride
        var rows: [Row] = []
        let cols = 1000, rowCount = n / cols
        try a.withUnsafeBufferPointer { ap in
            try b.withUnsafeBufferPointer { bp in
                try out.withUnsafeMutableBufferPointer { op in
                    let x = ap.baseAddress!, y = bp.baseAddress!, o = op.baseAddress!
                    func time(_ name: String, elements: Int = n, bytes: Int, _ body: () throws -> Void) rethrows {
                        let t = try Clock.measure(repeat: repeats, body)
                        rows.append(Row(name: name, elements: elements, bytes: bytes, median: t.median))
                    }
                    time("memcpy", bytes: 2 * n * f) { o.update(from: x, count: n) }
                    for op in [BinaryOp.add, .mul, .max] {
                        time("binary \(op)", bytes: 3 * n * f) { Elementwise.binary(op, x, y, into: o, count: n, loop: loop) }
                    }
                    time("scalar mul", bytes: 2 * n * f) { Elementwise.binary(.mul, x, scalar: 1.5, into: o, count: n, loop: loop) }
                    try time("broadcast add row", bytes: 2 * n * f) {
                        try Elementwise.binary(.add, shape: [rowCount, cols], x, strides: [cols, 1], y, strides: [0, 1],
                                               into: o, loop: loop)
                    }
                    let unary: [UnaryOp] = [.relu, .exp, .log, .tanh, .sigmoid, .gelu, .sqrt]
                    for op in unary {
                        let input = op == .log || op == .sqrt ? y : x
                        time("unary \(op)", bytes: 2 * n * f) { Elementwise.unary(op, input, into: o, count: n, loop: loop) }
                    }
                    time("gradient gelu", bytes: 3 * n * f) {
                        Elementwise.unaryGradient(.gelu, value: x, gradient: y, into: o, count: n, loop: loop)
                    }
                    try time("sum all", bytes: n * f) { try Reduction.reduce(.sum, x, shape: [n], axes: [0], into: o, loop: loop) }
                    try time("sum rows (axis 1)", elements: rowCount * cols, bytes: rowCount * cols * f) {
                        try Reduction.reduce(.sum, x, shape: [rowCount, cols], axes: [1], into: o, loop: loop)
                    }
                    try time("sum cols (axis 0)", elements: rowCount * cols, bytes: rowCount * cols * f) {
                        try Reduction.reduce(.sum, x, shape: [rowCount, cols], axes: [0], into: o, loop: loop)
                    }
                    try time("max rows (axis 1)", elements: rowCount * cols, bytes: rowCount * cols * f) {
                        try Reduction.reduce(.max, x, shape: [rowCount, cols], axes: [1], into: o, loop: loop)
                    }
                    time("softmax rows", elements: rowCount * cols, bytes: 2 * rowCount * cols * f) {
                        Softmax.forward(x, into: o, rows: rowCount, cols: cols, loop: loop)
                    }
                    try time("transpose copy", elements: rowCount * cols, bytes: 2 * rowCount * cols * f) {
                        try StridedCopy.copy(shape: [cols, rowCount], from: x, strides: [1, cols], to: o, loop: loop)
                    }
                }
            }
        }
        return rows
    }
}
