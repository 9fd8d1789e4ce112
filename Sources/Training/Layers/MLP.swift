import Tensor
/// A multilayer perceptron: dense layers of the given widths, `activation` between them, and a
/// linear last layer (it produces logits; the loss applies softmax or sigmoid).
///
/// ```swift
/// let g = Graph<Float>()
/// var rng = SeededGenerator(seed: 42)
/// let mlp = MLP(graph: g, widths: [64, 128, 10], using: &rng)     // 64 inputs, 10 classes
/// let logits = try mlp(g.placeholder("x", shape: [32, 64]))        // [32, 10]
/// ```
public struct MLP<Scalar: TensorScalar> {
    /// Input width, hidden widths, output width.
    public let widths: [Int]
    /// The dense layers in order (`widths.count - 1` of them).
    public let layers: [Dense<Scalar>]

    /// Layers `dense0`, `dense1`, ... initialized in order from `generator` (He for ReLU, Glorot otherwise).
    /// - Precondition: at least two widths, all positive. (`MLP.parseWidths` checks user input.)
    public init(graph: Graph<Scalar>, widths: [Int], activation: Activation = .relu, using generator: inout SeededGenerator) {
        precondition(widths.count >= 2 && widths.allSatisfy { $0 > 0 }, "MLP: need at least two positive widths, got \(widths)")
        self.widths = widths
        var layers: [Dense<Scalar>] = []
        for i in 0..<(widths.count - 1) {
            let last = i == widths.count - 2
            layers.append(Dense(graph: graph, name: "dense\(i)", inputs: widths[i], outputs: widths[i + 1],
                                activation: last ? .identity : activation,
                                initialization: activation.initialization, using: &generator))
        }
        self.layers = layers
    }

    /// The logits for `x` (`[batch, widths.first]` -> `[batch, widths.last]`).
    public func callAsFunction(_ x: Node<Scalar>, file: StaticString = #fileID, line: UInt = #line) throws -> Node<Scalar> {
        var h = x
        for layer in layers { h = try layer(h, file: file, line: line) }
        return h
    }

    /// Every parameter, layer by layer (weight, then bias).
    public var parameters: [Node<Scalar>] { layers.flatMap { [$0.weight, $0.bias] } }

    /// Names and shapes of `parameters`, as checkpoints record them.
    public var parameterShapes: [(name: String, shape: [Int])] {
        layers.enumerated().flatMap { i, l in [("dense\(i).weight", l.weight.shape), ("dense\(i).bias", l.bias.shape)] }
    }

    /// Parses `"64,128,10"` into widths; throws a message naming the bad entry.
    public static func parseWidths(_ text: String) throws -> [Int] {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: " ") }
        var widths: [Int] = []
        for p in parts {
            guard let w = Int(p), w > 0 else { throw ModelSpecError("model widths '\(text)': '\(p)' is not a positive integer") }
            widths.append(w)
        }
        guard widths.count >= 2 else { throw ModelSpecError("model widths '\(text)': need at least an input and an output width") }
        return widths
    }
}

private extension Substring {
    func trimmingCharacters(in set: Character) -> String {
        String(drop(while: { $0 == set }).reversed().drop(while: { $0 == set }).reversed())
    }
}
