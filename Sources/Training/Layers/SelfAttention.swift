import Tensor

/// Causal multi-head self-attention over a sequence `[time, width]` per sample, with its residual
/// connection: `x + (softmax(Q·Kᵀ/sqrt(d) + mask)·V)·Wo`, where `Q = x·Wq`, `K = x·Wk`, `V = x·Wv`
/// are split into `heads` heads of width `d = width / heads`, and the mask hides later positions
/// (position t attends to positions <= t). Weights start Glorot-uniform.
///
/// Built from the fixed operations (batched matmul, transpose, reshape, softmax, a constant mask),
/// so its gradient is the chain rule through them.
///
/// ```swift
/// let specs = try LayerSpec.parse("embedding(65,64)-position-attention(4)-layernorm-last-dense(65)")
/// ```
public struct SelfAttention<Scalar: TensorScalar>: Layer {
    public let queryWeight, keyWeight, valueWeight, outputWeight: Node<Scalar>
    public let heads: Int
    public let outputShape: [Int]
    /// `[time, time]`: 0 on and below the diagonal, -1e9 above it.
    let causalMask: Node<Scalar>

    public init(graph: Graph<Scalar>, name: String, heads: Int, inputShape: [Int], using generator: inout SeededGenerator) throws {
        guard inputShape.count == 2, let width = inputShape.last, width > 0 else {
            throw ModelSpecError("\(name) attention(\(heads)): its input per sample has shape \(inputShape); it needs a sequence [time, width] (put embedding before it)")
        }
        guard heads > 0, width % heads == 0 else {
            throw ModelSpecError("\(name) attention(\(heads)): the width \(width) does not split into \(heads) heads")
        }
        func weight(_ suffix: String) -> Node<Scalar> {
            graph.parameter("\(name).\(suffix)", WeightInitialization.glorot.weights(fanIn: width, fanOut: width, using: &generator))
        }
        queryWeight = weight("query")
        keyWeight = weight("key")
        valueWeight = weight("value")
        outputWeight = weight("output")
        self.heads = heads
        outputShape = inputShape
        let time = inputShape[0]
        var mask = [Scalar](repeating: 0, count: time * time)
        for i in 0..<time { for j in (i + 1)..<Swift.max(i + 1, time) { mask[i * time + j] = -1e9 } }
        causalMask = graph.constant(Tensor(shape: [time, time], scalars: mask))
    }

    public var parameters: [Node<Scalar>] { [queryWeight, keyWeight, valueWeight, outputWeight] }

    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        let (rows, time, width) = (x.shape[0], outputShape[0], outputShape[1])
        let d = width / heads
        // [rows, time, width] -> [rows, heads, time, d]
        func split(_ h: Node<Scalar>) throws -> Node<Scalar> {
            heads == 1 ? h : try h.reshaped([rows, time, heads, d]).transposed([0, 2, 1, 3])
        }
        let q = try split(x.matmul(queryWeight)), k = try split(x.matmul(keyWeight)), v = try split(x.matmul(valueWeight))
        let scores = try q.matmul(k, transposeOther: true) * Scalar(1 / Double(d).squareRoot())
        let weights = try softmax(scores + causalMask, axis: scores.shape.count - 1)
        var attended = try weights.matmul(v)
        if heads > 1 { attended = try attended.transposed([0, 2, 1, 3]).reshaped([rows, time, width]) }
        return try x + attended.matmul(outputWeight)
    }
}
