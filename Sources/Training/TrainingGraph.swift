import Tensor

/// A graph built with fixed shapes, with the nodes training needs named: the input placeholders
/// (each fed from some feature columns), the target placeholder, the prediction, the scalar loss
/// and the parameters. Any graph qualifies; the batch size is the placeholders' leading dimension.
///
/// ```swift
/// let g = Graph<Float>()
/// let x = g.placeholder("x", shape: [32, 4]), y = g.placeholder("y", shape: [32])
/// let logits = try mlp(x)
/// let loss = try Loss.crossEntropy(prediction: logits, target: y)
/// let spec = try TrainingGraph(inputs: [.init(x)], target: y, prediction: logits, loss: loss)
/// let trainer = try Trainer(graph: spec, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(1e-3)),
///                           seed: 1, executor: nil)
/// ```
///
/// Static shapes, as in XLA: an epoch trains on its whole batches (the rows of the seeded order that
/// do not fill a last batch wait for a later epoch's order); evaluation and prediction run every row,
/// the last window overlapping the one before it.
public struct TrainingGraph<Scalar: TensorScalar> {
    /// An input placeholder `[batch, ...]` and the feature columns it is fed from (nil: all, in order).
    public struct Input {
        public var placeholder: Node<Scalar>
        public var columns: [Int]?
        public init(_ placeholder: Node<Scalar>, columns: [Int]? = nil) {
            self.placeholder = placeholder
            self.columns = columns
        }
        /// Values per row the placeholder takes.
        public var rowWidth: Int { placeholder.shape.dropFirst().reduce(1, *) }
    }

    public let inputs: [Input]
    /// Class indices `[batch]` (cross-entropy) or values `[batch, targets]`.
    public let target: Node<Scalar>
    /// What the model outputs: `[batch, outputs]` logits or values.
    public let prediction: Node<Scalar>
    /// A scalar that depends on the prediction and the target.
    public let loss: Node<Scalar>
    /// What training updates.
    public let parameters: [Node<Scalar>]
    /// Rows per batch: the leading dimension of every input, the target and the prediction.
    public var batchSize: Int { target.shape[0] }

    /// Checks the nodes: one graph, placeholders for inputs and target sharing a leading dimension,
    /// a prediction with it too, a scalar loss that depends on the prediction and the target and on
    /// no placeholder left unfed. `parameters` nil: every parameter the loss depends on, in id order.
    public init(inputs: [Input], target: Node<Scalar>, prediction: Node<Scalar>, loss: Node<Scalar>,
                parameters: [Node<Scalar>]? = nil) throws {
        let graph = loss.graph
        guard !inputs.isEmpty else { throw ModelSpecError("a training graph needs at least one input placeholder") }
        for node in inputs.map(\.placeholder) + [target, prediction] where node.graph !== graph {
            throw ModelSpecError("node \(node) belongs to another graph than the loss")
        }
        guard loss.shape.isEmpty else {
            throw ModelSpecError("the loss (\(loss)) must be a scalar, its shape is \(loss.shape)")
        }
        var fed = Set<Int>()
        for node in inputs.map(\.placeholder) + [target] {
            guard case .placeholder = node.operation else {
                throw ModelSpecError("inputs and target must be placeholders: \(node) is a \(node.operation.name)")
            }
            guard fed.insert(node.id).inserted else { throw ModelSpecError("placeholder \(node) is fed twice") }
            guard let rows = node.shape.first else {
                throw ModelSpecError("placeholder \(node) has no batch dimension (shape \(node.shape))")
            }
            guard rows == target.shape.first, rows > 0 else {
                throw ModelSpecError("placeholder \(node) has \(rows) rows, the target \(target.shape.first ?? 0): the leading (batch) dimension must agree and be positive")
            }
        }
        guard prediction.shape.first == target.shape[0] else {
            throw ModelSpecError("the prediction \(prediction) has shape \(prediction.shape): its leading dimension must be the batch, \(target.shape[0])")
        }
        let needs = ancestors(of: loss)
        guard needs[prediction.id] != nil else { throw ModelSpecError("the loss \(loss) does not depend on the prediction \(prediction)") }
        guard needs[target.id] != nil else { throw ModelSpecError("the loss \(loss) does not depend on the target \(target)") }
        for id in needs.keys.sorted() {
            let node = needs[id]!
            if case let .placeholder(name) = node.operation, !fed.contains(id) {
                throw ModelSpecError("the loss depends on placeholder '\(name)' (\(node)), which is neither an input nor the target")
            }
        }
        let params = parameters ?? needs.keys.sorted().map { needs[$0]! }.filter {
            if case .parameter = $0.operation { true } else { false }
        }
        for p in params {
            guard case .parameter = p.operation, p.graph === graph else {
                throw ModelSpecError("\(p) is not a parameter of the loss's graph")
            }
        }
        guard !params.isEmpty else { throw ModelSpecError("the loss \(loss) depends on no parameter: nothing to train") }
        self.inputs = inputs
        self.target = target
        self.prediction = prediction
        self.loss = loss
        self.parameters = params
    }
}

/// `node` and every node it depends on, by id (an iterative walk: deep graphs do not overflow the stack).
func ancestors<S>(of node: Node<S>) -> [Int: Node<S>] {
    var seen: [Int: Node<S>] = [node.id: node]
    var stack = [node]
    while let n = stack.popLast() {
        for input in n.inputs where seen.updateValue(input, forKey: input.id) == nil { stack.append(input) }
    }
    return seen
}
