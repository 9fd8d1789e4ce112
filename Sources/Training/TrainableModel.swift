import Tensor

/// A model the trainer can build at any batch size: it owns parameter nodes in one graph and maps
/// an input batch `[rows] + inputShape` to a prediction `[rows, outputs]` (logits for the
/// classification losses, values for regression). `MLP` is one; write your own for any architecture.
///
/// ```swift
/// struct Linear: TrainableModel {
///     let w, b: Node<Double>
///     var parameters: [Node<Double>] { [w, b] }
///     var inputShape: [Int] { [w.shape[0]] }
///     func prediction(_ x: Node<Double>) throws -> Node<Double> { try x.matmul(w) + b }
/// }
/// let trainer = try Trainer(model: Linear(...), loss: .meanSquaredError, optimizer: .sgd(learningRate: .constant(0.1)),
///                           batchSize: 16, seed: 1, executor: nil)
/// ```
public protocol TrainableModel<Scalar> {
    associatedtype Scalar: TensorScalar
    /// The parameters training updates (all in one graph), in a fixed order.
    var parameters: [Node<Scalar>] { get }
    /// Their names as checkpoints record them (default: the names the graph's parameter nodes carry).
    var parameterNames: [String] { get }
    /// One sample's input shape without the batch dimension (e.g. `[64]`, or `[8, 8, 1]` for an image).
    var inputShape: [Int] { get }
    /// The prediction for a batch of inputs `[rows] + inputShape` (as evaluated and predicted).
    func prediction(_ input: Node<Scalar>) throws -> Node<Scalar>
    /// The prediction as trained (`training: true`: dropout on) or evaluated; by default the same graph.
    func prediction(_ input: Node<Scalar>, training: Bool) throws -> Node<Scalar>
    /// A placeholder the trainer feeds with the optimizer step before every training run (dropout
    /// masks change with it): one value, or two, the second being the batch's first row in the
    /// global batch of a data-parallel run (0 alone), so that ranks draw one process's masks (see
    /// `dropout(_:rate:seed:step:)`); nil by default.
    var stepPlaceholder: Node<Scalar>? { get }
    /// Values the model keeps that the optimizer does not train (batch normalization's running
    /// statistics), in a fixed order: saved in checkpoints after the parameters. None by default.
    var state: [Node<Scalar>] { get }
    /// Their names (default: the names of the parameter nodes that hold them).
    var stateNames: [String] { get }
    /// The prediction as a training step computes it, with the updates of the model's state that the
    /// step runs (default: `prediction(input, training: true)` and no updates).
    func trainingPrediction(_ input: Node<Scalar>) throws -> (prediction: Node<Scalar>, stateUpdates: [StateUpdate<Scalar>])
}

extension TrainableModel {
    public var parameterNames: [String] { parameters.map(parameterName) }
    public func prediction(_ input: Node<Scalar>, training: Bool) throws -> Node<Scalar> { try prediction(input) }
    public var stepPlaceholder: Node<Scalar>? { nil }
    public var state: [Node<Scalar>] { [] }
    public var stateNames: [String] { state.map(parameterName) }
    public func trainingPrediction(_ input: Node<Scalar>) throws -> (prediction: Node<Scalar>, stateUpdates: [StateUpdate<Scalar>]) {
        (try prediction(input, training: true), [])
    }
}

/// The name a parameter node was created with (`%id` for other nodes).
func parameterName<S>(_ node: Node<S>) -> String {
    if case let .parameter(name) = node.operation { return name }
    return "%\(node.id)"
}

extension MLP: TrainableModel {
    public var inputShape: [Int] { [widths[0]] }
    public func prediction(_ input: Node<Scalar>) throws -> Node<Scalar> { try self(input) }
    public var parameterNames: [String] { parameterShapes.map(\.name) }
}
