import Tensor

/// Central-difference gradient checking in Double: builds `loss = sum(output * R)` with a random
/// upstream `R` (not ones), differentiates it, and compares each analytic gradient element with
/// `(loss(x + eps) - loss(x - eps)) / 2 eps`.
struct GradientCheck {
    static let eps = 1e-6, atol = 1e-5, rtol = 1e-3

    /// Mismatches as readable lines (empty when every element agrees).
    static func run(seed: UInt64 = 1,
                    _ build: (Graph<Double>, inout SeededGenerator) throws -> (output: Node<Double>, wrt: [Node<Double>])) throws -> [String] {
        var rng = SeededGenerator(seed: seed)
        let g = Graph<Double>()
        let (output, wrt) = try build(g, &rng)
        let upstream = g.constant(.randomUniform(shape: output.shape, in: -1..<1, using: &rng))
        let loss = try (output * upstream).sum()
        let grads = try g.gradients(of: loss, wrt: wrt)
        let plan = try Plan(outputs: [loss] + grads)
        try plan.run()
        let analytic = try grads.map { try plan.value(of: $0) }
        var problems: [String] = []
        for (k, node) in wrt.enumerated() {
            let base = try g.value(of: node)
            for i in 0..<base.count {
                var plus = base.reshaped([base.count]), minus = plus
                plus[i] += eps
                minus[i] -= eps
                try g.setValue(plus.reshaped(base.shape), of: node)
                try plan.run()
                let lp = try plan.value(of: loss).scalar
                try g.setValue(minus.reshaped(base.shape), of: node)
                try plan.run()
                let lm = try plan.value(of: loss).scalar
                let numeric = (lp - lm) / (2 * eps)
                let got = analytic[k].scalars[i]
                if !(abs(got - numeric) <= atol + rtol * abs(numeric)) {
                    problems.append("input \(k) element \(i): analytic \(got) vs numeric \(numeric)")
                }
            }
            try g.setValue(base, of: node)
        }
        return problems
    }
}

extension Graph where Scalar == Double {
    /// A parameter with uniform random values in `range`.
    func random(_ shape: [Int], _ rng: inout SeededGenerator, in range: Range<Double> = -1..<1) -> Node<Double> {
        parameter("p\(nodeCount)", .randomUniform(shape: shape, in: range, using: &rng))
    }
}
