import Tensor
/// The cost functions a model can be trained on, built from the graph's fused loss operations.
///
/// ```swift
/// let loss = try Loss.softmaxCrossEntropy(logits: logits, targets: labels)  // labels: [N], classes as scalars
/// ```
public enum Loss: String, Sendable, CaseIterable {
    /// `mean((prediction - target)^2)`; targets have the prediction's shape.
    case meanSquaredError
    /// Mean binary cross-entropy of `sigmoid(logits)` against targets in [0, 1], stable for large logits.
    case binaryCrossEntropyWithLogits
    /// Mean softmax cross-entropy of logits `[N, C]` against integer class labels `[N]` (stored as scalars).
    case softmaxCrossEntropy

    /// The loss node (a scalar) for `logits` against `targets`.
    public func callAsFunction<S>(logits: Node<S>, targets: Node<S>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<S> {
        switch self {
        case .meanSquaredError: try graphMSE(logits, targets, file, line)
        case .binaryCrossEntropyWithLogits: try graphBCE(logits, targets, file, line)
        case .softmaxCrossEntropy: try graphSoftmaxCE(logits, targets, file, line)
        }
    }
}

// The enum's cases shadow the graph functions of the same names inside it; these reach them.
private func graphMSE<S>(_ p: Node<S>, _ t: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> {
    try meanSquaredError(p, t, file: f, line: l)
}
private func graphBCE<S>(_ p: Node<S>, _ t: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> {
    try binaryCrossEntropyWithLogits(p, t, file: f, line: l)
}
private func graphSoftmaxCE<S>(_ p: Node<S>, _ t: Node<S>, _ f: StaticString, _ l: UInt) throws -> Node<S> {
    try softmaxCrossEntropy(logits: p, labels: t, file: f, line: l)
}
