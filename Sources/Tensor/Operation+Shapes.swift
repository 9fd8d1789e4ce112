/// Shape inference: every operation's result shape from its input shapes, or a message saying why
/// the inputs do not fit (the graph wraps it into a `GraphError` with the op, shapes and location).
extension Operation {
    /// The NumPy broadcast of two shapes (aligned at the right; a 1 stretches), or nil.
    static func broadcast(_ a: [Int], _ b: [Int]) -> [Int]? {
        let r = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let x = i < r - a.count ? 1 : a[i - (r - a.count)]
            let y = i < r - b.count ? 1 : b[i - (r - b.count)]
            if x == y || y == 1 { out[i] = x } else if x == 1 { out[i] = y } else { return nil }
        }
        return out
    }

    static func checkAxes(_ axes: [Int], rank: Int) -> String? {
        if axes != axes.sorted() || Set(axes).count != axes.count { return "axes \(axes) must be sorted and distinct" }
        if let bad = axes.first(where: { $0 < 0 || $0 >= rank }) { return "axis \(bad) out of range for rank \(rank)" }
        return nil
    }

    static func reduced(_ shape: [Int], axes: [Int], keepDims: Bool) -> [Int] {
        var out: [Int] = []
        for d in 0..<shape.count {
            if axes.contains(d) { if keepDims { out.append(1) } } else { out.append(shape[d]) }
        }
        return out
    }

    /// The last dimension of a layer-normalized input, after checking the rank and epsilon.
    static func normalizedWidth(_ x: [Int], epsilon: Double) throws(ShapeMessage) -> Int {
        guard epsilon >= 0, epsilon.isFinite else { throw ShapeMessage("epsilon \(epsilon) must be finite and not negative") }
        guard let d = x.last else { throw ShapeMessage("x must have at least one dimension") }
        return d
    }

    /// Checks a 2-D window's `kernel`, `stride` and `padding` (two entries each: height, width) and
    /// `dilation`, against an NHWC input, and returns the output's spatial size [height, width].
    static func windowOutput(_ x: [Int], kernel: [Int], stride: [Int], padding: [Int], dilation: [Int] = [1, 1]) throws(ShapeMessage) -> [Int] {
        guard x.count == 4 else { throw ShapeMessage("expects NHWC input [N, H, W, C], got \(x)") }
        guard kernel.count == 2, stride.count == 2, padding.count == 2, dilation.count == 2 else {
            throw ShapeMessage("kernel \(kernel), stride \(stride), padding \(padding) and dilation \(dilation) need two entries each (height, width)")
        }
        guard kernel.allSatisfy({ $0 >= 1 }), stride.allSatisfy({ $0 >= 1 }), dilation.allSatisfy({ $0 >= 1 }),
              padding.allSatisfy({ $0 >= 0 }) else {
            throw ShapeMessage("kernel \(kernel), stride \(stride) and dilation \(dilation) must be positive and padding \(padding) not negative")
        }
        var out: [Int] = []
        for d in 0..<2 {
            let span = dilation[d] * (kernel[d] - 1) + 1, padded = x[1 + d] + 2 * padding[d]
            guard padded >= span else {
                throw ShapeMessage("a window of \(span) does not fit \(d == 0 ? "height" : "width") \(x[1 + d]) with padding \(padding[d])")
            }
            out.append((padded - span) / stride[d] + 1)
        }
        return out
    }

    /// The shape a pooling gives for input `x`; padding may be at most half the window (so no
    /// window lies in the padding alone).
    static func pooled(_ x: [Int], kernel: [Int], stride: [Int], padding: [Int]) throws(ShapeMessage) -> [Int] {
        let size = try windowOutput(x, kernel: kernel, stride: stride, padding: padding)
        guard padding[0] <= kernel[0] / 2, padding[1] <= kernel[1] / 2 else {
            throw ShapeMessage("padding \(padding) must be at most half the kernel \(kernel)")
        }
        return [x[0], size[0], size[1], x[3]]
    }

    /// The shape `conv2d` gives for input `x` ([N, H, W, C]) and `filter` ([KH, KW, C/groups, F]).
    static func convolved(_ x: [Int], filter: [Int], stride: [Int], padding: [Int], dilation: [Int],
                          groups: Int) throws(ShapeMessage) -> [Int] {
        guard x.count == 4, filter.count == 4 else {
            throw ShapeMessage("expects NHWC input [N, H, W, C] and a filter [KH, KW, C/groups, F], got \(x) and \(filter)")
        }
        guard groups >= 1, x[3] % groups == 0, filter[3] % groups == 0 else {
            throw ShapeMessage("\(groups) groups must divide the input channels \(x[3]) and the filters \(filter[3])")
        }
        guard filter[2] == x[3] / groups else {
            throw ShapeMessage("filter \(filter) expects \(filter[2]) input channels per group, the input gives \(x[3] / groups)")
        }
        let size = try windowOutput(x, kernel: [filter[0], filter[1]], stride: stride, padding: padding, dilation: dilation)
        return [x[0], size[0], size[1], filter[3]]
    }

    /// The result shape for these input shapes; throws a message naming what does not fit.
    func inferShape(_ s: [[Int]]) throws(ShapeMessage) -> [Int] {
        func need(_ n: Int) throws(ShapeMessage) {
            if s.count != n { throw ShapeMessage("expects \(n) input(s), got \(s.count)") }
        }
        switch self {
        case .placeholder, .parameter, .constant:
            throw ShapeMessage("leaves have no inputs")
        case .add, .sub, .mul, .div, .minimum, .maximum:
            try need(2)
            guard let r = Operation.broadcast(s[0], s[1]) else {
                throw ShapeMessage("shapes \(s[0]) and \(s[1]) do not broadcast")
            }
            return r
        case .neg, .exp, .log, .sqrt, .tanh, .sigmoid, .relu, .gelu, .abs, .square, .pow, .scale, .shift:
            try need(1)
            return s[0]
        case let .clamp(lo, hi):
            try need(1)
            guard lo <= hi else { throw ShapeMessage("bounds min \(lo) and max \(hi) need min <= max") }
            return s[0]
        case let .clampBackward(lo, hi):
            try need(2)
            guard lo <= hi else { throw ShapeMessage("bounds min \(lo) and max \(hi) need min <= max") }
            guard s[0] == s[1] else { throw ShapeMessage("value \(s[0]) and gradient \(s[1]) differ") }
            return s[0]
        case .select:
            try need(3)
            guard let ab = Operation.broadcast(s[1], s[2]), let r = Operation.broadcast(s[0], ab) else {
                throw ShapeMessage("condition \(s[0]), a \(s[1]) and b \(s[2]) do not broadcast")
            }
            return r
        case .reluBackward, .tanhBackward, .sigmoidBackward, .geluBackward, .absBackward:
            try need(2)
            guard s[0] == s[1] else { throw ShapeMessage("value \(s[0]) and gradient \(s[1]) differ") }
            return s[0]
        case .extremumBackward:
            try need(3)
            guard let ab = Operation.broadcast(s[0], s[1]), Operation.broadcast(ab, s[2]) == s[2] else {
                throw ShapeMessage("inputs \(s[0]) and \(s[1]) do not broadcast to the gradient \(s[2])")
            }
            return s[2]
        case .selectBackward:
            try need(2)
            guard Operation.broadcast(s[0], s[1]) == s[1] else {
                throw ShapeMessage("condition \(s[0]) does not broadcast to the gradient \(s[1])")
            }
            return s[1]
        case let .matmul(ta, tb):
            try need(2)
            let a = s[0], b = s[1]
            guard a.count >= 2, b.count >= 2 else { throw ShapeMessage("both operands need rank >= 2") }
            let (m, ka) = ta ? (a[a.count - 1], a[a.count - 2]) : (a[a.count - 2], a[a.count - 1])
            let (kb, n) = tb ? (b[b.count - 1], b[b.count - 2]) : (b[b.count - 2], b[b.count - 1])
            guard ka == kb else { throw ShapeMessage("inner dimensions differ: \(ka) vs \(kb)") }
            let batchA = Array(a.dropLast(2)), batchB = Array(b.dropLast(2))
            guard batchA == batchB || batchA.isEmpty || batchB.isEmpty else {
                throw ShapeMessage("batch dimensions differ: \(batchA) vs \(batchB)")
            }
            return (batchA.isEmpty ? batchB : batchA) + [m, n]
        case let .transpose(p):
            try need(1)
            guard p.sorted() == Array(0..<s[0].count) else {
                throw ShapeMessage("\(p) is not a permutation of \(s[0].count) dimensions")
            }
            return p.map { s[0][$0] }
        case let .reshape(shape):
            try need(1)
            guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == s[0].reduce(1, *) else {
                throw ShapeMessage("cannot reshape \(s[0].reduce(1, *)) elements to \(shape)")
            }
            return shape
        case let .broadcastTo(shape):
            try need(1)
            guard shape.count >= s[0].count, Operation.broadcast(s[0], shape) == shape else {
                throw ShapeMessage("cannot broadcast to \(shape)")
            }
            return shape
        case let .concat(axis):
            guard !s.isEmpty else { throw ShapeMessage("needs at least one input") }
            let r = s[0].count
            guard axis >= 0 && axis < r else { throw ShapeMessage("axis \(axis) out of range for rank \(r)") }
            var out = s[0]
            for t in s.dropFirst() {
                guard t.count == r, (0..<r).allSatisfy({ $0 == axis || t[$0] == s[0][$0] }) else {
                    throw ShapeMessage("shapes differ outside axis \(axis)")
                }
                out[axis] += t[axis]
            }
            return out
        case let .slice(axis, range):
            try need(1)
            guard axis >= 0 && axis < s[0].count else { throw ShapeMessage("axis \(axis) out of range for rank \(s[0].count)") }
            guard range.lowerBound >= 0 && range.upperBound <= s[0][axis] else {
                throw ShapeMessage("range \(range) outside 0..<\(s[0][axis]) on axis \(axis)")
            }
            var out = s[0]
            out[axis] = range.count
            return out
        case let .pad(axis, range, size):
            try need(1)
            guard axis >= 0 && axis < s[0].count, s[0][axis] == range.count,
                  range.lowerBound >= 0, range.upperBound <= size else {
                throw ShapeMessage("cannot place range \(range) of axis \(axis) into size \(size)")
            }
            var out = s[0]
            out[axis] = size
            return out
        case let .sum(axes, keep), let .mean(axes, keep), let .max(axes, keep):
            try need(1)
            if let m = Operation.checkAxes(axes, rank: s[0].count) { throw ShapeMessage(m) }
            return Operation.reduced(s[0], axes: axes, keepDims: keep)
        case let .softmax(axis), let .logSoftmax(axis):
            try need(1)
            guard axis >= 0 && axis < s[0].count else { throw ShapeMessage("axis \(axis) out of range for rank \(s[0].count)") }
            return s[0]
        case .meanSquaredError, .binaryCrossEntropyWithLogits:
            try need(2)
            guard s[0] == s[1] else { throw ShapeMessage("prediction \(s[0]) and target \(s[1]) differ") }
            return []
        case .softmaxCrossEntropy:
            try need(2)
            guard s[0].count == 2, s[1] == [s[0][0]] else {
                throw ShapeMessage("expects logits [N, C] and labels [N]")
            }
            return []
        case .embedding:
            try need(2)
            guard s[0].count == 2 else { throw ShapeMessage("expects a table [V, D], got \(s[0])") }
            return s[1] + [s[0][1]]
        case let .embeddingBackward(rows):
            try need(2)
            guard let d = s[1].last, s[1] == s[0] + [d], rows >= 0 else {
                throw ShapeMessage("expects indices [N...] and a gradient [N..., D] into \(rows) rows")
            }
            return [rows, d]
        case let .layerNorm(eps):
            try need(3)
            let d = try Operation.normalizedWidth(s[0], epsilon: eps)
            guard s[1] == [d], s[2] == [d] else { throw ShapeMessage("gamma and beta must be [\(d)] (the last dimension of x \(s[0]))") }
            return s[0]
        case let .layerNormBackward(eps):
            try need(3)
            let d = try Operation.normalizedWidth(s[0], epsilon: eps)
            guard s[1] == [d] else { throw ShapeMessage("gamma must be [\(d)] (the last dimension of x \(s[0]))") }
            guard s[2] == s[0] else { throw ShapeMessage("value \(s[0]) and gradient \(s[2]) differ") }
            return s[0]
        case let .layerNormGammaBackward(eps):
            try need(2)
            let d = try Operation.normalizedWidth(s[0], epsilon: eps)
            guard s[1] == s[0] else { throw ShapeMessage("value \(s[0]) and gradient \(s[1]) differ") }
            return [d]
        case let .dropout(rate, _):
            try need(2)
            guard rate >= 0, rate < 1 else { throw ShapeMessage("rate \(rate) must be in [0, 1)") }
            guard [1, 2].contains(s[1].reduce(1, *)) else {
                throw ShapeMessage("step must be one value (the step) or two (the step and the batch's first row), got shape \(s[1])")
            }
            return s[0]
        case let .maxPool2d(k, st, p), let .avgPool2d(k, st, p):
            try need(1)
            return try Operation.pooled(s[0], kernel: k, stride: st, padding: p)
        case let .maxPool2dBackward(k, st, p):
            try need(2)
            guard try Operation.pooled(s[0], kernel: k, stride: st, padding: p) == s[1] else {
                throw ShapeMessage("gradient \(s[1]) is not the pooled shape of \(s[0])")
            }
            return s[0]
        case let .avgPool2dBackward(k, st, p, size):
            try need(1)
            guard s[0].count == 4, size.count == 2 else { throw ShapeMessage("expects a gradient [N, H, W, C] and an input size [H, W]") }
            let x = [s[0][0], size[0], size[1], s[0][3]]
            guard try Operation.pooled(x, kernel: k, stride: st, padding: p) == s[0] else {
                throw ShapeMessage("gradient \(s[0]) is not the pooled shape of \(x)")
            }
            return x
        case let .conv2d(st, p, d, groups):
            try need(2)
            return try Operation.convolved(s[0], filter: s[1], stride: st, padding: p, dilation: d, groups: groups)
        case let .conv2dBackwardInput(st, p, d, groups, size):
            try need(2)
            guard s[0].count == 4, s[1].count == 4, size.count == 2 else {
                throw ShapeMessage("expects a gradient [N, OH, OW, F], a filter [KH, KW, C/groups, F] and an input size [H, W]")
            }
            let x = [s[0][0], size[0], size[1], s[1][2] * groups]
            guard try Operation.convolved(x, filter: s[1], stride: st, padding: p, dilation: d, groups: groups) == s[0] else {
                throw ShapeMessage("gradient \(s[0]) is not the convolution's shape for input \(x)")
            }
            return x
        case let .conv2dBackwardFilter(st, p, d, groups, size):
            try need(2)
            guard s[0].count == 4, s[1].count == 4, size.count == 2, groups >= 1 else {
                throw ShapeMessage("expects an input [N, H, W, C], a gradient [N, OH, OW, F] and a kernel size [KH, KW]")
            }
            let filter = [size[0], size[1], s[0][3] / groups, s[1][3]]
            guard try Operation.convolved(s[0], filter: filter, stride: st, padding: p, dilation: d, groups: groups) == s[1] else {
                throw ShapeMessage("gradient \(s[1]) is not the convolution's shape for filter \(filter)")
            }
            return filter
        case let .maxBackward(axes):
            try need(3)
            let keep = Operation.reduced(s[0], axes: axes, keepDims: true)
            guard s[1] == keep, s[2] == keep else { throw ShapeMessage("max and gradient must have shape \(keep)") }
            return s[0]
        case .softmaxCrossEntropyBackward:
            try need(3)
            guard s[0].count == 2, s[1] == [s[0][0]], s[2] == [] else {
                throw ShapeMessage("expects logits [N, C], labels [N] and a scalar gradient")
            }
            return s[0]
        }
    }
}

/// Why inputs do not fit an operation (wrapped into `GraphError` by the graph).
struct ShapeMessage: Error {
    let text: String
    init(_ text: String) { self.text = text }
}
