import Foundation
import Tensor

/// What a checkpoint needs to rebuild its model for prediction: the architecture (an MLP's widths and
/// activation, or a whole graph file's text), the loss it was trained on, the batch of a fixed-shape
/// graph and the scalar type. Kept as JSON in the checkpoint's metadata under `ModelDescription.key`,
/// beside the `Preprocessor` under `Preprocessor.key`.
///
/// ```swift
/// let d = ModelDescription.mlp(widths: [30, 64, 1], activation: .relu, loss: .binaryCrossEntropy)
/// checkpointMetadata[ModelDescription.key] = try d.json()
/// ```
public struct ModelDescription: Sendable, Equatable, Codable {
    /// The metadata key of a checkpoint's model description.
    public static let key = "model_description"

    /// `mlp`, `sequential` or `graph`.
    public var kind: String
    /// MLP: input width, hidden widths, output width.
    public var widths: [Int]?
    /// MLP: the activation between layers.
    public var activation: String?
    /// Graph: the graph file's JSON text (with a training section).
    public var graph: String?
    /// Sequential: one sample's input shape and the layers.
    public var inputShape: [Int]?
    public var layers: [LayerSpec]?
    /// The loss's name (`Loss.name`), and Huber's delta.
    public var loss: String?
    public var huberDelta: Double?
    /// `float` or `double`.
    public var scalar: String

    /// An MLP trained on `loss`.
    public static func mlp(widths: [Int], activation: Activation, loss: Loss, scalar: String = "float") -> ModelDescription {
        var delta: Double? = nil
        if case let .huber(d) = loss { delta = d }
        return ModelDescription(kind: "mlp", widths: widths, activation: activation.rawValue, graph: nil, loss: loss.name,
                                huberDelta: delta, scalar: scalar)
    }

    /// A `Sequential` model of `layers` on inputs of `inputShape`, trained on `loss`.
    public static func sequential(inputShape: [Int], layers: [LayerSpec], loss: Loss, scalar: String = "float") -> ModelDescription {
        var d = ModelDescription(kind: "sequential", widths: nil, activation: nil, graph: nil, loss: loss.name,
                                 huberDelta: nil, scalar: scalar)
        if case let .huber(delta) = loss { d.huberDelta = delta }
        d.inputShape = inputShape
        d.layers = layers
        return d
    }

    /// A graph file's model (its loss is in the graph; `loss` names it when known).
    public static func graph(json: String, loss: Loss?, scalar: String = "float") -> ModelDescription {
        var delta: Double? = nil
        if case let .huber(d)? = loss { delta = d }
        return ModelDescription(kind: "graph", widths: nil, activation: nil, graph: json, loss: loss?.name,
                                huberDelta: delta, scalar: scalar)
    }

    /// The loss it was trained on, when it is a known one.
    public var trainedLoss: Loss? {
        guard let loss, var l = Loss(name: loss) else { return nil }
        if case .huber = l, let huberDelta { l = .huber(delta: huberDelta) }
        return l
    }

    /// One line of JSON.
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: try encoder.encode(self), as: UTF8.self)
    }

    /// A description from `json()`'s text.
    public init(json: String) throws {
        do { self = try JSONDecoder().decode(ModelDescription.self, from: Data(json.utf8)) } catch {
            throw CheckpointError.mismatch("the checkpoint's model description cannot be read: \(error)")
        }
    }

    public init(kind: String, widths: [Int]?, activation: String?, graph: String?, loss: String?, huberDelta: Double?,
                scalar: String) {
        self.kind = kind
        self.widths = widths
        self.activation = activation
        self.graph = graph
        self.loss = loss
        self.huberDelta = huberDelta
        self.scalar = scalar
    }
}

extension Preprocessor {
    /// The metadata key of a checkpoint's preprocessing.
    public static let key = "preprocessing"
}
