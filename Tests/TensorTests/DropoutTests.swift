import Foundation
import Testing
import Kernels
import Tensor

/// `dropout`: the mask follows the documented counter-based draw (recomputed here from its
/// formula), depends on seed and step only, is off for a negative step, is reused by the gradient,
/// and is the same on 1, 2 and 3 workers.
@Suite struct DropoutTests {
    /// The documented draw, written out independently of the kernel.
    static func kept(_ i: Int, rate: Double, seed: UInt64, step: UInt64) -> Bool {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15
        let base = mix(seed ^ mix(step &+ gamma))
        return Double(mix(base &+ UInt64(i) &* gamma) >> 11) * 0x1p-53 >= rate
    }

    static let gradientCases: [GradCase] = [
        GradCase("dropout at step 3") { g, r in
            let x = g.random([4, 5], &r)
            return (try dropout(x, rate: 0.4, seed: 9, step: g.scalar(3)), [x])
        },
        GradCase("dropout turned off") { g, r in
            let x = g.random([3, 2], &r)
            return (try dropout(x, rate: 0.4, seed: 9, step: g.scalar(-1)) * x, [x])
        },
    ]

    @Test(arguments: gradientCases)
    func matchesFiniteDifferences(_ c: GradCase) throws {
        let problems = try GradientCheck.run(c.build)
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test func maskFollowsTheDocumentedDrawAndTheGradientReusesIt() throws {
        let g = Graph<Double>()
        let values = (0..<64).map { Double($0) - 20.5 }
        let x = g.parameter("x", Tensor(shape: [8, 8], scalars: values))
        let step = g.placeholder("step", shape: [])
        let y = try dropout(x, rate: 0.25, seed: 1234, step: step)
        let dx = try g.gradients(of: y.sum(), wrt: [x])[0]
        let plan = try Plan(outputs: [y, dx])
        for s in [0, 1, 77] {
            try plan.run(feeds: [step: Tensor(scalar: Double(s))])
            let kept = (0..<64).map { Self.kept($0, rate: 0.25, seed: 1234, step: UInt64(s)) }
            #expect(kept.contains(false) && kept.contains(true))
            #expect(try plan.value(of: y).scalars == (0..<64).map { kept[$0] ? values[$0] * (1 / 0.75) : 0 }, "step \(s)")
            #expect(try plan.value(of: dx).scalars == kept.map { $0 ? 1 / 0.75 : 0 }, "step \(s)")
        }
        // Kernel and graph agree with the public mask query.
        #expect((0..<64).allSatisfy { Dropout.keeps(index: $0, rate: 0.25, seed: 1234, step: 77) == Self.kept($0, rate: 0.25, seed: 1234, step: 77) })
        try plan.run(feeds: [step: Tensor(scalar: -1)])        // evaluation: identity
        #expect(try plan.value(of: y).scalars == values)
        #expect(try plan.value(of: dx).scalars == [Double](repeating: 1, count: 64))
    }

    @Test func masksDifferAcrossStepsAndSeedsAndDropTheRateOnAverage() throws {
        let g = Graph<Float>()
        let x = g.constant(.ones(shape: [100_000]))
        let step = g.placeholder("step", shape: [1])
        let a = try dropout(x, rate: 0.3, seed: 5, step: step), b = try dropout(x, rate: 0.3, seed: 6, step: step)
        let plan = try Plan(outputs: [a, b])
        try plan.run(feeds: [step: Tensor([10])])
        let a10 = try plan.value(of: a).scalars, b10 = try plan.value(of: b).scalars
        try plan.run(feeds: [step: Tensor([11])])
        let a11 = try plan.value(of: a).scalars
        try plan.run(feeds: [step: Tensor([10])])
        #expect(try plan.value(of: a).scalars == a10)           // same seed and step: same mask
        #expect(a10 != a11 && a10 != b10)
        let dropped = Double(a10.filter { $0 == 0 }.count) / 1e5
        #expect(abs(dropped - 0.3) < 0.01, "dropped \(dropped)")
        #expect(Set(a10) == [0, Float(1 / (1 - 0.3))])
    }

    @Test func errorsNameOperationShapesAndLine() throws {
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [2, 3]), step = g.placeholder("step", shape: [])
        var m = ""
        do { _ = try dropout(x, rate: 1, seed: 0, step: step) } catch { m = "\(error)" }
        #expect(m.contains("dropout([2, 3], [])") && m.contains("rate 1.0 must be in [0, 1)"))
        do { _ = try dropout(x, rate: 0.5, seed: 0, step: x) } catch { m = "\(error)" }
        #expect(m.contains("step must be one value (the step) or two (the step and the batch's first row), got shape [2, 3]"), "\(m)")
        let line = #line + 1
        let y = try dropout(x, rate: 0.5, seed: 0, step: step)
        let plan = try Plan(outputs: [y])
        do { try plan.run(feeds: [x: .ones(shape: [2, 3]), step: Tensor(scalar: 1.5)]); m = "no error" } catch { m = "\(error)" }
        #expect(m.contains("dropout([2, 3], []) at TensorTests/DropoutTests.swift:\(line): step 1.5 is not an integer"), "\(m)")
        try plan.run(feeds: [step: Tensor(scalar: 2)])
        let pair = g.placeholder("pair", shape: [2])
        let part = try Plan(outputs: [try dropout(x, rate: 0.5, seed: 0, step: pair)])
        do { try part.run(feeds: [x: .ones(shape: [2, 3]), pair: Tensor([1, -2])]); m = "no error" } catch { m = "\(error)" }
        #expect(m.contains("first row -2.0 is not a non-negative integer"), "\(m)")
    }

    /// Note [Dropout of a part of the batch]: rows [a, b) of a batch, dropped with the step and a
    /// as the first row, get the masks the whole batch gets on those rows (and their gradient too),
    /// so data-parallel ranks draw what one process draws; first row 0 is the one-value step.
    @Test func aPartOfTheBatchGetsTheWholeBatchsMasks() throws {
        let rows = 10, width = 7
        let g = Graph<Double>()
        let values = (0..<(rows * width)).map { Double($0) * 0.5 - 11 }
        let whole = g.parameter("whole", Tensor(shape: [rows, width], scalars: values))
        let step = g.placeholder("step", shape: [])
        let y = try dropout(whole, rate: 0.4, seed: 31, step: step)
        let full = try Plan(outputs: [y])
        try full.run(feeds: [step: Tensor(scalar: 5)])
        let expected = try full.value(of: y).scalars
        for (a, b) in [(0, 4), (4, 10), (3, 7)] {
            let part = g.parameter("part\(a)", Tensor(shape: [b - a, width], scalars: Array(values[(a * width)..<(b * width)])))
            let pair = g.placeholder("pair\(a)", shape: [2])
            let z = try dropout(part, rate: 0.4, seed: 31, step: pair)
            let dz = try g.gradients(of: z.sum(), wrt: [part])[0]
            let plan = try Plan(outputs: [z, dz])
            try plan.run(feeds: [pair: Tensor([5, Double(a)])])
            #expect(try plan.value(of: z).scalars == Array(expected[(a * width)..<(b * width)]), "rows \(a)..<\(b)")
            let kept = (a * width..<(b * width)).map { Self.kept($0, rate: 0.4, seed: 31, step: 5) }
            #expect(try plan.value(of: dz).scalars == kept.map { $0 ? 1 / 0.6 : 0 }, "rows \(a)..<\(b)")
        }
    }

    @Test func graphFilesRoundTrip() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 2)
        let x = g.parameter("x", .randomNormal(shape: [6, 7], using: &rng))
        let step = g.placeholder("step", shape: [])
        let y = try dropout(tanh(x), rate: 0.5, seed: -3, step: step)
        #expect(try GraphFileRoundTrip.matches([("y", y)], loss: y.sum()) { [$0.placeholders["step"]!: Tensor(scalar: 4)] })
    }

    @Test func bitwiseEqualOnOneTwoAndThreeWorkers() throws {
        let check = try WorkerCountCheck { (g: Graph<Float>) in
            var rng = SeededGenerator(seed: 21)
            let x = g.parameter("x", .randomNormal(shape: [512, 300], using: &rng))
            let y = try dropout(x, rate: 0.2, seed: 99, step: g.scalar(12345))
            return [y, try g.gradients(of: (y * y).sum(), wrt: [x])[0]]
        }
        #expect(check.bitwiseEqual)
        for k in 1..<check.split.count {
            #expect(check.split[k].contains("dropout"), "\(WorkerCountCheck.workerCounts[k]) workers split only \(check.split[k])")
        }
    }
}
