import Tensor

/// Adds a learned vector to each position of a sequence `[time, width]` (weights start normal with
/// standard deviation 0.02), so the layers after it can tell positions apart.
public struct PositionEmbedding<Scalar: TensorScalar>: Layer {
    public let table: Node<Scalar>
    public let outputShape: [Int]

    public init(graph: Graph<Scalar>, name: String, inputShape: [Int], using generator: inout SeededGenerator) throws {
        guard inputShape.count == 2, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError("\(name) position: its input per sample has shape \(inputShape); it needs a sequence [time, width] (put embedding before it)")
        }
        table = graph.parameter("\(name).table", .randomNormal(shape: inputShape, standardDeviation: 0.02, using: &generator))
        outputShape = inputShape
    }

    public var parameters: [Node<Scalar>] { [table] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> { try x + table }
}

/// The last position of a sequence: `[time, width]` -> `[width]` per sample (what predicts the
/// next element in a causal model).
public struct LastStep<Scalar: TensorScalar>: Layer {
    public let outputShape: [Int]

    public init(inputShape: [Int], name: String) throws {
        guard inputShape.count == 2, inputShape[0] > 0 else {
            throw ModelSpecError("\(name) last: its input per sample has shape \(inputShape); it needs a sequence [time, width]")
        }
        outputShape = [inputShape[1]]
    }

    public var parameters: [Node<Scalar>] { [] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        let time = x.shape[1]
        return try x.slice(axis: 1, (time - 1)..<time).reshaped([x.shape[0]] + outputShape)
    }
}
