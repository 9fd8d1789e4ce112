/// Batch normalization over every axis but the last (the channels): for dense activations
/// `[rows, features]` each feature is normalized over the batch; for NHWC images
/// `[batch, height, width, channels]` each channel over the batch and every pixel.
///
/// Batch normalization is a composite of the fixed operations (mean, subtraction, square, shift,
/// square root, division, multiplication, addition), not an operation of its own: its gradient is
/// the chain rule through them (checked against finite differences in Double), and a graph file
/// stores it as those operations. Its training and inference forms differ in where the statistics
/// come from:
/// - `batchNorm(_:gamma:beta:epsilon:)` (training) normalizes with the batch's own mean and
///   (biased) variance and returns them, so the caller can update running statistics from them:
///   `Training`'s `BatchNorm` layer does so inside the training plan, as a state update that runs
///   once the batch statistics exist (see `ParameterUpdate`).
/// - `batchNorm(_:mean:variance:gamma:beta:epsilon:)` (inference) normalizes with given statistics
///   (the running ones), so a prediction does not depend on the other rows of its batch.
///
/// ```swift
/// let gamma = g.parameter("bn.gamma", .ones(shape: [16])), beta = g.parameter("bn.beta", .zeros(shape: [16]))
/// let train = try batchNorm(conv, gamma: gamma, beta: beta)          // conv: [32, 8, 8, 16]
/// let h = try relu(train.output)                                     // train.mean, train.variance: [16]
/// ```
public struct BatchNormalized<Scalar: TensorScalar> {
    /// `gamma · (x - mean) / sqrt(variance + epsilon) + beta`, with `x`'s shape.
    public let output: Node<Scalar>
    /// The batch mean per channel, `[channels]`.
    public let mean: Node<Scalar>
    /// The batch's biased variance per channel (divided by the number of values averaged), `[channels]`.
    public let variance: Node<Scalar>
    /// How many values each channel's statistics average (the product of every axis but the last):
    /// `variance · count / (count - 1)` is the unbiased estimate running statistics usually keep.
    public let count: Int
}

/// Batch normalization with the batch's statistics (training); see `BatchNormalized`.
/// `gamma` and `beta` have shape `[channels]`, the last dimension of `x`; `x` has rank 2 or more.
public func batchNorm<S>(_ x: Node<S>, gamma: Node<S>, beta: Node<S>, epsilon: Double = 1e-5,
                         file: StaticString = #fileID, line: UInt = #line) throws -> BatchNormalized<S> {
    try checkBatchNorm(x, [("gamma", gamma), ("beta", beta)], epsilon: epsilon, SourceLocation(file, line))
    let axes = Array(0..<(x.shape.count - 1))
    let mean = try x.mean(axes: axes, file: file, line: line)
    let centered = try x - mean
    let variance = try square(centered, file: file, line: line).mean(axes: axes, file: file, line: line)
    let inverse = try 1 / sqrt(variance + S(epsilon), file: file, line: line)
    let output = try centered * (gamma * inverse) + beta
    return BatchNormalized(output: output, mean: mean, variance: variance,
                           count: x.shape.dropLast().reduce(1, *))
}

/// Batch normalization with given statistics (inference): `gamma · (x - mean) / sqrt(variance +
/// epsilon) + beta`, each of `mean`, `variance`, `gamma`, `beta` of shape `[channels]`.
public func batchNorm<S>(_ x: Node<S>, mean: Node<S>, variance: Node<S>, gamma: Node<S>, beta: Node<S>,
                         epsilon: Double = 1e-5, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
    try checkBatchNorm(x, [("mean", mean), ("variance", variance), ("gamma", gamma), ("beta", beta)],
                       epsilon: epsilon, SourceLocation(file, line))
    let scale = try gamma / sqrt(variance + S(epsilon), file: file, line: line)
    return try (x - mean) * scale + beta
}

/// Build-time checks: rank, channel vectors, a positive epsilon, nodes of one graph.
private func checkBatchNorm<S>(_ x: Node<S>, _ vectors: [(String, Node<S>)], epsilon: Double,
                               _ location: SourceLocation) throws {
    let shapes = [x.shape] + vectors.map(\.1.shape)
    func fail(_ message: String) -> GraphError {
        GraphError(operation: "batch_norm", shapes: shapes, location: location, message: message)
    }
    guard x.shape.count >= 2 else {
        throw fail("the input needs rank 2 or more ([rows, features] or NHWC images), got rank \(x.shape.count)")
    }
    let channels = x.shape.last!
    guard x.shape.dropLast().reduce(1, *) > 0 else { throw fail("the batch is empty: no values to take statistics of") }
    for (name, v) in vectors {
        guard v.graph === x.graph else { throw fail("\(name) belongs to another graph") }
        guard v.shape == [channels] else {
            throw fail("\(name) has shape \(v.shape), expected [\(channels)] (one value per channel, the input's last axis)")
        }
    }
    guard epsilon > 0, epsilon.isFinite else { throw fail("epsilon must be positive and finite, got \(epsilon)") }
}
