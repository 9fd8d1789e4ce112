/// A handle on one node of a `Graph`: a placeholder, parameter, constant or operation result.
///
/// Handles are cheap values; operations on them add nodes to their graph and check shapes at once.
///
/// ```swift
/// let h = try relu(x.matmul(w1) + b1)
/// let y = try h.matmul(w2).sum(axes: [1])
/// ```
///
/// Swift operators cannot take `#fileID`/`#line` default arguments, so a node built by an operator
/// (`+`, `*`, ...) records the source location of its most recently built operand, which is usually
/// the same expression; the named functions (`relu`, `matmul`, ...) record their caller's line.
public struct Node<Scalar: TensorScalar>: Hashable, CustomStringConvertible {
    /// The graph this node belongs to.
    public let graph: Graph<Scalar>
    /// Position in the graph; inputs always have smaller ids.
    public let id: Int

    init(graph: Graph<Scalar>, id: Int) {
        self.graph = graph
        self.id = id
    }

    public static func == (a: Node, b: Node) -> Bool { a.id == b.id && a.graph === b.graph }
    public func hash(into h: inout Hasher) { h.combine(id); h.combine(ObjectIdentifier(graph)) }

    /// The inferred shape of the node's value.
    public var shape: [Int] { graph.records[id].shape }
    /// The operation that produces it.
    public var operation: Operation { graph.records[id].operation }
    /// The nodes it reads, in argument order.
    public var inputs: [Node] { graph.records[id].inputs.map { Node(graph: graph, id: $0) } }
    /// The source line that built it.
    public var location: SourceLocation { graph.records[id].location }
    /// Whether `gradients(of:wrt:)` added it (part of the backward graph).
    public var isGradient: Bool { graph.records[id].isGradient }
    /// The number of elements of its value.
    public var count: Int { shape.reduce(1, *) }

    public var description: String { "%\(id) = \(operation.name) \(shape) (\(location))" }
}

// MARK: - Building nodes

extension Node {
    @inline(__always) static func here(_ file: StaticString, _ line: UInt) -> SourceLocation { SourceLocation(file, line) }

    /// Location for operator-built nodes: that of the most recently built operand.
    static func operandLocation(_ a: Node, _ b: Node? = nil) -> SourceLocation {
        guard let b, b.id > a.id, b.graph === a.graph else { return a.location }
        return b.location
    }

    /// `op(self) · op(other)` over the last two dimensions (batched over leading ones).
    public func matmul(_ other: Node, transposeSelf: Bool = false, transposeOther: Bool = false,
                       file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.matmul(transposeA: transposeSelf, transposeB: transposeOther), [self, other], Node.here(file, line))
    }

    /// Dimensions permuted (`permutation[i]` is the source of dimension `i`); by default the last two swap.
    public func transposed(_ permutation: [Int]? = nil, file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        var p = Array(0..<shape.count)
        if let permutation { p = permutation } else if p.count >= 2 { p.swapAt(p.count - 1, p.count - 2) }
        return try graph.apply(.transpose(permutation: p), [self], Node.here(file, line))
    }

    /// The same elements in a new shape (a view: no copy at run time).
    public func reshaped(_ shape: [Int], file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.reshape(shape: shape), [self], Node.here(file, line))
    }

    /// Stretched to `shape` by NumPy broadcasting.
    public func broadcast(to shape: [Int], file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.broadcastTo(shape: shape), [self], Node.here(file, line))
    }

    /// Sum over `axes` (all when nil).
    public func sum(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.sum(axes: axes ?? Array(0..<shape.count), keepDims: keepDims), [self], Node.here(file, line))
    }

    /// Mean over `axes` (all when nil).
    public func mean(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.mean(axes: axes ?? Array(0..<shape.count), keepDims: keepDims), [self], Node.here(file, line))
    }

    /// Maximum over `axes` (all when nil). Its gradient goes to every element equal to the maximum.
    public func max(axes: [Int]? = nil, keepDims: Bool = false, file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.max(axes: axes ?? Array(0..<shape.count), keepDims: keepDims), [self], Node.here(file, line))
    }

    /// The entries `range` along `axis`.
    public func slice(axis: Int, _ range: Range<Int>, file: StaticString = #fileID, line: UInt = #line) throws -> Node {
        try graph.apply(.slice(axis: axis, range: range), [self], Node.here(file, line))
    }

    /// Consecutive slices of the given sizes along `axis` (they must add up to the dimension).
    public func split(axis: Int, sizes: [Int], file: StaticString = #fileID, line: UInt = #line) throws -> [Node] {
        let loc = Node.here(file, line)
        guard axis >= 0, axis < shape.count, sizes.allSatisfy({ $0 >= 0 }), sizes.reduce(0, +) == shape[axis] else {
            throw GraphError(operation: "split", shapes: [shape], location: loc,
                             message: "sizes \(sizes) do not add up to dimension \(axis)")
        }
        var start = 0
        var parts: [Node] = []
        for s in sizes {
            parts.append(try graph.apply(.slice(axis: axis, range: start..<(start + s)), [self], loc))
            start += s
        }
        return parts
    }
}

// MARK: - Functions

@inline(__always) private func unary<S>(_ op: Operation, _ x: Node<S>, _ file: StaticString, _ line: UInt) throws -> Node<S> {
    try x.graph.apply(op, [x], SourceLocation(file, line))
}

/// `e^x` elementwise.
public func exp<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.exp, x, file, line) }
/// Natural logarithm elementwise.
public func log<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.log, x, file, line) }
/// Square root elementwise.
public func sqrt<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.sqrt, x, file, line) }
/// Hyperbolic tangent elementwise.
public func tanh<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.tanh, x, file, line) }
/// Logistic function elementwise.
public func sigmoid<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.sigmoid, x, file, line) }
/// `max(x, 0)` elementwise.
public func relu<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.relu, x, file, line) }
/// GELU (tanh form) elementwise.
public func gelu<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.gelu, x, file, line) }
/// `|x|` elementwise (its gradient is `sign(x)`, 0 at 0).
public func abs<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.abs, x, file, line) }
/// `x²` elementwise.
public func square<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.square, x, file, line) }
/// `x` limited to `[min, max]` elementwise (a bound left out is infinite); the gradient flows where
/// `min <= x <= max`.
public func clamp<S>(_ x: Node<S>, min: Double = -.infinity, max: Double = .infinity,
                     file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try unary(.clamp(min: min, max: max), x, file, line)
}
/// The smaller of `a` and `b` elementwise, broadcasting like `+`; at ties each gets half the gradient.
public func minimum<S>(_ a: Node<S>, _ b: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try a.graph.apply(.minimum, [a, b], SourceLocation(file, line))
}
/// The larger of `a` and `b` elementwise, broadcasting like `+`; at ties each gets half the gradient.
public func maximum<S>(_ a: Node<S>, _ b: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try a.graph.apply(.maximum, [a, b], SourceLocation(file, line))
}
/// `where(condition, a, b)`: `a` where `condition` is nonzero, else `b`, the three broadcasting
/// together. Gradients flow to the branch taken; none flows to the condition.
///
/// ```swift
/// let y = try select(x, a, b)    // x: [4, 3] of 0/1, a: [4, 3], b: [] (a scalar)
/// ```
public func select<S>(_ condition: Node<S>, _ a: Node<S>, _ b: Node<S>,
                      file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try condition.graph.apply(.select, [condition, a, b], SourceLocation(file, line))
}
/// `x^p` elementwise.
public func pow<S>(_ x: Node<S>, _ p: Double, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> { try unary(.pow(p), x, file, line) }
/// Softmax along `axis` (default: the last).
public func softmax<S>(_ x: Node<S>, axis: Int? = nil, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try unary(.softmax(axis: axis ?? x.shape.count - 1), x, file, line)
}
/// Log-softmax along `axis` (default: the last).
public func logSoftmax<S>(_ x: Node<S>, axis: Int? = nil, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try unary(.logSoftmax(axis: axis ?? x.shape.count - 1), x, file, line)
}
/// The inputs joined along `axis`.
public func concat<S>(_ xs: [Node<S>], axis: Int, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    guard let first = xs.first else {
        throw GraphError(operation: "concat", shapes: [], location: SourceLocation(file, line), message: "needs at least one input")
    }
    return try first.graph.apply(.concat(axis: axis), xs, SourceLocation(file, line))
}
/// Embedding lookup (a gather of rows): row `indices[i]` of `table` ([V, D]) for every position of
/// `indices` ([N...], row numbers 0..<V stored as scalars), giving [N..., D]. An index out of range
/// fails the run, naming it. The table's gradient adds the rows back in index order (bitwise equal
/// for any worker count); none flows to the indices.
///
/// ```swift
/// let table = g.parameter("embed", .randomNormal(shape: [vocabulary, 32], standardDeviation: 0.1, using: &rng))
/// let tokens = g.placeholder("tokens", shape: [batch, context])
/// let vectors = try embedding(table, indices: tokens)      // [batch, context, 32]
/// ```
public func embedding<S>(_ table: Node<S>, indices: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try table.graph.apply(.embedding, [table, indices], SourceLocation(file, line))
}
/// Layer normalization over the last axis: each row of `x` ([..., D]) shifted to mean 0 and scaled
/// to variance 1 (biased, with `epsilon` added), then multiplied by `gamma` and shifted by `beta`
/// (both [D]). Forward and backward are fused per row; gradients flow to all three inputs.
///
/// ```swift
/// let gamma = g.parameter("ln.gamma", .ones(shape: [64])), beta = g.parameter("ln.beta", .zeros(shape: [64]))
/// let h = try layerNorm(x, gamma: gamma, beta: beta)     // x: [batch, 64]
/// ```
public func layerNorm<S>(_ x: Node<S>, gamma: Node<S>, beta: Node<S>, epsilon: Double = 1e-5,
                         file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try x.graph.apply(.layerNorm(epsilon: epsilon), [x, gamma, beta], SourceLocation(file, line))
}
/// Dropout: each element of `x` zeroed with probability `rate`, the others scaled by `1 / (1 - rate)`.
///
/// The mask is a pure function of `seed`, the value of `step` at run time and the element's index,
/// so it is identical for any worker count, reproducible from the seed and step alone, and the
/// gradient reuses it. `step` is a one-element node (usually a placeholder of shape `[]`) holding
/// the training step as an integer (exact in Float up to 2^24); a negative step turns dropout off,
/// which is how one graph serves training and evaluation: the evaluation plan feeds -1. A
/// two-element `step` holds the step and the first row of `x` in a larger batch (x's rows are a
/// part of it, as a data-parallel rank's share of the global batch): the masks are then those the
/// whole batch gets on these rows, so the ranks together draw what one process would.
///
/// ```swift
/// let step = g.placeholder("step", shape: [])
/// let h = try dropout(relu(x.matmul(w)), rate: 0.1, seed: 7, step: step)
/// try train.run(feeds: [x: batch, step: Tensor(scalar: Float(i))])   // a new mask each step
/// try evaluate.run(feeds: [x: batch, step: Tensor(scalar: -1)])       // no dropout
/// ```
public func dropout<S>(_ x: Node<S>, rate: Double, seed: Int, step: Node<S>,
                       file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try x.graph.apply(.dropout(rate: rate, seed: seed), [x, step], SourceLocation(file, line))
}
/// 2-D max pooling of NHWC images `x` ([batch, height, width, channels]): the maximum of each
/// `kernel` window ([height, width]) moved by `stride` (default: the kernel) over `x` padded by
/// `padding` ([rows, columns] on each side, at most half the kernel; padding never wins). The
/// gradient goes to each window's first maximum.
///
/// NHWC keeps a pixel's channels contiguous: windows are vector operations over channels, and an
/// image batch is the row-major `[N·H·W, C]` matrix that dense layers and convolutions' GEMMs use.
///
/// ```swift
/// let pooled = try maxPool2d(relu(conv), kernel: [2, 2])     // [8, 28, 28, 16] -> [8, 14, 14, 16]
/// ```
public func maxPool2d<S>(_ x: Node<S>, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0],
                         file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try x.graph.apply(.maxPool2d(kernel: kernel, stride: stride ?? kernel, padding: padding), [x], SourceLocation(file, line))
}
/// 2-D convolution of NHWC images `x` ([batch, height, width, channels]) with `filter`
/// ([kernelHeight, kernelWidth, channels / groups, filters], HWIO), giving [batch, OH, OW, filters]
/// with `OH = (H + 2·padding[0] - dilation[0]·(KH - 1) - 1) / stride[0] + 1` (likewise OW). The
/// input is padded with zeros; `groups` splits channels and filters into independent groups
/// (`groups == channels` is a depthwise convolution).
///
/// Computed as GEMMs over blocks of patches (im2col into a packed buffer), split across workers;
/// both gradients are deterministic (bitwise equal for any worker count).
///
/// ```swift
/// let w = g.parameter("conv1.w", .randomNormal(shape: [3, 3, 1, 16], standardDeviation: 0.3, using: &rng))
/// let h = try relu(conv2d(images, filter: w, padding: [1, 1]))    // [64, 28, 28, 1] -> [64, 28, 28, 16]
/// ```
public func conv2d<S>(_ x: Node<S>, filter: Node<S>, stride: [Int] = [1, 1], padding: [Int] = [0, 0],
                      dilation: [Int] = [1, 1], groups: Int = 1,
                      file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try x.graph.apply(.conv2d(stride: stride, padding: padding, dilation: dilation, groups: groups), [x, filter],
                      SourceLocation(file, line))
}
/// 2-D average pooling of NHWC images, with the geometry of `maxPool2d`; padding counts as zeros
/// (every window is divided by its full area, PyTorch's default).
public func avgPool2d<S>(_ x: Node<S>, kernel: [Int], stride: [Int]? = nil, padding: [Int] = [0, 0],
                         file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try x.graph.apply(.avgPool2d(kernel: kernel, stride: stride ?? kernel, padding: padding), [x], SourceLocation(file, line))
}
/// Global average pooling of NHWC images: `[N, H, W, C] -> [N, C]`, the mean over height and width
/// (a `mean` over axes 1 and 2; graph files may name it `global_avg_pool2d`).
public func globalAvgPool2d<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    guard x.shape.count == 4 else {
        throw GraphError(operation: "global_avg_pool2d", shapes: [x.shape], location: SourceLocation(file, line),
                         message: "expects NHWC input [N, H, W, C], got \(x.shape)")
    }
    return try x.mean(axes: [1, 2], file: file, line: line)
}
/// Mean squared error `mean((prediction - target)^2)` (a scalar).
public func meanSquaredError<S>(_ prediction: Node<S>, _ target: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try prediction.graph.apply(.meanSquaredError, [prediction, target], SourceLocation(file, line))
}
/// Binary cross-entropy of `sigmoid(logits)` against targets in [0, 1], averaged (a scalar); stable for large logits.
public func binaryCrossEntropyWithLogits<S>(_ logits: Node<S>, _ targets: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try logits.graph.apply(.binaryCrossEntropyWithLogits, [logits, targets], SourceLocation(file, line))
}
/// Softmax cross-entropy of logits `[N, C]` against integer class labels `[N]` (stored as
/// scalars 0..<C), averaged over rows (a scalar). A label out of range fails the run.
public func softmaxCrossEntropy<S>(logits: Node<S>, labels: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try logits.graph.apply(.softmaxCrossEntropy, [logits, labels], SourceLocation(file, line))
}

// MARK: - Operators

extension Node {
    public static func + (a: Node, b: Node) throws -> Node { try a.graph.apply(.add, [a, b], operandLocation(a, b)) }
    public static func - (a: Node, b: Node) throws -> Node { try a.graph.apply(.sub, [a, b], operandLocation(a, b)) }
    public static func * (a: Node, b: Node) throws -> Node { try a.graph.apply(.mul, [a, b], operandLocation(a, b)) }
    public static func / (a: Node, b: Node) throws -> Node { try a.graph.apply(.div, [a, b], operandLocation(a, b)) }
    public static prefix func - (a: Node) throws -> Node { try a.graph.apply(.neg, [a], a.location) }

    public static func + (a: Node, c: Scalar) throws -> Node { try a.graph.apply(.shift(Double(c)), [a], a.location) }
    public static func + (c: Scalar, a: Node) throws -> Node { try a + c }
    public static func - (a: Node, c: Scalar) throws -> Node { try a.graph.apply(.shift(-Double(c)), [a], a.location) }
    public static func - (c: Scalar, a: Node) throws -> Node { try (-a) + c }
    public static func * (a: Node, c: Scalar) throws -> Node { try a.graph.apply(.scale(Double(c)), [a], a.location) }
    public static func * (c: Scalar, a: Node) throws -> Node { try a * c }
    public static func / (a: Node, c: Scalar) throws -> Node { try a.graph.apply(.scale(1 / Double(c)), [a], a.location) }
    public static func / (c: Scalar, a: Node) throws -> Node { try a.graph.apply(.pow(-1), [a], a.location) * c }
}
