import Tensor

/// A value a model keeps besides its parameters and updates while it trains, without the
/// optimizer: batch normalization's running mean and variance. `state` is a parameter node of the
/// model's graph (so plans read it like a weight, and checkpoints save it); `value` is its new
/// value, computed by the training step from the batch. The trainer adds one task per update to the
/// training plan, which copies `value` into `state` once it exists; evaluation and prediction plans
/// only read `state`.
///
/// ```swift
/// let running = g.parameter("bn.running_mean", .zeros(shape: [16]))
/// let bn = try batchNorm(x, gamma: gamma, beta: beta)
/// let update = StateUpdate(state: running, value: try running * 0.9 + bn.mean * 0.1, name: "bn.running_mean")
/// ```
public struct StateUpdate<Scalar: TensorScalar> {
    /// The state's node (a parameter node the optimizer does not update).
    public let state: Node<Scalar>
    /// Its new value, with the state's shape.
    public let value: Node<Scalar>
    /// The state's name (tasks are named `update <name>`).
    public let name: String

    public init(state: Node<Scalar>, value: Node<Scalar>, name: String) {
        precondition(state.shape == value.shape, "StateUpdate \(name): value shape \(value.shape) differs from the state's \(state.shape)")
        self.state = state
        self.value = value
        self.name = name
    }

    /// The update as a plan task: copies the value into the state's storage after every task of the
    /// run that reads the state.
    public var parameterUpdate: ParameterUpdate<Scalar> {
        ParameterUpdate(parameter: state, gradient: value, name: "update \(name)") { stored, computed in
            _ = stored.update(fromContentsOf: computed)
        }
    }
}
