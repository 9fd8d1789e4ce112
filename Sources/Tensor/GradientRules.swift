/// Every gradient rule in one place: for each operation, its vector-Jacobian product written as graph
/// operations, so gradients are ordinary nodes (they run in plans and can be differentiated again).
///
/// `vjp` gets the node `y = op(x0, x1, ...)` and the node `g` holding dLoss/dy, and returns one
/// contribution dLoss/dxi per input (nil: no gradient flows there: labels, or zero almost everywhere).
/// Rules are written with `GradientTerm`'s operators (`g * y`, `-g`, `x * 2` for `scale(2)`); the
/// derivative helpers they emit are `op(.helper, inputs...)`. Broadcasting inputs get their
/// contribution summed back to their own shape (`unbroadcast`). The switch is exhaustive: a new
/// operation does not compile until it has a rule here, or is listed among those without one (the
/// derivative helpers that only gradients emit and that are not differentiated again), for which
/// `gradients(of:wrt:)` throws, naming it, so higher-order gradients through them are refused
/// rather than wrong.
extension Graph {
    func vjp(of node: Int, upstream: Int) throws(GraphError) -> [Int?] {
        typealias T = GradientTerm<Scalar>
        let r = records[node]
        let at = r.location
        let y = T(graph: self, id: node, location: at), g = T(graph: self, id: upstream, location: at)
        let x = r.inputs.map { T(graph: self, id: $0, location: at) }
        /// A derivative helper (or any operation without an operator) on `inputs`.
        func op(_ o: Operation, _ inputs: T...) throws(GraphError) -> T {
            try T(graph: self, id: apply(o, ids: inputs.map(\.id), at), location: at)
        }
        let terms: [T?]

        switch r.operation {
        case .placeholder, .parameter, .constant:
            terms = []

        // Elementwise
        case .add:
            terms = [try g.unbroadcast(to: x[0]), try g.unbroadcast(to: x[1])]
        case .sub:
            terms = [try g.unbroadcast(to: x[0]), try (-g).unbroadcast(to: x[1])]
        case .mul:
            terms = [try (g * x[1]).unbroadcast(to: x[0]), try (g * x[0]).unbroadcast(to: x[1])]
        case .div:   // d(a/b) = g/b, -g·y/b
            let ga = try g / x[1], gb = try -(ga * y)
            terms = [try ga.unbroadcast(to: x[0]), try gb.unbroadcast(to: x[1])]
        case .neg:
            terms = [try -g]
        case .exp:
            terms = [try g * y]
        case .log:
            terms = [try g / x[0]]
        case .sqrt:   // g / 2√x
            terms = [try g * 0.5 / y]
        case let .pow(p):
            terms = [try g * (x[0].pow(p - 1) * p)]
        case let .scale(c):
            terms = [try g * c]
        case .shift:
            terms = [g]
        case .tanh:
            terms = [try op(.tanhBackward, y, g)]
        case .sigmoid:
            terms = [try op(.sigmoidBackward, y, g)]
        case .relu:
            terms = [try op(.reluBackward, x[0], g)]
        case .gelu:
            terms = [try op(.geluBackward, x[0], g)]
        case .abs:
            terms = [try op(.absBackward, x[0], g)]
        case .square:   // 2x·g
            terms = [try g * (x[0] * 2)]
        case let .clamp(lo, hi):
            terms = [try op(.clampBackward(min: lo, max: hi), x[0], g)]
        case .minimum:   // g to the input that is the result (shared at ties)
            terms = [try op(.extremumBackward(maximum: false), x[0], x[1], g).unbroadcast(to: x[0]),
                     try op(.extremumBackward(maximum: false), x[1], x[0], g).unbroadcast(to: x[1])]
        case .maximum:
            terms = [try op(.extremumBackward(maximum: true), x[0], x[1], g).unbroadcast(to: x[0]),
                     try op(.extremumBackward(maximum: true), x[1], x[0], g).unbroadcast(to: x[1])]
        case .select:   // g to the branch taken; the condition is piecewise constant
            terms = [nil, try op(.selectBackward(whenTrue: true), x[0], g).unbroadcast(to: x[1]),
                     try op(.selectBackward(whenTrue: false), x[0], g).unbroadcast(to: x[2])]

        // Linear algebra: C = op(A) op(B); batched contributions to a shared matrix sum over batches.
        case let .matmul(ta, tb):
            let a = x[0], b = x[1]
            func mm(_ u: T, _ v: T, _ tu: Bool, _ tv: Bool) throws(GraphError) -> T {
                try op(.matmul(transposeA: tu, transposeB: tv), u, v)
            }
            // Stacked rows times one shared matrix (x·W with x [..., m, k]): the shared matrix's
            // gradient is one product over all rows (k = every row of the stack), not a product
            // per batch entry and a sum over the batch.
            if !ta && a.shape.count > 2 && b.shape.count == 2 {
                let rows = a.shape.dropLast().reduce(1, *)
                let flatA = try a.reshaped([rows, a.shape[a.shape.count - 1]])
                let flatG = try g.reshaped([rows, g.shape[g.shape.count - 1]])
                let da = tb ? try mm(g, b, false, false) : try mm(g, b, false, true)          // g B or g Bᵀ
                let db = tb ? try mm(flatG, flatA, true, false) : try mm(flatA, flatG, true, false)  // gᵀ A or Aᵀ g
                terms = [da, db]
                break
            }
            let (da, db): (T, T) = switch (ta, tb) {
            case (false, false): (try mm(g, b, false, true), try mm(a, g, true, false))    // g Bᵀ, Aᵀ g
            case (true, false): (try mm(b, g, false, true), try mm(a, g, false, false))    // B gᵀ, A g
            case (false, true): (try mm(g, b, false, false), try mm(g, a, true, false))    // g B, gᵀ A
            case (true, true): (try mm(b, g, true, true), try mm(g, a, true, true))        // Bᵀ gᵀ, gᵀ Aᵀ
            }
            terms = [try da.folded(toRank: a.shape.count), try db.folded(toRank: b.shape.count)]

        // Shapes
        case let .transpose(p):
            var inverse = [Int](repeating: 0, count: p.count)
            for (i, s) in p.enumerated() { inverse[s] = i }
            terms = [try op(.transpose(permutation: inverse), g)]
        case .reshape:
            terms = [try g.reshaped(x[0].shape)]
        case .broadcastTo:
            terms = [try g.unbroadcast(to: x[0])]
        case let .concat(axis):   // each input's slice of g
            var start = 0
            var slices: [T?] = []
            for input in x {
                let length = input.shape[axis]
                slices.append(try op(.slice(axis: axis, range: start..<(start + length)), g))
                start += length
            }
            terms = slices
        case let .slice(axis, range):
            terms = [try op(.pad(axis: axis, range: range, size: x[0].shape[axis]), g)]
        case let .pad(axis, range, _):
            terms = [try op(.slice(axis: axis, range: range), g)]

        // Lookups: rows gathered forward, scattered back (indices are piecewise constant)
        case .embedding:
            terms = [try op(.embeddingBackward(rows: x[0].shape[0]), x[1], g), nil]
        case .embeddingBackward:   // linear in g: its adjoint is the lookup again
            terms = [nil, try op(.embedding, g, x[0])]

        // Reductions: g (in keep-dims shape) broadcast back over the reduced axes
        case let .sum(axes, keep):
            let kept = Operation.reduced(x[0].shape, axes: axes, keepDims: true)
            terms = [try (keep ? g : g.reshaped(kept)).broadcast(to: x[0].shape)]
        case let .mean(axes, keep):   // as sum, divided by the number of elements averaged
            let kept = Operation.reduced(x[0].shape, axes: axes, keepDims: true)
            let n = axes.reduce(1) { $0 * x[0].shape[$1] }
            terms = [try ((keep ? g : g.reshaped(kept)) * (1 / Double(n))).broadcast(to: x[0].shape)]
        case let .max(axes, keep):   // g to every element equal to the maximum
            let kept = Operation.reduced(x[0].shape, axes: axes, keepDims: true)
            let yk = keep ? y : try y.reshaped(kept), gk = keep ? g : try g.reshaped(kept)
            terms = [try op(.maxBackward(axes: axes), x[0], yk, gk)]
        case let .softmax(axis):   // y (g - sum(g y))
            let s = try (g * y).sum(axes: [axis], keepDims: true)
            terms = [try y * (g - s)]
        case let .logSoftmax(axis):   // g - e^y sum(g)
            let s = try g.sum(axes: [axis], keepDims: true)
            terms = [try g - y.exp() * s]

        // Images
        case let .maxPool2d(k, st, p):
            terms = [try op(.maxPool2dBackward(kernel: k, stride: st, padding: p), x[0], g)]
        case let .avgPool2d(k, st, p):
            let s = x[0].shape
            terms = [try op(.avgPool2dBackward(kernel: k, stride: st, padding: p, inputSize: [s[1], s[2]]), g)]
        case let .avgPool2dBackward(k, st, p, _):   // linear: its adjoint is the pooling
            terms = [try op(.avgPool2d(kernel: k, stride: st, padding: p), g)]

        // Convolutions: the two gradients are each other's adjoints with the convolution itself
        case let .conv2d(st, p, d, groups):
            let xs = x[0].shape, fs = x[1].shape
            terms = [try op(.conv2dBackwardInput(stride: st, padding: p, dilation: d, groups: groups, inputSize: [xs[1], xs[2]]), g, x[1]),
                     try op(.conv2dBackwardFilter(stride: st, padding: p, dilation: d, groups: groups, kernelSize: [fs[0], fs[1]]), x[0], g)]
        case let .conv2dBackwardInput(st, p, d, groups, _):   // (dy, W): linear in each
            let fs = x[1].shape
            terms = [try op(.conv2d(stride: st, padding: p, dilation: d, groups: groups), g, x[1]),
                     try op(.conv2dBackwardFilter(stride: st, padding: p, dilation: d, groups: groups, kernelSize: [fs[0], fs[1]]), g, x[0])]
        case let .conv2dBackwardFilter(st, p, d, groups, _):   // (x, dy): linear in each
            let xs = x[0].shape
            terms = [try op(.conv2dBackwardInput(stride: st, padding: p, dilation: d, groups: groups, inputSize: [xs[1], xs[2]]), x[1], g),
                     try op(.conv2d(stride: st, padding: p, dilation: d, groups: groups), x[0], g)]

        // Normalization: dx and dgamma by fused helpers, dbeta is g summed over the rows
        case let .layerNorm(eps):
            let rows = Array(0..<(x[0].shape.count - 1))
            terms = [try op(.layerNormBackward(epsilon: eps), x[0], x[1], g),
                     try op(.layerNormGammaBackward(epsilon: eps), x[0], g),
                     rows.isEmpty ? g : try g.sum(axes: rows, keepDims: false)]

        // Regularization: the same mask (same seed, step and element indices) scales g
        case .dropout:
            terms = [try op(r.operation, g, x[1]), nil]

        // Losses (g is a scalar; it broadcasts)
        case .meanSquaredError:   // ±2 (a - b) g / n
            let ga = try (x[0] - x[1]) * g * (2 / Double(x[0].shape.reduce(1, *)))
            terms = [ga, try -ga]
        case .binaryCrossEntropyWithLogits:   // (σ(z) - t) g / n, -z g / n
            let n = Double(x[0].shape.reduce(1, *))
            let gz = try (x[0].sigmoid() - x[1]) * g * (1 / n)
            let gt = try x[0] * g * (-1 / n)
            terms = [gz, gt]
        case .softmaxCrossEntropy:
            terms = [try op(.softmaxCrossEntropyBackward, x[0], x[1], g), nil]

        // Derivative helpers, so second derivatives of the common activations work
        case .reluBackward:   // g·[x > 0]: zero almost everywhere in x
            terms = [nil, try op(.reluBackward, x[0], g)]
        case .tanhBackward:   // (y, gt) -> gt (1 - y²): d/dy = -2 y gt g
            terms = [try g * x[1] * (x[0] * -2), try op(.tanhBackward, x[0], g)]
        case .sigmoidBackward:   // (y, gs) -> gs y (1 - y): d/dy = gs (1 - 2y) g
            terms = [try g * x[1] * (x[0] * -2 + 1), try op(.sigmoidBackward, x[0], g)]
        case .absBackward:   // g·sign(x): zero almost everywhere in x, linear in g
            terms = [nil, try op(.absBackward, x[0], g)]
        case let .clampBackward(lo, hi):
            terms = [nil, try op(.clampBackward(min: lo, max: hi), x[0], g)]
        case let .extremumBackward(isMax):
            terms = [nil, nil, try op(.extremumBackward(maximum: isMax), x[0], x[1], g)]
        case let .selectBackward(whenTrue):
            terms = [nil, try op(.selectBackward(whenTrue: whenTrue), x[0], g)]

        // Derivative helpers without a rule of their own
        case .geluBackward, .maxBackward, .softmaxCrossEntropyBackward, .layerNormBackward, .layerNormGammaBackward,
             .maxPool2dBackward:
            throw GraphError(operation: r.operation.name, shapes: x.map(\.shape), location: at,
                             message: "no gradient rule for \(r.operation.name) (differentiating a gradient through it is not supported)")
        }
        return terms.map { $0?.id }
    }
}
