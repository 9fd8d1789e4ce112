import Foundation
import Testing
import Tensor

/// `conv2d` on NHWC images: a small case worked out by hand, random cases (stride, padding,
/// dilation, groups) against a plain-loop reference, finite differences of both gradients (and
/// of the gradients' own gradients), shape errors, graph files, and equal bits on 1, 2 and 3 workers.
@Suite struct ConvolutionTests {
    /// One convolution's settings.
    struct Config: CustomStringConvertible, Sendable {
        var x: [Int], filter: [Int], stride = [1, 1], padding = [0, 0], dilation = [1, 1], groups = 1
        var description: String { "x \(x) filter \(filter) stride \(stride) padding \(padding) dilation \(dilation) groups \(groups)" }

        func apply<S>(_ x: Node<S>, _ w: Node<S>) throws -> Node<S> {
            try conv2d(x, filter: w, stride: stride, padding: padding, dilation: dilation, groups: groups)
        }
    }

    static let configs: [Config] = [
        Config(x: [2, 5, 5, 2], filter: [3, 3, 2, 3], padding: [1, 1]),
        Config(x: [1, 6, 5, 3], filter: [3, 2, 3, 2], stride: [2, 1], padding: [1, 0]),
        Config(x: [2, 7, 7, 1], filter: [3, 3, 1, 2], stride: [2, 2], dilation: [2, 2]),
        Config(x: [1, 4, 5, 4], filter: [2, 3, 2, 6], padding: [1, 2], groups: 2),
        Config(x: [2, 4, 4, 3], filter: [3, 3, 1, 3], padding: [1, 1], groups: 3),        // depthwise
        Config(x: [2, 3, 4, 3], filter: [1, 1, 3, 4]),                                      // pointwise: one GEMM
        Config(x: [1, 5, 5, 2], filter: [1, 1, 2, 2], stride: [2, 2]),                      // 1x1 with stride
        Config(x: [2, 6, 5, 1], filter: [5, 3, 1, 4], padding: [2, 1]),                     // one input channel: transposed patches
        Config(x: [1, 4, 6, 1], filter: [3, 3, 1, 2], padding: [0, 2]),                     // one channel, padding wider than needed
        Config(x: [1, 7, 6, 3], filter: [2, 3, 3, 4], padding: [1, 1], dilation: [2, 1]),   // patches read in place, rows dilated
    ]

    /// `conv2d` in plain loops (Double), straight from its definition.
    static func reference(_ c: Config, _ x: [Double], _ w: [Double]) -> [Double] {
        let (n, h, wd, cin) = (c.x[0], c.x[1], c.x[2], c.x[3])
        let (kh, kw, cg, f) = (c.filter[0], c.filter[1], c.filter[2], c.filter[3])
        let oh = (h + 2 * c.padding[0] - c.dilation[0] * (kh - 1) - 1) / c.stride[0] + 1
        let ow = (wd + 2 * c.padding[1] - c.dilation[1] * (kw - 1) - 1) / c.stride[1] + 1
        let fg = f / c.groups
        var y = [Double](repeating: 0, count: n * oh * ow * f)
        for b in 0..<n { for i in 0..<oh { for j in 0..<ow { for o in 0..<f {
            let group = o / fg
            var total = 0.0
            for a in 0..<kh { for e in 0..<kw { for ci in 0..<cg {
                let r = i * c.stride[0] - c.padding[0] + a * c.dilation[0], s = j * c.stride[1] - c.padding[1] + e * c.dilation[1]
                guard r >= 0, r < h, s >= 0, s < wd else { continue }
                total += x[((b * h + r) * wd + s) * cin + group * cg + ci] * w[((a * kw + e) * cg + ci) * f + o]
            } } }
            y[((b * oh + i) * ow + j) * f + o] = total
        } } } }
        return y
    }

    @Test(arguments: configs)
    func matchesPlainLoops(_ c: Config) throws {
        var rng = SeededGenerator(seed: 17)
        let xv = Tensor<Double>.randomNormal(shape: c.x, using: &rng), wv = Tensor<Double>.randomNormal(shape: c.filter, using: &rng)
        let g = Graph<Double>()
        let y = try c.apply(g.constant(xv), g.constant(wv))
        let plan = try Plan(outputs: [y])
        try plan.run()
        let got = try plan.value(of: y).scalars, expected = Self.reference(c, xv.scalars, wv.scalars)
        #expect(got.count == expected.count)
        #expect(zip(got, expected).allSatisfy { Swift.abs($0 - $1) <= 1e-12 * (1 + Swift.abs($1)) }, "\(c)")
    }

    /// Float takes other paths than Double (vector copies of patch runs, the narrow GEMM tile, the
    /// direct kernels for one input channel):
    /// the forward pass and both gradients in Float against the same computation in Double, within
    /// Float's rounding of sums of a few hundred terms. The configs plus LeNet's second layer.
    @Test(arguments: configs + [Config(x: [2, 14, 14, 6], filter: [5, 5, 6, 16]),
                                Config(x: [1, 9, 11, 6], filter: [5, 5, 6, 16], stride: [2, 2], padding: [2, 1]),
                                Config(x: [3, 28, 28, 1], filter: [5, 5, 1, 6], padding: [2, 2]),      // LeNet's first layer
                                Config(x: [2, 9, 8, 1], filter: [3, 4, 1, 10], padding: [1, 2])])     // one channel, 10 outputs
    func floatMatchesDouble(_ c: Config) throws {
        var rng = SeededGenerator(seed: 23)
        let xv = Tensor<Double>.randomNormal(shape: c.x, using: &rng), wv = Tensor<Double>.randomNormal(shape: c.filter, using: &rng)
        func run<T: TensorScalar>(_: T.Type) throws -> [[Double]] {
            let g = Graph<T>()
            let x = g.parameter("x", Tensor<T>(shape: c.x, scalars: xv.scalars.map { T(Float($0)) }))
            let w = g.parameter("w", Tensor<T>(shape: c.filter, scalars: wv.scalars.map { T(Float($0)) }))
            let y = try c.apply(x, w)
            let r = g.constant(Tensor<T>(shape: y.shape, scalars: (0..<y.shape.reduce(1, *)).map { T(Float(($0 % 7) - 3) / 3) }))
            let grads = try g.gradients(of: (y * r).sum(), wrt: [x, w])
            let plan = try Plan(outputs: [y] + grads)
            try plan.run()
            return try ([y] + grads).map { try plan.value(of: $0).scalars.map { Double($0) } }
        }
        let single = try run(Float.self), double = try run(Double.self)
        for (name, (a, b)) in zip(["y", "dx", "dw"], zip(single, double)) {
            let scale = b.map(Swift.abs).max() ?? 1
            let worst = zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
            #expect(worst <= 1e-5 * Swift.max(1, scale), "\(c): \(name) differs by \(worst) (largest value \(scale))")
        }
    }

    @Test(arguments: configs)
    func gradientsMatchFiniteDifferences(_ c: Config) throws {
        let problems = try GradientCheck.run { g, r in
            let x = g.random(c.x, &r), w = g.random(c.filter, &r)
            return (try c.apply(x, w), [x, w])
        }
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test(arguments: [configs[1], configs[3], configs[5]])
    func secondDerivativesMatchFiniteDifferences(_ c: Config) throws {
        // The gradients are linear in each argument; this differentiates both of them again.
        let problems = try GradientCheck.run { g, r in
            let x = g.random(c.x, &r), w = g.random(c.filter, &r)
            let y = try c.apply(x, w)
            let grads = try g.gradients(of: (y * y * g.random(y.shape, &r)).sum(), wrt: [x, w])
            return (try grads[0].sum() * grads[1], [x, w])
        }
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }

    @Test func smallCaseByHand() throws {
        // x = 1...9 as a 3x3 image, filter [[1, 2], [3, 4]].
        let g = Graph<Double>()
        let x = g.parameter("x", Tensor(shape: [1, 3, 3, 1], scalars: (1...9).map(Double.init)))
        let w = g.parameter("w", Tensor(shape: [2, 2, 1, 1], scalars: [1, 2, 3, 4]))
        let y = try conv2d(x, filter: w)
        let padded = try conv2d(x, filter: w, stride: [2, 2], padding: [1, 1])
        let grads = try g.gradients(of: y.sum(), wrt: [x, w])
        let plan = try Plan(outputs: [y, padded] + grads)
        try plan.run()
        #expect(try plan.value(of: y).scalars == [37, 47, 67, 77])          // 1·1 + 2·2 + 3·4 + 4·5, ...
        // Windows at rows -1...0 and 1...2 (likewise columns): only the in-bounds taps count.
        #expect(try plan.value(of: padded).scalars == [4, 18, 36, 77])       // 1·4; 2·3 + 3·4; 4·2 + 7·4; 5 + 12 + 24 + 36
        // dx: the sum of the weights whose windows cover each pixel; dW: the sum of the pixels each weight sees.
        #expect(try plan.value(of: grads[0]).scalars == [1, 3, 2, 4, 10, 6, 3, 7, 4])
        #expect(try plan.value(of: grads[1]).scalars == [12, 16, 24, 28])
    }

    @Test func shapeErrorsNameOperationShapesAndLine() throws {
        func message(_ body: () throws -> Void) -> String {
            do { try body() } catch { return "\(error)" }
            return "no error"
        }
        let g = Graph<Float>()
        let x = g.placeholder("x", shape: [2, 5, 5, 4])
        let w = g.placeholder("w", shape: [3, 3, 3, 8]), w4 = g.placeholder("w4", shape: [3, 3, 2, 6])
        let line = #line + 1
        let m = message { _ = try conv2d(x, filter: w) }
        #expect(m.contains("conv2d([2, 5, 5, 4], [3, 3, 3, 8]) at TensorTests/ConvolutionTests.swift:\(line)"))
        #expect(m.contains("filter [3, 3, 3, 8] expects 3 input channels per group, the input gives 4"))
        #expect(message { _ = try conv2d(x, filter: w4, groups: 3) }.contains("3 groups must divide the input channels 4 and the filters 6"))
        #expect(message { _ = try conv2d(x, filter: w4, dilation: [3, 1], groups: 2) }.contains("a window of 7 does not fit height 5 with padding 0"))
        #expect(message { _ = try conv2d(x, filter: w4, stride: [0, 1], groups: 2) }.contains("must be positive"))
        #expect(message { _ = try conv2d(w, filter: g.placeholder("v", shape: [3, 3])) }.contains("expects NHWC input"))
    }

    @Test func graphFilesRoundTrip() throws {
        let g = Graph<Float>()
        var rng = SeededGenerator(seed: 19)
        let x = g.parameter("x", .randomNormal(shape: [2, 7, 6, 4], using: &rng))
        let w1 = g.parameter("w1", .randomNormal(shape: [3, 3, 2, 6], standardDeviation: 0.3, using: &rng))
        let w2 = g.parameter("w2", .randomNormal(shape: [1, 1, 6, 3], standardDeviation: 0.3, using: &rng))
        let h = try relu(conv2d(x, filter: w1, stride: [2, 1], padding: [1, 1], dilation: [1, 2], groups: 2))
        let y = try conv2d(h, filter: w2)
        #expect(try GraphFileRoundTrip.matches([("y", y)], loss: y.sum()))
    }

    @Test func bitwiseEqualOnOneTwoAndThreeWorkers() throws {
        let check = try WorkerCountCheck { (g: Graph<Float>) in
            var rng = SeededGenerator(seed: 23)
            let x = g.parameter("x", .randomNormal(shape: [8, 28, 28, 16], using: &rng))
            let w1 = g.parameter("w1", .randomNormal(shape: [3, 3, 16, 32], standardDeviation: 0.1, using: &rng))
            let w2 = g.parameter("w2", .randomNormal(shape: [1, 1, 32, 24], standardDeviation: 0.1, using: &rng))
            let w3 = g.parameter("w3", .randomNormal(shape: [3, 3, 6, 8], standardDeviation: 0.1, using: &rng))
            let h = try tanh(conv2d(x, filter: w1, padding: [1, 1]))
            let p = try conv2d(h, filter: w2)                                          // pointwise
            let q = try conv2d(p, filter: w3, stride: [2, 2], padding: [1, 1], groups: 4) // strided, grouped
            let gray = g.parameter("gray", .randomNormal(shape: [16, 28, 28, 1], using: &rng))
            let w0 = g.parameter("w0", .randomNormal(shape: [5, 5, 1, 6], standardDeviation: 0.1, using: &rng))
            let r = try conv2d(gray, filter: w0, padding: [2, 2])                      // one input channel
            let loss = try (q * q).sum() + (r * r).sum()
            return [h, p, q, r, loss] + (try g.gradients(of: loss, wrt: [x, w1, w2, w3, gray, w0]))
        }
        #expect(check.bitwiseEqual)
        for k in 1..<check.split.count {
            let expected: Set<String> = ["conv2d", "conv2d_backward_input", "conv2d_backward_filter"]
            #expect(check.split[k].isSuperset(of: expected), "\(WorkerCountCheck.workerCounts[k]) workers split only \(check.split[k])")
        }
    }
}
