import Tensor

/// Max or average pooling of NHWC images over `kernel x kernel` windows moved by `stride`.
public struct Pool2D<Scalar: TensorScalar>: Layer {
    public enum Kind: Sendable { case max, average }
    public let kind: Kind
    public let kernel: Int
    public let stride: Int
    public let outputShape: [Int]

    /// Throws when the image is smaller than the window.
    public init(_ kind: Kind, kernel: Int, stride: Int, inputShape: [Int], name: String) throws {
        guard inputShape.count == 3 else {
            throw ModelSpecError("\(name) pooling takes images [height, width, channels], its input per sample has shape \(inputShape)")
        }
        guard inputShape[0] >= kernel && inputShape[1] >= kernel else {
            throw ModelSpecError("\(name) pooling window \(kernel)x\(kernel) is larger than its \(inputShape[0])x\(inputShape[1]) input")
        }
        self.kind = kind
        self.kernel = kernel
        self.stride = stride
        outputShape = [(inputShape[0] - kernel) / stride + 1, (inputShape[1] - kernel) / stride + 1, inputShape[2]]
    }

    public var parameters: [Node<Scalar>] { [] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        switch kind {
        case .max: try maxPool2d(x, kernel: [kernel, kernel], stride: [stride, stride])
        case .average: try avgPool2d(x, kernel: [kernel, kernel], stride: [stride, stride])
        }
    }
}

/// Global average pooling: `[height, width, channels]` -> `[channels]` per sample.
public struct GlobalAveragePool2D<Scalar: TensorScalar>: Layer {
    public let outputShape: [Int]
    public init(inputShape: [Int], name: String) throws {
        guard inputShape.count == 3 else {
            throw ModelSpecError("\(name) global average pooling takes images [height, width, channels], its input per sample has shape \(inputShape)")
        }
        outputShape = [inputShape[2]]
    }
    public var parameters: [Node<Scalar>] { [] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> { try globalAvgPool2d(x) }
}
