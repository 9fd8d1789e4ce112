/// A node of a graph while a gradient rule is written (`GradientRules.swift`), with the arithmetic
/// operators, so a rule reads like its math: `g * y * (y * -2 + 1)`.
///
/// Every node a term builds is recorded at the rule's source location (that of the node being
/// differentiated), and each operator adds exactly one node: `a * b` is `mul`, `a * c` for a number
/// `c` is `scale(c)`, `a + c` is `shift(c)`, `-a` is `neg`. Rules therefore build the same nodes, in
/// the same order, as if written with `apply`; nothing is folded or reordered.
struct GradientTerm<Scalar: TensorScalar> {
    let graph: Graph<Scalar>
    let id: Int
    /// Where the nodes built from this term are recorded.
    let location: SourceLocation

    /// The shape of the term's value.
    var shape: [Int] { graph.records[id].shape }

    /// `op` applied to this term followed by `others`, as a new term.
    func apply(_ op: Operation, _ others: GradientTerm...) throws(GraphError) -> GradientTerm {
        try GradientTerm(graph: graph, id: graph.apply(op, ids: [id] + others.map(\.id), location), location: location)
    }

    static func + (a: Self, b: Self) throws(GraphError) -> Self { try a.apply(.add, b) }
    static func - (a: Self, b: Self) throws(GraphError) -> Self { try a.apply(.sub, b) }
    static func * (a: Self, b: Self) throws(GraphError) -> Self { try a.apply(.mul, b) }
    static func / (a: Self, b: Self) throws(GraphError) -> Self { try a.apply(.div, b) }
    static prefix func - (a: Self) throws(GraphError) -> Self { try a.apply(.neg) }
    /// `scale(c)`.
    static func * (a: Self, c: Double) throws(GraphError) -> Self { try a.apply(.scale(c)) }
    /// `shift(c)`.
    static func + (a: Self, c: Double) throws(GraphError) -> Self { try a.apply(.shift(c)) }

    func exp() throws(GraphError) -> Self { try apply(.exp) }
    func sigmoid() throws(GraphError) -> Self { try apply(.sigmoid) }
    func pow(_ p: Double) throws(GraphError) -> Self { try apply(.pow(p)) }
    func sum(axes: [Int], keepDims: Bool) throws(GraphError) -> Self { try apply(.sum(axes: axes, keepDims: keepDims)) }
    func reshaped(_ shape: [Int]) throws(GraphError) -> Self { try apply(.reshape(shape: shape)) }
    func broadcast(to shape: [Int]) throws(GraphError) -> Self { try apply(.broadcastTo(shape: shape)) }

    /// This gradient of a broadcast result summed back to `input`'s shape (itself when the shapes agree).
    func unbroadcast(to input: Self) throws(GraphError) -> Self {
        let from = shape, to = input.shape
        if from == to { return self }
        let lead = from.count - to.count
        var axes = Array(0..<lead)
        for d in 0..<to.count where to[d] == 1 && from[d + lead] != 1 { axes.append(d + lead) }
        let summed = axes.isEmpty ? self : try sum(axes: axes, keepDims: true)
        return summed.shape == to ? summed : try summed.reshaped(to)
    }

    /// A batched product's contribution to an operand of rank `rank`, summed over the batch
    /// dimensions that operand does not have (a plain matrix shared by every batch).
    func folded(toRank rank: Int) throws(GraphError) -> Self {
        let extra = shape.count - rank
        return extra > 0 ? try sum(axes: Array(0..<extra), keepDims: false) : self
    }
}
