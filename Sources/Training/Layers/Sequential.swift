import Tensor

/// Layers applied one after another: a model the trainer takes (`TrainableModel`), built from a
/// list of `LayerSpec`s (in Swift, or parsed from `bench train --model "dense(128)-relu-dense(10)"`).
///
/// ```swift
/// let specs = try LayerSpec.parse("conv(16,3)-relu-maxpool(2)-flatten-dense(64)-relu-dense(10)")
/// let cnn = try Sequential(graph: Graph<Float>(), inputShape: [8, 8, 1], layers: specs, using: &rng)
/// let trainer = try Trainer(model: cnn, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(1e-3)),
///                           batchSize: 32, seed: 1, executor: nil)
/// ```
public struct Sequential<Scalar: TensorScalar>: TrainableModel {
    /// One sample's input shape.
    public let inputShape: [Int]
    /// The layers, in order.
    public let layers: [any Layer<Scalar>]
    /// The specs the layers were built from (for descriptions and checkpoints).
    public let specs: [LayerSpec]

    /// Builds every layer in order (named `layer<i>.<parameter>`), each from the previous one's output
    /// shape, drawing initial weights from `generator`. Throws when a layer does not fit its input.
    public init(graph: Graph<Scalar>, inputShape: [Int], layers specs: [LayerSpec], using generator: inout SeededGenerator) throws {
        guard !inputShape.isEmpty, inputShape.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError("input shape \(inputShape): dimensions must be positive")
        }
        var shape = inputShape
        var layers: [any Layer<Scalar>] = []
        var step: Node<Scalar>? = nil
        let makeStep = { () -> Node<Scalar> in
            if step == nil { step = graph.placeholder("sequential.step", shape: [2]) }
            return step!
        }
        for (i, spec) in specs.enumerated() {
            let layer = try spec.build(graph: graph, name: "layer\(i)", inputShape: shape,
                                       initialization: Sequential.initialization(forLayerAt: i, of: specs),
                                       step: makeStep, using: &generator) as any Layer<Scalar>
            shape = layer.outputShape
            layers.append(layer)
        }
        guard shape.count == 1 else {
            throw ModelSpecError("the model's output per sample has shape \(shape): end with flatten and a dense layer (one vector per sample)")
        }
        self.inputShape = inputShape
        self.layers = layers
        self.specs = specs
        stepPlaceholder = step
    }

    /// The placeholder dropout layers read the optimizer step and the batch's first row in the
    /// global batch from (two values; nil without dropout): see `dropout(_:rate:seed:step:)`.
    public let stepPlaceholder: Node<Scalar>?

    /// The weight scheme of layer `i`: the one the next activation calls for; for a last linear
    /// layer, the one of the model's activations before it (as `MLP` does); Glorot without any.
    static func initialization(forLayerAt i: Int, of specs: [LayerSpec]) -> WeightInitialization {
        let activation = { (s: LayerSpec) -> Activation? in if case let .activation(a) = s { a } else { nil } }
        if let next = specs[(i + 1)...].lazy.compactMap(activation).first { return next.initialization }
        if let before = specs[..<i].reversed().lazy.compactMap(activation).first { return before.initialization }
        return .glorot
    }

    public var parameters: [Node<Scalar>] { layers.flatMap { $0.parameters } }
    public var parameterNames: [String] { layers.flatMap { $0.parameterNames } }
    public var state: [Node<Scalar>] { layers.flatMap { $0.state } }
    public var stateNames: [String] { layers.flatMap { $0.stateNames } }
    /// One sample's output width.
    public var outputWidth: Int { layers.last?.outputShape.reduce(1, *) ?? inputShape.reduce(1, *) }

    public func prediction(_ input: Node<Scalar>) throws -> Node<Scalar> { try prediction(input, training: false) }

    public func prediction(_ input: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        var h = input
        for layer in layers { h = try layer(h, training: training) }
        return h
    }

    public func trainingPrediction(_ input: Node<Scalar>) throws -> (prediction: Node<Scalar>, stateUpdates: [StateUpdate<Scalar>]) {
        var h = input
        var updates: [StateUpdate<Scalar>] = []
        for layer in layers { h = try layer.training(h, stateUpdates: &updates) }
        return (h, updates)
    }

    /// The specs as `bench train --model` takes them.
    public var description: String { specs.map(\.description).joined(separator: "-") }
}
