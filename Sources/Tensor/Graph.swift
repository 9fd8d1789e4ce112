/// A computational graph: nodes are placeholders (fed at each run), parameters (persist across runs),
/// constants, and results of operations; edges are the operations' arguments.
///
/// Build it with `Node` handles and Swift operators; shapes are inferred and checked as each node is
/// added, so a bad model fails at the line that builds it. Node ids grow as nodes are added and an
/// operation's inputs always have smaller ids, so id order is a topological order (every walk in
/// the engine is a loop over ids; nothing recurses).
///
/// ```swift
/// let g = Graph<Float>()
/// var rng = SeededGenerator(seed: 1)
/// let x = g.placeholder("x", shape: [64, 784])
/// let w = g.parameter("w", .randomNormal(shape: [784, 10], standardDeviation: 0.01, using: &rng))
/// let b = g.parameter("b", .zeros(shape: [10]))
/// let labels = g.placeholder("labels", shape: [64])
/// let loss = try softmaxCrossEntropy(logits: x.matmul(w) + b, labels: labels)
/// let grads = try g.gradients(of: loss, wrt: [w, b])
/// ```
/// - Note: A graph is built from one thread at a time (it is not `Sendable`); plans built from it run
///   anywhere and share its parameter storage.
public final class Graph<Scalar: TensorScalar> {
    struct Record {
        var operation: Operation
        var inputs: [Int]
        var shape: [Int]
        var location: SourceLocation
        /// Added by `gradients(of:wrt:)` (backward graph) rather than by the model.
        var isGradient: Bool
    }

    var records: [Record] = []
    /// Storage of parameters and constants, by node id.
    private(set) var boxes: [Int: ValueBox<Scalar>] = [:]
    /// True while `gradients(of:wrt:)` adds nodes.
    var buildingGradients = false

    public init() {}

    /// The number of nodes (forward and gradient).
    public var nodeCount: Int { records.count }

    /// Every parameter node, in the order they were added.
    public var parameters: [Node<Scalar>] {
        records.indices.compactMap { if case .parameter = records[$0].operation { Node(graph: self, id: $0) } else { nil } }
    }

    // MARK: Leaves

    /// A value fed at each run (`Plan.run(feeds:)`), of exactly this shape.
    public func placeholder(_ name: String, shape: [Int], file: StaticString = #fileID, line: UInt = #line) -> Node<Scalar> {
        appendLeaf(.placeholder(name: name), shape: shape, value: nil, SourceLocation(file, line))
    }

    /// A trainable value that persists across runs, starting at `value`.
    public func parameter(_ name: String, _ value: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line) -> Node<Scalar> {
        appendLeaf(.parameter(name: name), shape: value.shape, value: value, SourceLocation(file, line))
    }

    /// A fixed value.
    public func constant(_ value: Tensor<Scalar>, file: StaticString = #fileID, line: UInt = #line) -> Node<Scalar> {
        appendLeaf(.constant, shape: value.shape, value: value, SourceLocation(file, line))
    }

    /// A fixed scalar (shape `[]`, broadcasts against anything).
    public func scalar(_ value: Scalar, file: StaticString = #fileID, line: UInt = #line) -> Node<Scalar> {
        appendLeaf(.constant, shape: [], value: Tensor(scalar: value), SourceLocation(file, line))
    }

    private func appendLeaf(_ op: Operation, shape: [Int], value: Tensor<Scalar>?, _ location: SourceLocation) -> Node<Scalar> {
        let id = records.count
        records.append(Record(operation: op, inputs: [], shape: shape, location: location, isGradient: buildingGradients))
        if let value { boxes[id] = ValueBox(value) }
        return Node(graph: self, id: id)
    }

    // MARK: Operations

    /// Adds an operation node after checking that the inputs belong to this graph and fit the op.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func apply(_ op: Operation, _ inputs: [Node<Scalar>], _ location: SourceLocation) throws(GraphError) -> Node<Scalar> {
        for x in inputs where x.graph !== self || x.id >= records.count {
            throw GraphError(operation: op.name, shapes: inputs.map(\.shape), location: location,
                             message: "input node \(x.id) belongs to another graph")
        }
        let shapes = inputs.map { records[$0.id].shape }
        let shape: [Int]
        do { shape = try op.inferShape(shapes) } catch {
            throw GraphError(operation: op.name, shapes: shapes, location: location, message: error.text)
        }
        let id = records.count
        records.append(Record(operation: op, inputs: inputs.map(\.id), shape: shape, location: location,
                              isGradient: buildingGradients))
        return Node(graph: self, id: id)
    }

    /// `apply` on node ids, for the gradient rules (which work on ids to stay light on huge graphs).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func apply(_ op: Operation, ids inputs: [Int], _ location: SourceLocation) throws(GraphError) -> Int {
        let shapes = inputs.map { records[$0].shape }
        let shape: [Int]
        do { shape = try op.inferShape(shapes) } catch {
            throw GraphError(operation: op.name, shapes: shapes, location: location, message: error.text)
        }
        records.append(Record(operation: op, inputs: inputs, shape: shape, location: location, isGradient: buildingGradients))
        return records.count - 1
    }

    // MARK: Values of parameters and constants

    /// The current value of a parameter or constant (a copy).
    public func value(of node: Node<Scalar>) throws -> Tensor<Scalar> {
        try box(of: node, for: "value").tensor
    }

    /// Replaces the value of a parameter (or constant), e.g. when loading a checkpoint; the shape must
    /// match. Do not call while a plan using it runs.
    public func setValue(_ value: Tensor<Scalar>, of node: Node<Scalar>) throws {
        let box = try box(of: node, for: "setValue")
        guard value.shape == box.shape else {
            throw GraphError(operation: "setValue", shapes: [box.shape, value.shape], location: records[node.id].location,
                             message: "a value of shape \(value.shape) cannot replace one of shape \(box.shape)")
        }
        value.withUnsafeBufferPointer { src in
            _ = UnsafeMutableBufferPointer(rebasing: box.buffer[0..<src.count]).update(fromContentsOf: src)
        }
    }

    /// Calls `body` with the live storage of a parameter, for optimizers and checkpoints that work in
    /// place. Do not call while a plan using it runs.
    public func withUnsafeMutableValue<R>(of node: Node<Scalar>, _ body: (UnsafeMutableBufferPointer<Scalar>) throws -> R) throws -> R {
        let box = try box(of: node, for: "withUnsafeMutableValue")
        return try body(UnsafeMutableBufferPointer(rebasing: box.buffer[0..<box.shape.reduce(1, *)]))
    }

    func box(of node: Node<Scalar>, for api: String) throws(GraphError) -> ValueBox<Scalar> {
        guard node.graph === self, node.id < records.count else {
            throw GraphError(operation: api, shapes: [], message: "node \(node.id) belongs to another graph")
        }
        guard let box = boxes[node.id] else {
            let r = records[node.id]
            throw GraphError(operation: api, shapes: [r.shape], location: r.location,
                             message: "node \(node.id) is a \(r.operation.name), not a parameter or constant")
        }
        return box
    }
}
