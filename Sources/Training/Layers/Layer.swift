import Tensor

/// One stage of a model: owns its parameters (created when the layer is built, with standard
/// initializations) and maps a batch `[rows] + inputShape` to `[rows] + outputShape`. Applying a
/// layer only adds nodes, so one layer serves batches of every size in one graph.
///
/// ```swift
/// let g = Graph<Float>()
/// var rng = SeededGenerator(seed: 1)
/// let model = try Sequential(graph: g, inputShape: [64], layers: [.dense(128), .relu, .dense(10)], using: &rng)
/// let logits = try model.prediction(g.placeholder("x", shape: [32, 64]))    // [32, 10]
/// ```
public protocol Layer<Scalar> {
    associatedtype Scalar: TensorScalar
    /// The parameters training updates, in a fixed order.
    var parameters: [Node<Scalar>] { get }
    /// Their names (unique within a model: layers are named by their position).
    var parameterNames: [String] { get }
    /// One sample's output shape.
    var outputShape: [Int] { get }
    /// The layer applied to a batch; `training` is false for evaluation and prediction (dropout is off).
    func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar>
    /// Values the layer keeps that the optimizer does not train (batch normalization's running
    /// statistics): saved in checkpoints, updated by `training(_:stateUpdates:)`. None by default.
    var state: [Node<Scalar>] { get }
    /// The state's names (unique within a model).
    var stateNames: [String] { get }
    /// The layer as a training step applies it, appending the updates of its state (by default the
    /// same as `self(x, training: true)`, with no updates).
    func training(_ x: Node<Scalar>, stateUpdates: inout [StateUpdate<Scalar>]) throws -> Node<Scalar>
}

extension Layer {
    public var parameterNames: [String] { parameters.map(parameterName) }
    public var state: [Node<Scalar>] { [] }
    public var stateNames: [String] { state.map(parameterName) }
    public func training(_ x: Node<Scalar>, stateUpdates: inout [StateUpdate<Scalar>]) throws -> Node<Scalar> {
        try self(x, training: true)
    }
}

/// Reshapes each sample to one dimension: `[rows, a, b, c]` -> `[rows, a*b*c]`.
public struct Flatten<Scalar: TensorScalar>: Layer {
    public let outputShape: [Int]
    public init(inputShape: [Int]) { outputShape = [inputShape.reduce(1, *)] }
    public var parameters: [Node<Scalar>] { [] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        try x.reshaped([x.shape[0]] + outputShape)
    }
}

/// An activation as a layer of its own (`relu`, `tanh`, `sigmoid`, `gelu`).
public struct ActivationLayer<Scalar: TensorScalar>: Layer {
    public let activation: Activation
    public let outputShape: [Int]
    public init(_ activation: Activation, inputShape: [Int]) {
        self.activation = activation
        outputShape = inputShape
    }
    public var parameters: [Node<Scalar>] { [] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> { try activation(x) }
}

extension Dense: Layer {
    public var outputShape: [Int] { [outputs] }
    public var parameters: [Node<Scalar>] { [weight, bias] }
    public var parameterNames: [String] { [parameterName(weight), parameterName(bias)] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> { try self(x) }
}
