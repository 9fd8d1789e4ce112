import Tensor

/// Batch normalization over every axis but the last (features of `[rows, features]`, channels of
/// NHWC images), with a learned scale (ones) and shift (zeros) and running statistics (mean zeros,
/// variance ones) as state.
///
/// Training normalizes with the batch's mean and variance, and each training step moves the running
/// statistics toward the batch's: `running = (1 - momentum) · running + momentum · batch` (the
/// variance unbiased, as PyTorch keeps it), inside the training plan. Evaluation and prediction
/// normalize with the running statistics, so a row's prediction does not depend on its batch.
///
/// ```swift
/// let model = try Sequential(graph: g, inputShape: [8, 8, 1],
///                            layers: LayerSpec.parse("conv(16,3)-batchnorm-relu-flatten-dense(10)"), using: &rng)
/// ```
public struct BatchNorm<Scalar: TensorScalar>: Layer {
    public let gamma: Node<Scalar>
    public let beta: Node<Scalar>
    public let runningMean: Node<Scalar>
    public let runningVariance: Node<Scalar>
    public let outputShape: [Int]
    public let epsilon: Double
    /// The weight of a batch's statistics in the running ones (0.1 by default).
    public let momentum: Double

    public init(graph: Graph<Scalar>, name: String, inputShape: [Int], momentum: Double = 0.1, epsilon: Double = 1e-5) throws {
        guard let width = inputShape.last, width > 0 else {
            throw ModelSpecError("\(name) batchnorm: its input per sample has shape \(inputShape); it needs features or channels")
        }
        guard momentum > 0 && momentum <= 1 else {
            throw ModelSpecError("\(name) batchnorm: momentum \(momentum) is outside (0, 1]")
        }
        gamma = graph.parameter("\(name).gamma", .ones(shape: [width]))
        beta = graph.parameter("\(name).beta", .zeros(shape: [width]))
        runningMean = graph.parameter("\(name).running_mean", .zeros(shape: [width]))
        runningVariance = graph.parameter("\(name).running_variance", .ones(shape: [width]))
        outputShape = inputShape
        self.momentum = momentum
        self.epsilon = epsilon
    }

    public var parameters: [Node<Scalar>] { [gamma, beta] }
    public var state: [Node<Scalar>] { [runningMean, runningVariance] }

    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        if training { return try batchNorm(x, gamma: gamma, beta: beta, epsilon: epsilon).output }
        return try batchNorm(x, mean: runningMean, variance: runningVariance, gamma: gamma, beta: beta, epsilon: epsilon)
    }

    public func training(_ x: Node<Scalar>, stateUpdates: inout [StateUpdate<Scalar>]) throws -> Node<Scalar> {
        let bn = try batchNorm(x, gamma: gamma, beta: beta, epsilon: epsilon)
        let keep = Scalar(1 - momentum), take = Scalar(momentum)
        let unbiased = bn.count > 1 ? Scalar(Double(bn.count) / Double(bn.count - 1)) : 1
        stateUpdates.append(StateUpdate(state: runningMean, value: try runningMean * keep + bn.mean * take,
                                        name: parameterName(runningMean)))
        stateUpdates.append(StateUpdate(state: runningVariance, value: try runningVariance * keep + bn.variance * (take * unbiased),
                                        name: parameterName(runningVariance)))
        return bn.output
    }
}
