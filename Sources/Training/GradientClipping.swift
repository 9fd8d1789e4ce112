import Tensor

// Note [Gradient clipping]: clipping by global norm needs every gradient of the step before any
// update, so it is part of the training graph: the squares of all gradients summed (each
// gradient's sum, then the parameters in order), the norm, the factor
// `min(1, clipNorm / (norm + 1e-6))`, and each gradient times the factor; the updates read those.
// The plan then orders every update after the last gradient, and an SGD step is no longer folded
// into its gradient's product (the gradient is the scaled node). When the gradients are within the
// norm the factor is exactly 1 and the updates see the gradients unchanged. In a data-parallel run
// the norm is that of the summed gradient, so the exchange clips after the sum, not the graph
// (`GradientExchange`; Distributed's reducer computes the same factor from the summed buckets).

enum GradientClipping {
    /// `gradients` scaled to a global L2 norm of at most `maxNorm` (Note [Gradient clipping]).
    static func clipped<Scalar: TensorScalar>(_ gradients: [Node<Scalar>], maxNorm: Float) throws -> [Node<Scalar>] {
        guard let first = gradients.first else { return gradients }
        var total = try square(first).sum()
        for g in gradients.dropFirst() { total = try total + square(g).sum() }
        let norm = try sqrt(total)
        let factor = try clamp(Scalar(Double(maxNorm)) / (norm + Scalar(1e-6)), max: 1)
        return try gradients.map { try $0 * factor }
    }
}
