import Tensor
/// The nonlinearity between dense layers; it also picks the weight initialization that suits it.
public enum Activation: String, Sendable, CaseIterable, Codable {
    case relu, tanh, sigmoid, gelu
    /// No nonlinearity (a linear layer).
    case identity

    /// Adds the activation of `x` to its graph.
    public func callAsFunction<S>(_ x: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
        switch self {
        case .relu: try graphRelu(x, file, line)
        case .tanh: try graphTanh(x, file, line)
        case .sigmoid: try graphSigmoid(x, file, line)
        case .gelu: try graphGelu(x, file, line)
        case .identity: x
        }
    }

    /// He (Kaiming) initialization for ReLU-like units, Glorot (Xavier) otherwise.
    public var initialization: WeightInitialization {
        switch self {
        case .relu, .gelu: .he
        case .tanh, .sigmoid, .identity: .glorot
        }
    }
}

/// How a dense layer's weights are drawn (biases start at zero).
public enum WeightInitialization: String, Sendable, CaseIterable {
    /// Normal with standard deviation `sqrt(2 / fanIn)` (He et al., 2015): keeps ReLU activations' variance.
    case he
    /// Uniform in `±sqrt(6 / (fanIn + fanOut))` (Glorot and Bengio, 2010).
    case glorot

    /// A `[fanIn, fanOut]` weight matrix drawn from `generator` in row-major order.
    public func weights<S: TensorScalar>(fanIn: Int, fanOut: Int, using generator: inout SeededGenerator) -> Tensor<S> {
        switch self {
        case .he:
            return .randomNormal(shape: [fanIn, fanOut], standardDeviation: S((2 / Double(fanIn)).squareRoot()), using: &generator)
        case .glorot:
            let limit = S((6 / Double(fanIn + fanOut)).squareRoot())
            return .randomUniform(shape: [fanIn, fanOut], in: -limit..<limit, using: &generator)
        }
    }
}

// The enum's cases shadow the graph functions of the same names inside it; these reach them.
private func graphRelu<S>(_ x: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> { try relu(x, file: f, line: l) }
private func graphTanh<S>(_ x: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> { try tanh(x, file: f, line: l) }
private func graphSigmoid<S>(_ x: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> { try sigmoid(x, file: f, line: l) }
private func graphGelu<S>(_ x: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> { try gelu(x, file: f, line: l) }
