/// Every gradient rule in one place: for each operation, its vector-Jacobian product written as graph
/// operations, so gradients are ordinary nodes (they run in plans and can be differentiated again).
///
/// `vjp` gets the node `y = op(x0, x1, ...)` and the node `g` holding dLoss/dy, and returns one
/// contribution dLoss/dxi per input (nil: no gradient flows there: labels, or zero almost everywhere).
/// Broadcasting inputs get their contribution summed back to their own shape (`unbroadcast`).
/// An operation without a rule throws, naming it (today: the derivative helpers `gelu_backward`,
/// `max_backward`, `softmax_cross_entropy_backward`, the two `layer_norm` backward helpers and
/// `max_pool2d_backward`, so
/// higher-order gradients through them are refused rather than wrong).
extension Graph {
    func vjp(of y: Int, upstream g: Int) throws(GraphError) -> [Int?] {
        let r = records[y]
        let at = r.location
        let x = r.inputs
        func op(_ o: Operation, _ inputs: Int...) throws(GraphError) -> Int { try apply(o, ids: inputs, at) }
        func shape(_ n: Int) -> [Int] { records[n].shape }
        /// Sums a broadcast result's gradient back to the shape of input `n`.
        func unbroadcast(_ grad: Int, to n: Int) throws(GraphError) -> Int {
            let from = shape(grad), to = shape(n)
            if from == to { return grad }
            let lead = from.count - to.count
            var axes = Array(0..<lead)
            for d in 0..<to.count where to[d] == 1 && from[d + lead] != 1 { axes.append(d + lead) }
            let summed = axes.isEmpty ? grad : try op(.sum(axes: axes, keepDims: true), grad)
            return shape(summed) == to ? summed : try op(.reshape(shape: to), summed)
        }

        switch r.operation {
        case .placeholder, .parameter, .constant:
            return []

        // Elementwise
        case .add:
            return [try unbroadcast(g, to: x[0]), try unbroadcast(g, to: x[1])]
        case .sub:
            return [try unbroadcast(g, to: x[0]), try unbroadcast(op(.neg, g), to: x[1])]
        case .mul:
            return [try unbroadcast(op(.mul, g, x[1]), to: x[0]), try unbroadcast(op(.mul, g, x[0]), to: x[1])]
        case .div:   // d(a/b) = g/b, -g·y/b
            let ga = try op(.div, g, x[1])
            let gb = try op(.neg, op(.mul, ga, y))
            return [try unbroadcast(ga, to: x[0]), try unbroadcast(gb, to: x[1])]
        case .neg:
            return [try op(.neg, g)]
        case .exp:
            return [try op(.mul, g, y)]
        case .log:
            return [try op(.div, g, x[0])]
        case .sqrt:
            return [try op(.div, op(.scale(0.5), g), y)]
        case let .pow(p):
            return [try op(.mul, g, op(.scale(p), op(.pow(p - 1), x[0])))]
        case let .scale(c):
            return [try op(.scale(c), g)]
        case .shift:
            return [g]
        case .tanh:
            return [try op(.tanhBackward, y, g)]
        case .sigmoid:
            return [try op(.sigmoidBackward, y, g)]
        case .relu:
            return [try op(.reluBackward, x[0], g)]
        case .gelu:
            return [try op(.geluBackward, x[0], g)]
        case .abs:
            return [try op(.absBackward, x[0], g)]
        case .square:   // 2x·g
            return [try op(.mul, g, op(.scale(2), x[0]))]
        case let .clamp(lo, hi):
            return [try op(.clampBackward(min: lo, max: hi), x[0], g)]
        case .minimum, .maximum:   // g to the input that is the result (shared at ties)
            let rule = Operation.extremumBackward(maximum: r.operation == .maximum)
            return [try unbroadcast(op(rule, x[0], x[1], g), to: x[0]), try unbroadcast(op(rule, x[1], x[0], g), to: x[1])]
        case .select:   // g to the branch taken; the condition is piecewise constant
            return [nil, try unbroadcast(op(.selectBackward(whenTrue: true), x[0], g), to: x[1]),
                    try unbroadcast(op(.selectBackward(whenTrue: false), x[0], g), to: x[2])]

        // Linear algebra: C = op(A) op(B); batched contributions to a shared matrix sum over batches.
        case let .matmul(ta, tb):
            let a = x[0], b = x[1]
            let da: Int, db: Int
            switch (ta, tb) {
            case (false, false):
                da = try op(.matmul(transposeA: false, transposeB: true), g, b)
                db = try op(.matmul(transposeA: true, transposeB: false), a, g)
            case (true, false):
                da = try op(.matmul(transposeA: false, transposeB: true), b, g)
                db = try op(.matmul(transposeA: false, transposeB: false), a, g)
            case (false, true):
                da = try op(.matmul(transposeA: false, transposeB: false), g, b)
                db = try op(.matmul(transposeA: true, transposeB: false), g, a)
            case (true, true):
                da = try op(.matmul(transposeA: true, transposeB: true), b, g)
                db = try op(.matmul(transposeA: true, transposeB: true), g, a)
            }
            func fold(_ d: Int, _ n: Int) throws(GraphError) -> Int {
                let extra = shape(d).count - shape(n).count
                return extra > 0 ? try op(.sum(axes: Array(0..<extra), keepDims: false), d) : d
            }
            return [try fold(da, a), try fold(db, b)]

        // Shapes
        case let .transpose(p):
            var inverse = [Int](repeating: 0, count: p.count)
            for (i, s) in p.enumerated() { inverse[s] = i }
            return [try op(.transpose(permutation: inverse), g)]
        case .reshape:
            return [try op(.reshape(shape: shape(x[0])), g)]
        case .broadcastTo:
            return [try unbroadcast(g, to: x[0])]
        case let .concat(axis):
            var start = 0
            var out: [Int?] = []
            for n in x {
                let len = shape(n)[axis]
                out.append(try op(.slice(axis: axis, range: start..<(start + len)), g))
                start += len
            }
            return out
        case let .slice(axis, range):
            return [try op(.pad(axis: axis, range: range, size: shape(x[0])[axis]), g)]
        case let .pad(axis, range, _):
            return [try op(.slice(axis: axis, range: range), g)]

        // Lookups: rows gathered forward, scattered back (indices are piecewise constant)
        case .embedding:
            return [try op(.embeddingBackward(rows: shape(x[0])[0]), x[1], g), nil]
        case .embeddingBackward:   // linear in g: its adjoint is the lookup again
            return [nil, try op(.embedding, g, x[0])]

        // Reductions
        case let .sum(axes, keep), let .mean(axes, keep):
            let kept = Operation.reduced(shape(x[0]), axes: axes, keepDims: true)
            var d = keep ? g : try op(.reshape(shape: kept), g)
            if case .mean = r.operation {
                let n = axes.reduce(1) { $0 * shape(x[0])[$1] }
                d = try op(.scale(1 / Double(n)), d)
            }
            return [try op(.broadcastTo(shape: shape(x[0])), d)]
        case let .max(axes, keep):
            let kept = Operation.reduced(shape(x[0]), axes: axes, keepDims: true)
            let yk = keep ? y : try op(.reshape(shape: kept), y)
            let gk = keep ? g : try op(.reshape(shape: kept), g)
            return [try op(.maxBackward(axes: axes), x[0], yk, gk)]
        case let .softmax(axis):   // y (g - sum(g y))
            let s = try op(.sum(axes: [axis], keepDims: true), op(.mul, g, y))
            return [try op(.mul, y, op(.sub, g, s))]
        case let .logSoftmax(axis):   // g - e^y sum(g)
            let s = try op(.sum(axes: [axis], keepDims: true), g)
            return [try op(.sub, g, op(.mul, op(.exp, y), s))]

        // Images
        case let .maxPool2d(k, st, p):
            return [try op(.maxPool2dBackward(kernel: k, stride: st, padding: p), x[0], g)]
        case let .avgPool2d(k, st, p):
            let s = shape(x[0])
            return [try op(.avgPool2dBackward(kernel: k, stride: st, padding: p, inputSize: [s[1], s[2]]), g)]
        case let .avgPool2dBackward(k, st, p, _):   // linear: its adjoint is the pooling
            return [try op(.avgPool2d(kernel: k, stride: st, padding: p), g)]

        // Normalization: dx and dgamma by fused helpers, dbeta is g summed over the rows
        case let .layerNorm(eps):
            let rows = Array(0..<(shape(x[0]).count - 1))
            return [try op(.layerNormBackward(epsilon: eps), x[0], x[1], g),
                    try op(.layerNormGammaBackward(epsilon: eps), x[0], g),
                    rows.isEmpty ? g : try op(.sum(axes: rows, keepDims: false), g)]

        // Regularization: the same mask (same seed, step and element indices) scales g
        case .dropout:
            return [try op(r.operation, g, x[1]), nil]

        // Losses (g is a scalar; it broadcasts)
        case .meanSquaredError:
            let d = try op(.mul, op(.sub, x[0], x[1]), g)
            let ga = try op(.scale(2 / Double(shape(x[0]).reduce(1, *))), d)
            return [ga, try op(.neg, ga)]
        case .binaryCrossEntropyWithLogits:
            let n = Double(shape(x[0]).reduce(1, *))
            let gz = try op(.scale(1 / n), op(.mul, op(.sub, op(.sigmoid, x[0]), x[1]), g))
            let gt = try op(.scale(-1 / n), op(.mul, x[0], g))
            return [gz, gt]
        case .softmaxCrossEntropy:
            return [try op(.softmaxCrossEntropyBackward, x[0], x[1], g), nil]

        // Derivative helpers, so second derivatives of the common activations work
        case .reluBackward:   // g·[x > 0]: zero almost everywhere in x
            return [nil, try op(.reluBackward, x[0], g)]
        case .tanhBackward:   // d/dy of gt·(1 - y²) = -2 y gt g
            let gy = try op(.mul, op(.mul, g, x[1]), op(.scale(-2), x[0]))
            return [gy, try op(.tanhBackward, x[0], g)]
        case .sigmoidBackward:   // d/dy of gs·y(1 - y) = gs (1 - 2y) g
            let gy = try op(.mul, op(.mul, g, x[1]), op(.shift(1), op(.scale(-2), x[0])))
            return [gy, try op(.sigmoidBackward, x[0], g)]
        case .absBackward:   // g·sign(x): zero almost everywhere in x, linear in g
            return [nil, try op(.absBackward, x[0], g)]
        case let .clampBackward(lo, hi):
            return [nil, try op(.clampBackward(min: lo, max: hi), x[0], g)]
        case let .extremumBackward(isMax):
            return [nil, nil, try op(.extremumBackward(maximum: isMax), x[0], x[1], g)]
        case let .selectBackward(whenTrue):
            return [nil, try op(.selectBackward(whenTrue: whenTrue), x[0], g)]
        case .geluBackward, .maxBackward, .softmaxCrossEntropyBackward, .layerNormBackward, .layerNormGammaBackward,
             .maxPool2dBackward:
            throw GraphError(operation: r.operation.name, shapes: x.map(shape), location: at,
                             message: "no gradient rule for \(r.operation.name) (differentiating a gradient through it is not supported)")
        }
    }
}
