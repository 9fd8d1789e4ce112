import Testing
import Tensor

/// One case of the gradient check: a name and a builder of (output, inputs to differentiate).
struct GradCase: CustomStringConvertible, Sendable {
    let description: String
    let build: @Sendable (Graph<Double>, inout SeededGenerator) throws -> (Node<Double>, [Node<Double>])
    init(_ name: String, _ build: @escaping @Sendable (Graph<Double>, inout SeededGenerator) throws -> (Node<Double>, [Node<Double>])) {
        description = name
        self.build = build
    }
}

private func binaryCases() -> [GradCase] {
    let shapes: [([Int], [Int])] = [
        ([2, 3], [2, 3]),          // same shape
        ([2, 3], [3]),             // row vector over rows
        ([2, 3], [2, 1]),          // column over columns
        ([2, 1, 3], [4, 1]),       // both stretch
        ([2, 3], []),              // scalar right
        ([], [3, 2]),              // scalar left
    ]
    var cases: [GradCase] = []
    for (a, b) in shapes {
        cases.append(GradCase("add \(a) \(b)") { g, r in let x = g.random(a, &r), y = g.random(b, &r); return (try x + y, [x, y]) })
        cases.append(GradCase("sub \(a) \(b)") { g, r in let x = g.random(a, &r), y = g.random(b, &r); return (try x - y, [x, y]) })
        cases.append(GradCase("mul \(a) \(b)") { g, r in let x = g.random(a, &r), y = g.random(b, &r); return (try x * y, [x, y]) })
        cases.append(GradCase("div \(a) \(b)") { g, r in
            let x = g.random(a, &r), y = g.random(b, &r, in: 0.5..<2); return (try x / y, [x, y])
        })
    }
    return cases
}

private func unaryCases() -> [GradCase] {
    [
        GradCase("neg") { g, r in let x = g.random([2, 3], &r); return (try -x, [x]) },
        GradCase("exp") { g, r in let x = g.random([2, 3], &r); return (try exp(x), [x]) },
        GradCase("log") { g, r in let x = g.random([2, 3], &r, in: 0.5..<2); return (try log(x), [x]) },
        GradCase("sqrt") { g, r in let x = g.random([2, 3], &r, in: 0.5..<2); return (try sqrt(x), [x]) },
        GradCase("pow 3") { g, r in let x = g.random([2, 3], &r); return (try pow(x, 3), [x]) },
        GradCase("pow -1.5") { g, r in let x = g.random([2, 3], &r, in: 0.5..<2); return (try pow(x, -1.5), [x]) },
        GradCase("tanh") { g, r in let x = g.random([2, 3], &r); return (try tanh(x), [x]) },
        GradCase("sigmoid") { g, r in let x = g.random([2, 3], &r, in: -3..<3); return (try sigmoid(x), [x]) },
        GradCase("relu") { g, r in
            let x = g.parameter("x", Tensor(shape: [2, 3], scalars: [-1, 0.5, -0.3, 2, 0.7, -0.1])); return (try relu(x), [x])
        },
        GradCase("gelu") { g, r in let x = g.random([2, 3], &r, in: -3..<3); return (try gelu(x), [x]) },
        GradCase("scale and shift") { g, r in let x = g.random([2, 3], &r); return (try x * 2.5 + 1, [x]) },
        GradCase("scalar over node") { g, r in let x = g.random([3], &r, in: 0.5..<2); return (try 3 / x - 1, [x]) },
    ]
}

private func linearAlgebraCases() -> [GradCase] {
    var cases: [GradCase] = []
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        cases.append(GradCase("matmul tA=\(ta) tB=\(tb)") { g, r in
            let a = g.random(ta ? [4, 3] : [3, 4], &r), b = g.random(tb ? [2, 4] : [4, 2], &r)
            return (try a.matmul(b, transposeSelf: ta, transposeOther: tb), [a, b])
        })
    }
    cases.append(GradCase("matmul batched") { g, r in
        let a = g.random([2, 3, 4], &r), b = g.random([2, 4, 2], &r); return (try a.matmul(b), [a, b])
    })
    cases.append(GradCase("matmul batched with shared right matrix") { g, r in
        let a = g.random([2, 3, 4], &r), b = g.random([4, 2], &r); return (try a.matmul(b), [a, b])
    })
    // Stacked rows times one shared matrix: one GEMM forward, the shared matrix's gradient one
    // product over every row of the stack (transposed or not, three stacked dimensions too).
    cases.append(GradCase("matmul stacked rows by a shared transposed matrix") { g, r in
        let a = g.random([2, 3, 4], &r), b = g.random([5, 4], &r); return (try a.matmul(b, transposeOther: true), [a, b])
    })
    cases.append(GradCase("matmul rank-4 stack by a shared matrix, with bias and tanh") { g, r in
        let a = g.random([2, 2, 3, 4], &r), b = g.random([4, 3], &r), c = g.random([3], &r)
        return (try tanh(a.matmul(b) + c), [a, b, c])
    })
    cases.append(GradCase("matmul shared left matrix, transposed") { g, r in
        let a = g.random([4, 3], &r), b = g.random([2, 4, 2], &r)
        return (try a.matmul(b, transposeSelf: true), [a, b])
    })
    return cases
}

private func shapeCases() -> [GradCase] {
    [
        GradCase("transpose default") { g, r in let x = g.random([3, 4], &r); return (try x.transposed(), [x]) },
        GradCase("transpose 3-d") { g, r in let x = g.random([2, 3, 4], &r); return (try x.transposed([2, 0, 1]), [x]) },
        GradCase("reshape") { g, r in let x = g.random([2, 6], &r); return (try x.reshaped([3, 2, 2]) * 2, [x]) },
        GradCase("broadcast_to") { g, r in let x = g.random([3, 1], &r); return (try x.broadcast(to: [2, 3, 4]), [x]) },
        GradCase("concat axis 0") { g, r in
            let a = g.random([2, 3], &r), b = g.random([1, 3], &r); return (try concat([a, b], axis: 0), [a, b])
        },
        GradCase("concat axis 1") { g, r in
            let a = g.random([2, 3], &r), b = g.random([2, 2], &r); return (try concat([a, b, a], axis: 1), [a, b])
        },
        GradCase("slice") { g, r in let x = g.random([3, 5], &r); return (try x.slice(axis: 1, 1..<4), [x]) },
        GradCase("split") { g, r in
            let x = g.random([4, 3], &r)
            let parts = try x.split(axis: 0, sizes: [1, 3])
            return (try parts[1].sum(axes: [0]) * parts[0].reshaped([3]), [x])
        },
    ]
}

private func reductionCases() -> [GradCase] {
    let axisSets: [[Int]] = [[0], [1], [2], [0, 1], [0, 2], [1, 2], [0, 1, 2]]
    var cases: [GradCase] = []
    for axes in axisSets {
        for keep in [false, true] {
            cases.append(GradCase("sum \(axes) keep=\(keep)") { g, r in let x = g.random([2, 3, 4], &r); return (try x.sum(axes: axes, keepDims: keep), [x]) })
            cases.append(GradCase("mean \(axes) keep=\(keep)") { g, r in let x = g.random([2, 3, 4], &r); return (try x.mean(axes: axes, keepDims: keep), [x]) })
            cases.append(GradCase("max \(axes) keep=\(keep)") { g, r in let x = g.random([2, 3, 4], &r); return (try x.max(axes: axes, keepDims: keep), [x]) })
        }
    }
    for axis in 0..<2 {
        cases.append(GradCase("softmax axis \(axis)") { g, r in let x = g.random([3, 4], &r); return (try softmax(x, axis: axis), [x]) })
        cases.append(GradCase("log_softmax axis \(axis)") { g, r in let x = g.random([3, 4], &r); return (try logSoftmax(x, axis: axis), [x]) })
    }
    return cases
}

private func lossCases() -> [GradCase] {
    [
        GradCase("mse") { g, r in let a = g.random([3, 2], &r), b = g.random([3, 2], &r); return (try meanSquaredError(a, b), [a, b]) },
        GradCase("bce with logits") { g, r in
            let z = g.random([4, 2], &r, in: -4..<4), t = g.random([4, 2], &r, in: 0..<1)
            return (try binaryCrossEntropyWithLogits(z, t), [z, t])
        },
        GradCase("softmax cross-entropy") { g, r in
            let z = g.random([4, 3], &r, in: -2..<2)
            let labels = g.constant(Tensor([2, 0, 1, 2]))
            return (try softmaxCrossEntropy(logits: z, labels: labels), [z])
        },
        GradCase("node with several consumers") { g, r in
            let x = g.random([2, 3], &r), w = g.random([3, 3], &r)
            let h = try tanh(x)
            let y = try h.matmul(w) * h + exp(h) - h.sum(axes: [1], keepDims: true)
            return (y, [x, w])
        },
    ]
}

private func secondOrderCases() -> [GradCase] {
    [
        GradCase("second derivative of tanh") { g, r in
            let x = g.random([2, 3], &r)
            let weights = g.constant(.randomUniform(shape: [2, 3], in: -1..<1, using: &r))
            let first = try g.gradients(of: (tanh(x) * weights).sum(), wrt: [x])[0]
            return (first, [x])
        },
        GradCase("second derivative of mul chain") { g, r in
            let x = g.random([3], &r), y = g.random([3], &r)
            let f = try (x * x * y * x).sum()
            let dx = try g.gradients(of: f, wrt: [x])[0]
            return (try dx * y, [x, y])
        },
        GradCase("second derivative of matmul chain") { g, r in
            let a = g.random([2, 3], &r), b = g.random([3, 2], &r), c = g.random([2, 2], &r)
            let f = try tanh(a.matmul(b)).matmul(c).sum()
            let grads = try g.gradients(of: f, wrt: [a, b])
            return (try grads[0].sum(axes: [1]) + grads[1].sum(axes: [0, 1]), [a, b, c])
        },
        GradCase("second derivative of sigmoid") { g, r in
            let x = g.random([4], &r)
            return (try g.gradients(of: sigmoid(x).sum(), wrt: [x])[0], [x])
        },
    ]
}

@Suite struct GradientTests {
    static let cases = binaryCases() + unaryCases() + linearAlgebraCases() + shapeCases() + reductionCases() + lossCases() + secondOrderCases()

    @Test(arguments: cases)
    func matchesFiniteDifferences(_ c: GradCase) throws {
        let problems = try GradientCheck.run(c.build)
        #expect(problems.isEmpty, "\(c): \(problems.prefix(4).joined(separator: "; "))")
    }
}
