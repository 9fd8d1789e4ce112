import Tensor
/// A fully connected layer `y = activation(x · weight + bias)` whose weight `[inputs, outputs]` and
/// bias `[outputs]` are parameters of a graph.
///
/// The layer only owns parameter nodes; applying it to an input adds nodes, so one layer can serve
/// several inputs (e.g. a training batch and an evaluation batch of another size) in one graph.
/// ```swift
/// let g = Graph<Float>()
/// var rng = SeededGenerator(seed: 1)
/// let layer = Dense(graph: g, name: "dense0", inputs: 64, outputs: 128, activation: .relu, using: &rng)
/// let h = try layer(g.placeholder("x", shape: [32, 64]))     // [32, 128]
/// ```
public struct Dense<Scalar: TensorScalar> {
    /// The `[inputs, outputs]` weight parameter.
    public let weight: Node<Scalar>
    /// The `[outputs]` bias parameter.
    public let bias: Node<Scalar>
    /// Applied after the affine map (`.identity` for a linear layer).
    public let activation: Activation

    /// Creates the parameters `<name>.weight` (initialized by `initialization`, by default the one
    /// `activation` calls for) and `<name>.bias` (zeros).
    public init(graph: Graph<Scalar>, name: String, inputs: Int, outputs: Int, activation: Activation,
                initialization: WeightInitialization? = nil, using generator: inout SeededGenerator) {
        precondition(inputs > 0 && outputs > 0, "Dense '\(name)': widths must be positive, got \(inputs) -> \(outputs)")
        let scheme = initialization ?? activation.initialization
        weight = graph.parameter("\(name).weight", scheme.weights(fanIn: inputs, fanOut: outputs, using: &generator))
        bias = graph.parameter("\(name).bias", .zeros(shape: [outputs]))
        self.activation = activation
    }

    /// The layer applied to `x` (`[batch, inputs]`).
    public func callAsFunction(_ x: Node<Scalar>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<Scalar> {
        try activation(x.matmul(weight, file: file, line: line) + bias, file: file, line: line)
    }

    /// Input width.
    public var inputs: Int { weight.shape[0] }
    /// Output width.
    public var outputs: Int { weight.shape[1] }
}
