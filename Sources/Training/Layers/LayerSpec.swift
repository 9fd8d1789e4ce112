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
    /// A convolution of images (`conv(16,3)`: 16 filters of 3x3, stride 1, padding kernel/2 so odd
    /// kernels keep the size; `conv(F,K,S)` and `conv(F,K,S,P)` set stride and padding).
    case conv(filters: Int, kernel: Int, stride: Int, padding: Int)
    /// Dropout at `rate` while training (`dropout(0.1)`).
    case dropout(rate: Double)
    /// Layer normalization over the last axis (`layernorm`).
    case layerNorm
    /// A learned vector per integer index (`embedding(vocabulary,dimension)`).
    case embedding(vocabulary: Int, dimension: Int)
    /// Max pooling of images (`maxpool(2)`, or `maxpool(3,2)` with a stride).
    case maxPool(kernel: Int, stride: Int)
    /// Average pooling of images (`avgpool(2)`, `avgpool(3,2)`).
    case averagePool(kernel: Int, stride: Int)
    /// Global average pooling of images to one vector of channels (`globalavgpool`).
    case globalAveragePool
    /// Batch normalization over every axis but the last, with running statistics (`batchnorm`).
    case batchNorm
    /// Causal multi-head self-attention over a sequence, with its residual connection (`attention(H)`).
    case attention(heads: Int)
    /// A learned vector added to each position of a sequence (`position`).
    case position
    /// The last position of a sequence (`last`).
    case lastStep

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
        case "conv":
            guard (2...4).contains(arguments.count), let v = Optional(arguments.map { Int($0) }),
                  v.allSatisfy({ $0 != nil }), v[0]! > 0, v[1]! > 0, v.count < 3 || v[2]! > 0, v.count < 4 || v[3]! >= 0 else {
                throw ModelSpecError("model '\(text)': '\(part)' takes filters, kernel[, stride[, padding]]: positive integers (padding may be 0)")
            }
            return .conv(filters: v[0]!, kernel: v[1]!, stride: v.count > 2 ? v[2]! : 1, padding: v.count > 3 ? v[3]! : v[1]! / 2)
        case "embedding":
            // embedding(D) leaves the vocabulary to the data (bench train on a text fills it in).
            let v = try integers(1...2)
            return v.count == 1 ? .embedding(vocabulary: 0, dimension: v[0]) : .embedding(vocabulary: v[0], dimension: v[1])
        case "attention":
            return .attention(heads: try integers(1...1)[0])
        case "batchnorm":
            _ = try integers(0...0)
            return .batchNorm
        case "position":
            _ = try integers(0...0)
            return .position
        case "last":
            _ = try integers(0...0)
            return .lastStep
        case "maxpool", "avgpool":
            let v = try integers(1...2)
            return name == "maxpool" ? .maxPool(kernel: v[0], stride: v.count > 1 ? v[1] : v[0])
                                     : .averagePool(kernel: v[0], stride: v.count > 1 ? v[1] : v[0])
        case "globalavgpool":
            _ = try integers(0...0)
            return .globalAveragePool
        case "layernorm":
            _ = try integers(0...0)
            return .layerNorm
        case "dropout":
            guard arguments.count == 1, let rate = Double(arguments[0]), rate >= 0, rate < 1 else {
                throw ModelSpecError("model '\(text)': '\(part)' takes one rate in [0, 1)")
            }
            return .dropout(rate: rate)
        case "flatten":
            _ = try integers(0...0)
            return .flatten
        default:
            if let a = Activation(rawValue: name), a != .identity {
                _ = try integers(0...0)
                return .activation(a)
            }
            throw ModelSpecError("model '\(text)': unknown layer '\(name)' (known: \(LayerSpec.known))")
        }
    }

    /// The layers `parse` knows, as written.
    public static let known = "dense(N), conv(F,K[,S[,P]]), relu, tanh, sigmoid, gelu, flatten, dropout(R), layernorm, batchnorm, embedding(V,D), embedding(D) (vocabulary from a text), position, attention(H), last, maxpool(K[,S]), avgpool(K[,S]), globalavgpool"

    /// Whether the layer reads images `[height, width, channels]` (so a model starting with it gets
    /// its input reshaped to images).
    public var takesImages: Bool {
        switch self {
        case .conv, .maxPool, .averagePool, .globalAveragePool: true
        case .dense, .activation, .flatten, .dropout, .layerNorm, .embedding, .batchNorm, .attention, .position, .lastStep: false
        }
    }

    public var description: String {
        switch self {
        case let .dense(units): "dense(\(units))"
        case let .activation(a): a.rawValue
        case .flatten: "flatten"
        case let .conv(f, k, s, p): s == 1 && p == k / 2 ? "conv(\(f),\(k))" : p == k / 2 ? "conv(\(f),\(k),\(s))" : "conv(\(f),\(k),\(s),\(p))"
        case let .dropout(rate): "dropout(\(rate))"
        case .layerNorm: "layernorm"
        case let .embedding(v, d): v == 0 ? "embedding(\(d))" : "embedding(\(v),\(d))"
        case let .maxPool(k, s): k == s ? "maxpool(\(k))" : "maxpool(\(k),\(s))"
        case let .averagePool(k, s): k == s ? "avgpool(\(k))" : "avgpool(\(k),\(s))"
        case .globalAveragePool: "globalavgpool"
        case .batchNorm: "batchnorm"
        case let .attention(h): "attention(\(h))"
        case .position: "position"
        case .lastStep: "last"
        }
    }

    /// Builds the layer for one sample's `inputShape`; `initialization` is the weight scheme of a
    /// dense layer (the activation that follows it decides: He for ReLU-like, Glorot otherwise).
    func build<S: TensorScalar>(graph: Graph<S>, name: String, inputShape: [Int], initialization: WeightInitialization,
                                step: () -> Node<S>, using generator: inout SeededGenerator) throws -> any Layer<S> {
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
        case let .conv(filters, kernel, stride, padding):
            return try Conv2D(graph: graph, name: name, filters: filters, kernel: kernel, stride: stride, padding: padding,
                              inputShape: inputShape, initialization: initialization, using: &generator)
        case let .dropout(rate):
            return Dropout<S>(rate: rate, seed: Int(truncatingIfNeeded: generator.next() >> 1), step: step(), inputShape: inputShape)
        case .layerNorm:
            return LayerNorm(graph: graph, name: name, inputShape: inputShape)
        case let .embedding(vocabulary, dimension):
            guard vocabulary > 0 else {
                throw ModelSpecError("\(name) embedding(\(dimension)): the vocabulary comes from a text's characters (bench train --data TEXT); elsewhere give embedding(vocabulary,\(dimension))")
            }
            return Embedding(graph: graph, name: name, vocabulary: vocabulary, dimension: dimension, inputShape: inputShape,
                             using: &generator)
        case let .maxPool(kernel, stride):
            return try Pool2D<S>(.max, kernel: kernel, stride: stride, inputShape: inputShape, name: name)
        case let .averagePool(kernel, stride):
            return try Pool2D<S>(.average, kernel: kernel, stride: stride, inputShape: inputShape, name: name)
        case .globalAveragePool:
            return try GlobalAveragePool2D<S>(inputShape: inputShape, name: name)
        case .batchNorm:
            return try BatchNorm<S>(graph: graph, name: name, inputShape: inputShape)
        case let .attention(heads):
            return try SelfAttention<S>(graph: graph, name: name, heads: heads, inputShape: inputShape, using: &generator)
        case .position:
            return try PositionEmbedding<S>(graph: graph, name: name, inputShape: inputShape, using: &generator)
        case .lastStep:
            return try LastStep<S>(inputShape: inputShape, name: name)
        }
    }
}

extension String {
    /// Without leading and trailing spaces.
    var trimmingSpaces: String { String(drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed()) }
}
