import Foundation
import Testing
import Tensor

/// `abs`, `square`, `minimum`, `maximum`, `clamp` and `where`: values and gradients worked out by
/// hand, finite differences, shape errors, graph files, and equal bits on 1, 2 and 3 workers.
@Suite struct SelectionOpsTests {
    static let gradientCases: [GradCase] = [
        GradCase("abs") { g, r in
            let x = g.parameter("x", Tensor(shape: [2, 3], scalars: [-1.5, 0.3, -0.2, 2, 0.7, -0.9])); return (try abs(x), [x])
        },
        GradCase("square") { g, r in let x = g.random([2, 3], &r); return (try square(x), [x]) },
        GradCase("clamp") { g, r in
            let x = g.parameter("x", Tensor(shape: [2, 3], scalars: [-1.5, 0.3, -0.2, 2, 0.7, -0.9])); return (try clamp(x, min: -0.5, max: 1), [x])
        },
        GradCase("clamp, lower bound only") { g, r in
            let x = g.parameter("x", Tensor([-1.5, 0.3, -0.2, 2])); return (try clamp(x, min: 0), [x])
        },
        GradCase("maximum [2, 3] [3]") { g, r in let a = g.random([2, 3], &r), b = g.random([3], &r); return (try maximum(a, b), [a, b]) },
        GradCase("minimum [2, 1, 3] [4, 1]") { g, r in let a = g.random([2, 1, 3], &r), b = g.random([4, 1], &r); return (try minimum(a, b), [a, b]) },
        GradCase("minimum with a scalar") { g, r in let a = g.random([2, 3], &r), b = g.random([], &r); return (try minimum(a, b), [a, b]) },
        GradCase("where, broadcasting") { g, r in
            let c = g.constant(Tensor(shape: [2, 1], scalars: [1, 0]))
            let a = g.random([2, 3], &r), b = g.random([3], &r)
            return (try select(c, a, b), [a, b])
        },
        GradCase("where, elementwise condition") { g, r in
            let c = g.constant(Tensor(shape: [2, 3], scalars: [0, 2, 0, -1, 0, 1]))
            let a = g.random([2, 3], &r), b = g.random([2, 3], &r)
            return (try select(c, square(a), abs(b)), [a, b])
        },
        GradCase("second derivative through clamp, abs and maximum") { g, r in
            let x = g.parameter("x", Tensor([-1.5, 0.3, -0.2, 0.8])), y = g.random([4], &r)
            let f = try (clamp(x, min: -1, max: 1) * square(x) * abs(y) + maximum(x, y) * x).sum()
            let grads = try g.gradients(of: f, wrt: [x, y])
            return (try grads[0] * 2 + grads[1], [x, y])
        },
    ]

    @Test(arguments: gradientCases)
    func matchesFiniteDifferences(_ c: GradCase) throws {
        let problems = try GradientCheck.run(c.build)
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test func valuesAndGradientsByHand() throws {
        let g = Graph<Double>()
        let x = g.parameter("x", Tensor([-2, -1, 0, 0.5, 1, 1.5]))
        let a = g.parameter("a", Tensor([1, 3, 2])), b = g.parameter("b", Tensor([2, 3, 1]))
        let c = g.parameter("c", Tensor([1, 0, 2]))
        let outputs = [try abs(x), try square(x), try clamp(x, min: -1, max: 1), try maximum(a, b), try minimum(a, b),
                       try select(c, a, b)]
        let loss = try outputs.reduce(g.scalar(0)) { try $0 + $1.sum() }
        let grads = try g.gradients(of: loss, wrt: [x, a, b, c])
        let plan = try Plan(outputs: outputs + grads)
        try plan.run()
        let v = try (outputs + grads).map { try plan.value(of: $0).scalars }
        #expect(v[0] == [2, 1, 0, 0.5, 1, 1.5])
        #expect(v[1] == [4, 1, 0, 0.25, 1, 2.25])
        #expect(v[2] == [-1, -1, 0, 0.5, 1, 1])
        #expect(v[3] == [2, 3, 2])
        #expect(v[4] == [1, 3, 1])
        #expect(v[5] == [1, 3, 2])     // c = [1, 0, 2]: a, b, a
        // d/dx: sign(x) + 2x + [-1 <= x <= 1] (bounds included).
        let dx: [Double] = [-1 - 4 + 0, -1 - 2 + 1, 0 + 0 + 1, 1 + 1 + 1, 1 + 2 + 1, 1 + 3 + 0]
        #expect(v[6] == dx)
        // d/da: maximum [0, ½, 1] + minimum [1, ½, 0] + where [1, 0, 1]; d/db mirrors it; none to c.
        #expect(v[7] == [2, 1, 2])
        #expect(v[8] == [1, 2, 1])
        #expect(v[9] == [0, 0, 0])
    }

    @Test func nanPropagatesThroughMinimumAndMaximum() throws {
        let g = Graph<Float>()
        let a = g.constant(Tensor([.nan, 1])), b = g.constant(Tensor([0, .nan]))
        let lo = try minimum(a, b), hi = try maximum(a, b)
        let plan = try Plan(outputs: [lo, hi])
        try plan.run()
        #expect(try plan.value(of: lo).scalars.allSatisfy(\.isNaN))
        #expect(try plan.value(of: hi).scalars.allSatisfy(\.isNaN))
    }

    @Test func shapeErrorsNameOperationShapesAndLine() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let g = Graph<Float>()
        let a = g.placeholder("a", shape: [2, 3]), b = g.placeholder("b", shape: [4, 5])
        let line = #line + 1
        let m = message { _ = try select(a, a, b) }
        #expect(m.contains("where([2, 3], [2, 3], [4, 5]) at TensorTests/SelectionOpsTests.swift:\(line)"))
        #expect(m.contains("do not broadcast"))
        #expect(message { _ = try maximum(a, b) }.contains("maximum([2, 3], [4, 5])"))
        #expect(message { _ = try minimum(b, a) }.contains("minimum([4, 5], [2, 3])"))
        #expect(message { _ = try clamp(a, min: 1, max: 0) }.contains("clamp([2, 3])"))
        #expect(message { _ = try clamp(a, min: 1, max: 0) }.contains("need min <= max"))
    }

    @Test func graphFilesRoundTrip() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 3)
        let x = g.parameter("x", .randomNormal(shape: [3, 4], using: &rng))
        let y = g.parameter("y", .randomNormal(shape: [4], using: &rng))
        let c = g.constant(Tensor(shape: [3, 1], scalars: [1, 0, 1]))
        let out = try select(c, abs(x), square(y)) + maximum(x, y) - minimum(x, y)
        let clamped = try clamp(out, min: -0.5) + clamp(out, min: -1, max: 1) + clamp(out, max: 2)
        #expect(try GraphFileRoundTrip.matches([("out", out), ("clamped", clamped)], loss: clamped.sum()))
    }

    @Test func bitwiseEqualOnOneTwoAndThreeWorkers() throws {
        let check = try WorkerCountCheck { (g: Graph<Float>) in
            var rng = SeededGenerator(seed: 8)
            let x = g.parameter("x", .randomNormal(shape: [300, 257], using: &rng))
            let y = g.parameter("y", .randomNormal(shape: [300, 257], using: &rng))
            let row = g.parameter("row", .randomNormal(shape: [257], using: &rng))
            let c = g.constant(.randomUniform(shape: [300, 1], in: -1..<1, using: &rng))
            let m = try maximum(x, row) * minimum(x, y)
            let w = try select(try relu(c), abs(x), square(y))
            let loss = try (m + clamp(x, min: -0.5, max: 0.5) + w).sum()
            return [m, w, loss] + (try g.gradients(of: loss, wrt: [x, y, row]))
        }
        #expect(check.bitwiseEqual)
        for k in 1..<check.split.count {
            let expected: Set<String> = ["where", "maximum_backward", "minimum_backward", "where_backward_true", "where_backward_false"]
            #expect(check.split[k].isSuperset(of: expected), "\(WorkerCountCheck.workerCounts[k]) workers split only \(check.split[k])")
        }
    }
}
