import Foundation
import Testing
import Tensor

/// `maxPool2d`, `avgPool2d` and `globalAvgPool2d` on NHWC images: windows worked out by hand
/// (with padding and overlap), ties, finite differences, shape errors, graph files, and equal bits
/// on 1, 2 and 3 workers.
@Suite struct PoolingTests {
    static let gradientCases: [GradCase] = [
        GradCase("max_pool2d 2x2 stride 2") { g, r in
            let x = g.random([2, 5, 5, 3], &r); return (try maxPool2d(x, kernel: [2, 2]), [x])
        },
        GradCase("max_pool2d 3x3 stride [1, 2] padding 1 (overlapping)") { g, r in
            let x = g.random([1, 4, 5, 2], &r); return (try maxPool2d(x, kernel: [3, 3], stride: [1, 2], padding: [1, 1]), [x])
        },
        GradCase("avg_pool2d 3x2 stride [2, 1] padding 1") { g, r in
            let x = g.random([2, 5, 4, 3], &r); return (try avgPool2d(x, kernel: [3, 2], stride: [2, 1], padding: [1, 1]), [x])
        },
        GradCase("global_avg_pool2d") { g, r in
            let x = g.random([2, 3, 3, 4], &r); return (try globalAvgPool2d(x), [x])
        },
        GradCase("second derivative through avg_pool2d") { g, r in
            let x = g.random([1, 4, 4, 2], &r)
            let y = try avgPool2d(x, kernel: [2, 2], stride: [1, 1])
            let first = try g.gradients(of: (y * y * g.random(y.shape, &r)).sum(), wrt: [x])[0]
            return (first, [x])
        },
    ]

    @Test(arguments: gradientCases)
    func matchesFiniteDifferences(_ c: GradCase) throws {
        let problems = try GradientCheck.run(c.build)
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test func windowsByHand() throws {
        // One 4x4 image holding x[i][j] = 4i + j; channel 1 holds 100 - x.
        let g = Graph<Double>()
        let values = (0..<16).flatMap { [Double($0), 100 - Double($0)] }
        let x = g.parameter("x", Tensor(shape: [1, 4, 4, 2], scalars: values))
        let max2 = try maxPool2d(x, kernel: [2, 2]), avg2 = try avgPool2d(x, kernel: [2, 2])
        let max3 = try maxPool2d(x, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
        let avg3 = try avgPool2d(x, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
        let global = try globalAvgPool2d(x)
        let dMax3 = try g.gradients(of: max3.sum(), wrt: [x])[0]
        let dAvg3 = try g.gradients(of: avg3.sum(), wrt: [x])[0]
        let plan = try Plan(outputs: [max2, avg2, max3, avg3, global, dMax3, dAvg3])
        try plan.run()
        func channel(_ n: Node<Double>, _ c: Int) throws -> [Double] {
            let v = try plan.value(of: n).scalars
            return stride(from: c, to: v.count, by: 2).map { v[$0] }
        }
        #expect(try channel(max2, 0) == [5, 7, 13, 15])
        #expect(try channel(max2, 1) == [100, 98, 92, 90])
        #expect(try channel(avg2, 0) == [2.5, 4.5, 10.5, 12.5])
        #expect(try channel(avg2, 1) == [97.5, 95.5, 89.5, 87.5])
        // 3x3 windows at rows/columns -1...1 and 1...3: in-bounds parts {0,1,4,5}, {1,2,3,5,6,7}, ...
        #expect(try channel(max3, 0) == [5, 7, 13, 15])
        #expect(try channel(max3, 1) == [100, 99, 96, 95])
        let sums: [Double] = [10, 24, 51, 90]
        #expect(try channel(avg3, 0) == sums.map { $0 / 9 })
        #expect(try channel(global, 0) == [7.5])
        #expect(try channel(global, 1) == [92.5])
        // The maxima of channel 0 sit at 5, 7, 13, 15; of channel 1 at 0, 1, 4, 5.
        #expect(try channel(dMax3, 0) == (0..<16).map { [5, 7, 13, 15].contains($0) ? 1 : 0 })
        #expect(try channel(dMax3, 1) == (0..<16).map { [0, 1, 4, 5].contains($0) ? 1 : 0 })
        // Each element gets 1/9 per window covering it: window rows span image rows 0...1 and 1...3,
        // so rows 0, 1, 2, 3 lie in 1, 2, 1, 1 of them (likewise columns).
        let cover = [1.0, 2, 1, 1]
        let expected: [Double] = (0..<16).map { cover[$0 / 4] * cover[$0 % 4] / 9 }
        let got = try channel(dAvg3, 0)
        #expect(zip(got, expected).allSatisfy { (a: Double, b: Double) in Swift.abs(a - b) < 1e-15 }, "\(got)")
    }

    @Test func tiesSendTheGradientToTheFirstMaximum() throws {
        let g = Graph<Float>()
        let x = g.parameter("x", .ones(shape: [1, 2, 2, 1]))
        let dx = try g.gradients(of: maxPool2d(x, kernel: [2, 2]).sum(), wrt: [x])[0]
        let plan = try Plan(outputs: [dx])
        try plan.run()
        #expect(try plan.value(of: dx).scalars == [1, 0, 0, 0])
    }

    @Test func nanWinsAndInfinitiesTieLikeNumbers() throws {
        // Channel 0: a NaN in the window (it is the maximum, and takes the gradient); channel 1: two
        // infinities (the first takes it); 20 channels, so vectors of channels are full and partial.
        let g = Graph<Float>()
        var values = [Float](repeating: 0, count: 4 * 20)
        for p in 0..<4 { for c in 0..<20 { values[p * 20 + c] = Float(p * 20 + c) / 100 } }
        values[2 * 20 + 0] = .nan
        values[1 * 20 + 1] = .infinity
        values[3 * 20 + 1] = .infinity
        values[0 * 20 + 19] = .nan
        let x = g.parameter("x", Tensor(shape: [1, 2, 2, 20], scalars: values))
        let y = try maxPool2d(x, kernel: [2, 2])
        let dx = try g.gradients(of: y.sum(), wrt: [x])[0]
        let plan = try Plan(outputs: [y, dx])
        try plan.run()
        let out = try plan.value(of: y).scalars, grad = try plan.value(of: dx).scalars
        #expect(out[0].isNaN && out[1] == .infinity && out[19].isNaN && out[2] == Float(62) / 100)
        let positions = (0..<20).map { c in (0..<4).filter { grad[$0 * 20 + c] == 1 } }
        #expect(positions[0] == [2] && positions[1] == [1] && positions[19] == [0])
        #expect((2..<19).allSatisfy { positions[$0] == [3] })
        #expect(grad.filter { $0 != 0 }.count == 20)
    }

    @Test func shapeErrorsNameOperationShapesAndLine() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [2, 4, 4, 3]), flat = g.placeholder("flat", shape: [4, 4])
        let line = #line + 1
        let m = message { _ = try maxPool2d(flat, kernel: [2, 2]) }
        #expect(m.contains("max_pool2d([4, 4]) at TensorTests/PoolingTests.swift:\(line): expects NHWC input [N, H, W, C], got [4, 4]"))
        #expect(message { _ = try avgPool2d(x, kernel: [5, 2]) }.contains("a window of 5 does not fit height 4 with padding 0"))
        #expect(message { _ = try maxPool2d(x, kernel: [3, 3], padding: [2, 0]) }.contains("padding [2, 0] must be at most half the kernel [3, 3]"))
        #expect(message { _ = try maxPool2d(x, kernel: [2]) }.contains("need two entries each"))
        #expect(message { _ = try avgPool2d(x, kernel: [2, 2], stride: [0, 1]) }.contains("must be positive"))
        #expect(message { _ = try globalAvgPool2d(flat) }.contains("global_avg_pool2d([4, 4])"))
    }

    @Test func graphFilesRoundTrip() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 7)
        let x = g.parameter("x", .randomNormal(shape: [2, 6, 5, 3], using: &rng))
        let a = try maxPool2d(x, kernel: [3, 3], stride: [2, 1], padding: [1, 1])
        let b = try avgPool2d(a, kernel: [2, 2])
        let c = try globalAvgPool2d(b)
        #expect(try GraphFileRoundTrip.matches([("a", a), ("c", c)], loss: c.sum()))

        let text = """
            {"version": 1, "nodes": [
              {"id": "x", "kind": "parameter", "shape": [1, 2, 2, 2], "values": [1, 2, 3, 4, 5, 6, 7, 8]},
              {"id": "y", "kind": "op", "op": "global_avg_pool2d", "inputs": ["x"], "shape": [1, 2]}
            ], "outputs": ["y"]}
            """
        let file = try GraphFile<Float>(json: Data(text.utf8))
        let plan = try Plan(outputs: [file.outputs[0].node])
        try plan.run()
        #expect(try plan.value(of: file.outputs[0].node).scalars == [4, 5])
    }

    @Test func bitwiseEqualOnOneTwoAndThreeWorkers() throws {
        let check = try WorkerCountCheck { (g: Graph<Float>) in
            var rng = SeededGenerator(seed: 31)
            let x = g.parameter("x", .randomNormal(shape: [16, 32, 32, 24], using: &rng))
            let m = try maxPool2d(x, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
            let a = try avgPool2d(x, kernel: [3, 3], stride: [2, 2], padding: [1, 1])
            let loss = try (m * a).sum()
            return [m, a, loss, try g.gradients(of: loss, wrt: [x])[0]]
        }
        #expect(check.bitwiseEqual)
        for k in 1..<check.split.count {
            let expected: Set<String> = ["max_pool2d", "avg_pool2d", "max_pool2d_backward", "avg_pool2d_backward"]
            #expect(check.split[k].isSuperset(of: expected), "\(WorkerCountCheck.workerCounts[k]) workers split only \(check.split[k])")
        }
    }
}
