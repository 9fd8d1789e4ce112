/// The operations a graph file can hold, in one place: for each, its name in the file, its number of
/// inputs and attributes, how the reader builds it (the public builder calls, so shapes are checked
/// as for a Swift-built graph) and how the writer describes it. The derivative helpers that
/// `gradients(of:wrt:)` emits (`relu_backward`, `pad`, ...) are not part of the format: a file holds a
/// forward graph, and gradients are taken after reading it.
enum GraphFileOperations {
    /// Name -> (inputs, attribute names); `inputs == 0` means "one or more" (concat).
    static let table: [String: (inputs: Int, attributes: [String])] = [
        "add": (2, []), "sub": (2, []), "mul": (2, []), "div": (2, []),
        "neg": (1, []), "exp": (1, []), "log": (1, []), "sqrt": (1, []),
        "tanh": (1, []), "sigmoid": (1, []), "relu": (1, []), "gelu": (1, []), "abs": (1, []), "square": (1, []),
        "minimum": (2, []), "maximum": (2, []), "clamp": (1, ["min", "max"]), "where": (3, []),
        "pow": (1, ["exponent"]), "scale": (1, ["factor"]), "shift": (1, ["offset"]),
        "matmul": (2, ["transpose_a", "transpose_b"]),
        "transpose": (1, ["permutation"]), "reshape": (1, ["shape"]), "broadcast_to": (1, ["shape"]),
        "concat": (0, ["axis"]), "slice": (1, ["axis", "start", "end"]),
        "sum": (1, ["axes", "keep_dims"]), "mean": (1, ["axes", "keep_dims"]), "max": (1, ["axes", "keep_dims"]),
        "softmax": (1, ["axis"]), "log_softmax": (1, ["axis"]),
        "max_pool2d": (1, ["kernel", "stride", "padding"]), "avg_pool2d": (1, ["kernel", "stride", "padding"]),
        "global_avg_pool2d": (1, []),
        "embedding": (2, []), "dropout": (2, ["rate", "seed"]), "layer_norm": (3, ["epsilon"]),
        "mse": (2, []), "bce_with_logits": (2, []), "softmax_cross_entropy": (2, []),
    ]

    /// Builds operation `name` on `xs` with the builder calls; `a` holds the node's attributes.
    /// The caller has checked the name and the number of inputs.
    static func build<S: TensorScalar>(_ name: String, _ xs: [Node<S>], _ a: GraphFileFields) throws -> Node<S> {
        func req<T>(_ key: String, _ get: (String) throws(GraphFileError) -> T?) throws -> T {
            guard let v = try get(key) else { throw a.error(nil, "missing field \"attributes.\(key)\"") }
            return v
        }
        let x = xs[0]
        switch name {
        case "add": return try xs[0] + xs[1]
        case "sub": return try xs[0] - xs[1]
        case "mul": return try xs[0] * xs[1]
        case "div": return try xs[0] / xs[1]
        case "neg": return try -x
        case "exp": return try exp(x)
        case "log": return try log(x)
        case "sqrt": return try sqrt(x)
        case "tanh": return try tanh(x)
        case "sigmoid": return try sigmoid(x)
        case "relu": return try relu(x)
        case "gelu": return try gelu(x)
        case "abs": return try abs(x)
        case "square": return try square(x)
        case "minimum": return try minimum(xs[0], xs[1])
        case "maximum": return try maximum(xs[0], xs[1])
        case "clamp": return try clamp(x, min: try a.double("min") ?? -.infinity, max: try a.double("max") ?? .infinity)
        case "where": return try select(xs[0], xs[1], xs[2])
        case "pow": return try pow(x, try req("exponent", a.double))
        case "scale": return try x * S(try req("factor", a.double))
        case "shift": return try x + S(try req("offset", a.double))
        case "matmul":
            return try xs[0].matmul(xs[1], transposeSelf: try a.bool("transpose_a") ?? false,
                                    transposeOther: try a.bool("transpose_b") ?? false)
        case "transpose": return try x.transposed(try a.ints("permutation"))
        case "reshape": return try x.reshaped(try req("shape", a.shape))
        case "broadcast_to": return try x.broadcast(to: try req("shape", a.shape))
        case "concat": return try concat(xs, axis: try req("axis", a.int))
        case "slice":
            let start = try req("start", a.int), end = try req("end", a.int)
            guard start <= end else { throw a.error("end", "end \(end) is before start \(start)") }
            return try x.slice(axis: try req("axis", a.int), start..<end)
        case "sum", "mean", "max":
            let axes = try a.ints("axes"), keep = try a.bool("keep_dims") ?? false
            return try name == "sum" ? x.sum(axes: axes, keepDims: keep)
                : name == "mean" ? x.mean(axes: axes, keepDims: keep) : x.max(axes: axes, keepDims: keep)
        case "softmax": return try softmax(x, axis: try a.int("axis"))
        case "log_softmax": return try logSoftmax(x, axis: try a.int("axis"))
        case "embedding": return try embedding(xs[0], indices: xs[1])
        case "layer_norm": return try layerNorm(xs[0], gamma: xs[1], beta: xs[2], epsilon: try a.double("epsilon") ?? 1e-5)
        case "dropout": return try dropout(xs[0], rate: try req("rate", a.double), seed: try a.int("seed") ?? 0, step: xs[1])
        case "max_pool2d", "avg_pool2d":
            let kernel = try req("kernel", a.ints), stride = try a.ints("stride"), padding = try a.ints("padding") ?? [0, 0]
            return try name == "max_pool2d" ? maxPool2d(x, kernel: kernel, stride: stride, padding: padding)
                : avgPool2d(x, kernel: kernel, stride: stride, padding: padding)
        case "global_avg_pool2d": return try globalAvgPool2d(x)
        case "mse": return try meanSquaredError(xs[0], xs[1])
        case "bce_with_logits": return try binaryCrossEntropyWithLogits(xs[0], xs[1])
        case "softmax_cross_entropy": return try softmaxCrossEntropy(logits: xs[0], labels: xs[1])
        default: preconditionFailure("GraphFileOperations.build: \(name) is not in the table")
        }
    }

    /// The attributes of `op` as JSON members (name, encoded value), or nil if the format cannot
    /// describe `op` (a derivative helper or a leaf).
    static func attributes(of op: Operation) -> [(String, String)]? {
        switch op {
        case .placeholder, .parameter, .constant, .pad, .reluBackward, .tanhBackward, .sigmoidBackward,
             .geluBackward, .absBackward, .clampBackward, .extremumBackward, .selectBackward, .maxBackward,
             .softmaxCrossEntropyBackward, .embeddingBackward, .layerNormBackward, .layerNormGammaBackward,
             .maxPool2dBackward, .avgPool2dBackward:
            return nil
        case .add, .sub, .mul, .div, .neg, .exp, .log, .sqrt, .tanh, .sigmoid, .relu, .gelu, .abs, .square,
             .minimum, .maximum, .select, .embedding, .meanSquaredError, .binaryCrossEntropyWithLogits, .softmaxCrossEntropy:
            return []
        case let .clamp(lo, hi):   // an infinite bound is the default, and JSON cannot spell it
            return (lo.isFinite ? [("min", JSONText.number(lo))] : []) + (hi.isFinite ? [("max", JSONText.number(hi))] : [])
        case let .layerNorm(eps): return [("epsilon", JSONText.number(eps))]
        case let .dropout(rate, seed): return [("rate", JSONText.number(rate)), ("seed", "\(seed)")]
        case let .maxPool2d(k, st, p), let .avgPool2d(k, st, p):
            return [("kernel", JSONText.ints(k)), ("stride", JSONText.ints(st)), ("padding", JSONText.ints(p))]
        case let .pow(p): return [("exponent", JSONText.number(p))]
        case let .scale(c): return [("factor", JSONText.number(c))]
        case let .shift(c): return [("offset", JSONText.number(c))]
        case let .matmul(ta, tb): return [("transpose_a", "\(ta)"), ("transpose_b", "\(tb)")]
        case let .transpose(p): return [("permutation", JSONText.ints(p))]
        case let .reshape(s), let .broadcastTo(s): return [("shape", JSONText.ints(s))]
        case let .concat(axis), let .softmax(axis), let .logSoftmax(axis): return [("axis", "\(axis)")]
        case let .slice(axis, r): return [("axis", "\(axis)"), ("start", "\(r.lowerBound)"), ("end", "\(r.upperBound)")]
        case let .sum(axes, keep), let .mean(axes, keep), let .max(axes, keep):
            return [("axes", JSONText.ints(axes)), ("keep_dims", "\(keep)")]
        }
    }
}
