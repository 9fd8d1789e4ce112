import Tensor

/// A layer described by its kind and sizes, before it is built for an input shape: what
/// `bench train --model` parses (`"dense(128)-relu-dropout(0.1)-dense(10)"`) and what checkpoints
/// record to rebuild a `Sequential` model.
public enum LayerSpec: Sendable, Equatable, Codable, CustomStringConvertible {
    /// A fully connected layer of `units` outputs (`dense(64)`); its input must be a vector per sample.
    case dense(units: Int)
    /// An activation (`relu`, `tanh`, `sigmoid`, `gelu`).
    case activation(Activation)
    /// Each sample flattened to a vector (`flatten`).
    case flatten

    /// Parses specs separated by `-`: `dense(N)`, `relu`, `tanh`, `sigmoid`, `gelu`, `flatten`.
    /// Errors name the bad part and list what is known.
    public static func parse(_ text: String) throws -> [LayerSpec] {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        guard !text.isEmpty, !parts.contains(where: \.isEmpty) else {
            throw ModelSpecError("model '\(text)': layers are separated by single '-', e.g. dense(128)-relu-dense(10)")
        }
        return try parts.map { try parseOne($0, in: text) }
    }

    private static func parseOne(_ part: String, in text: String) throws -> LayerSpec {
        let name: String, arguments: [String]
        if let open = part.firstIndex(of: "(") {
            guard part.hasSuffix(")") else { throw ModelSpecError("model '\(text)': '\(part)' has no closing parenthesis") }
            name = String(part[..<open])
            arguments = part[part.index(after: open)..<part.index(before: part.endIndex)]
                .split(separator: ",", omittingEmptySubsequences: false).map { String($0).trimmingSpaces }
        } else {
            name = part
            arguments = []
        }
        func integers(_ count: ClosedRange<Int>) throws -> [Int] {
            let values = arguments.map { Int($0) }
            guard count.contains(arguments.count), values.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw ModelSpecError("model '\(text)': '\(part)' takes \(count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) to \(count.upperBound)") positive integer\(count.upperBound == 1 ? "" : "s")")
            }
            return values.map { $0! }
        }
        switch name {
        case "dense": return .dense(units: try integers(1...1)[0])
        case "flatten":
            _ = try integers(0...0)
            return .flatten
        default:
            if let a = Activation(rawValue: name), a != .identity {
                _ = try integers(0...0)
                return .activation(a)
            }
            throw ModelSpecError("model '\(text)': unknown layer '\(name)' (known: dense(N), relu, tanh, sigmoid, gelu, flatten)")
        }
    }

    /// Whether the layer reads images `[height, width, channels]` (so a model starting with it gets
    /// its input reshaped to images).
    public var takesImages: Bool {
        switch self {
        case .dense, .activation, .flatten: false
        }
    }

    public var description: String {
        switch self {
        case let .dense(units): "dense(\(units))"
        case let .activation(a): a.rawValue
        case .flatten: "flatten"
        }
    }

    /// Builds the layer for one sample's `inputShape`; `initialization` is the weight scheme of a
    /// dense layer (the activation that follows it decides: He for ReLU-like, Glorot otherwise).
    func build<S: TensorScalar>(graph: Graph<S>, name: String, inputShape: [Int], initialization: WeightInitialization,
                                using generator: inout SeededGenerator) throws -> any Layer<S> {
        switch self {
        case let .dense(units):
            guard inputShape.count == 1 else {
                throw ModelSpecError("\(name) dense(\(units)): its input per sample has shape \(inputShape); put flatten before it")
            }
            return Dense(graph: graph, name: name, inputs: inputShape[0], outputs: units, activation: .identity,
                         initialization: initialization, using: &generator)
        case let .activation(a):
            return ActivationLayer<S>(a, inputShape: inputShape)
        case .flatten:
            return Flatten<S>(inputShape: inputShape)
        }
    }
}

extension String {
    /// Without leading and trailing spaces.
    var trimmingSpaces: String { String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) }
}
