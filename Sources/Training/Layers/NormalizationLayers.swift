import Tensor

/// Layer normalization over each sample's last axis, with a learned scale (ones) and shift (zeros).
public struct LayerNorm<Scalar: TensorScalar>: Layer {
    public let gamma: Node<Scalar>
    public let beta: Node<Scalar>
    public let outputShape: [Int]
    public let epsilon: Double

    public init(graph: Graph<Scalar>, name: String, inputShape: [Int], epsilon: Double = 1e-5) {
        let width = inputShape.last ?? 1
        gamma = graph.parameter("\(name).gamma", .ones(shape: [width]))
        beta = graph.parameter("\(name).beta", .zeros(shape: [width]))
        outputShape = inputShape
        self.epsilon = epsilon
    }

    public var parameters: [Node<Scalar>] { [gamma, beta] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        try layerNorm(x, gamma: gamma, beta: beta, epsilon: epsilon)
    }
}

/// Dropout while training (a new mask every optimizer step, from `seed` and the step the trainer
/// feeds into `step`); the identity in evaluation and prediction.
public struct Dropout<Scalar: TensorScalar>: Layer {
    public let rate: Double
    public let seed: Int
    /// The model's step placeholder (shape `[]`), fed by the trainer with the optimizer step.
    public let step: Node<Scalar>
    public let outputShape: [Int]

    public init(rate: Double, seed: Int, step: Node<Scalar>, inputShape: [Int]) {
        self.rate = rate
        self.seed = seed
        self.step = step
        outputShape = inputShape
    }

    public var parameters: [Node<Scalar>] { [] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        training ? try dropout(x, rate: rate, seed: seed, step: step) : x
    }
}

/// Looks up a learned vector for each index: integer indices `[T]` per sample (stored as numbers)
/// become `[T, dimension]`. Weights start normal with standard deviation 1/sqrt(dimension).
public struct Embedding<Scalar: TensorScalar>: Layer {
    public let table: Node<Scalar>
    public let outputShape: [Int]

    public init(graph: Graph<Scalar>, name: String, vocabulary: Int, dimension: Int, inputShape: [Int],
                using generator: inout SeededGenerator) {
        table = graph.parameter("\(name).table", .randomNormal(shape: [vocabulary, dimension],
                                                               standardDeviation: Scalar(1 / Double(dimension).squareRoot()),
                                                               using: &generator))
        outputShape = inputShape + [dimension]
    }

    public var parameters: [Node<Scalar>] { [table] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        try embedding(table, indices: x)
    }
}
