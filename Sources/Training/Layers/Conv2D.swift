import Tensor

/// A 2-D convolution of NHWC images with `filters` output channels, a square `kernel`, `stride` and
/// zero `padding` on each side, plus a bias per filter: `[H, W, C]` -> `[OH, OW, filters]` per
/// sample. The filter `[kernel, kernel, C, filters]` (HWIO) starts He- or Glorot-initialized for the
/// activation that follows, the bias at zero.
public struct Conv2D<Scalar: TensorScalar>: Layer {
    public let filter: Node<Scalar>
    public let bias: Node<Scalar>
    public let stride: Int
    public let padding: Int
    public let outputShape: [Int]

    /// Throws when the input is not an image or the window does not fit it.
    public init(graph: Graph<Scalar>, name: String, filters: Int, kernel: Int, stride: Int, padding: Int,
                inputShape: [Int], initialization: WeightInitialization, using generator: inout SeededGenerator) throws {
        guard inputShape.count == 3 else {
            throw ModelSpecError("\(name) conv takes images [height, width, channels], its input per sample has shape \(inputShape) (--image HxWxC reads features as images)")
        }
        let (h, w, c) = (inputShape[0], inputShape[1], inputShape[2])
        let oh = (h + 2 * padding - kernel) / stride + 1, ow = (w + 2 * padding - kernel) / stride + 1
        guard h + 2 * padding >= kernel, w + 2 * padding >= kernel, oh > 0, ow > 0 else {
            throw ModelSpecError("\(name) conv: a \(kernel)x\(kernel) kernel with padding \(padding) does not fit a \(h)x\(w) input")
        }
        let fanIn = kernel * kernel * c, fanOut = kernel * kernel * filters
        let flat: Tensor<Scalar> = initialization.weights(fanIn: fanIn, fanOut: fanOut, using: &generator)
        // Drawn as a [fanIn, fanOut] matrix and laid out as HWIO: the same distribution per weight.
        filter = graph.parameter("\(name).filter", Tensor(shape: [kernel, kernel, c, filters],
                                                           scalars: Array(flat.scalars.prefix(fanIn * filters))))
        bias = graph.parameter("\(name).bias", .zeros(shape: [filters]))
        self.stride = stride
        self.padding = padding
        outputShape = [oh, ow, filters]
    }

    public var parameters: [Node<Scalar>] { [filter, bias] }
    public func callAsFunction(_ x: Node<Scalar>, training: Bool) throws -> Node<Scalar> {
        try conv2d(x, filter: filter, stride: [stride, stride], padding: [padding, padding]) + bias
    }
}
