/// Every operation a graph node can hold: the fixed set a model is built from, plus the derivative
/// helpers that gradient rules emit. Each case has a shape rule (`Operation+Shapes.swift`), a gradient
/// rule (`GradientRules.swift`) and a kernel lowering (`Lowering.swift`; elementwise ones through
/// their form in `Operation+Elementwise.swift`). Every switch over operations is exhaustive (no
/// `default:`), so a new case does not compile until each of these places handles it.
///
/// Scalar attributes are stored as `Double` so one graph description serves `Float` and `Double`.
public enum Operation: Hashable, Sendable {
    // MARK: Leaves
    /// A value fed at each run (`Plan.run(feeds:)`).
    case placeholder(name: String)
    /// A value that persists across runs and is updated by training.
    case parameter(name: String)
    /// A fixed value.
    case constant

    // MARK: Elementwise, broadcasting NumPy-style (shapes aligned at the right, 1 stretches)
    case add, sub, mul, div
    case neg, exp, log, sqrt, tanh, sigmoid, relu, gelu, abs, square
    /// Elementwise `min(a, b)` / `max(a, b)`, broadcasting like `add`; NaN in either input gives NaN.
    case minimum, maximum
    /// `min(max(x, min), max)` (`min <= max`; either may be infinite).
    case clamp(min: Double, max: Double)
    /// `where(condition, a, b)`: `a` where the condition is nonzero, else `b`; the three broadcast
    /// together. Gradients flow to `a` and `b`, none to the condition.
    case select
    /// `x^p`.
    case pow(Double)
    /// `x * c`.
    case scale(Double)
    /// `x + c`.
    case shift(Double)

    // MARK: Linear algebra
    /// `op(A) · op(B)` over the last two dimensions, where `op` transposes when asked; leading
    /// (batch) dimensions must be equal, or one operand is a plain matrix shared by every batch.
    case matmul(transposeA: Bool, transposeB: Bool)

    // MARK: Shapes
    /// Result dimension `i` is input dimension `permutation[i]`.
    case transpose(permutation: [Int])
    case reshape(shape: [Int])
    case broadcastTo(shape: [Int])
    case concat(axis: Int)
    case slice(axis: Int, range: Range<Int>)
    /// Derivative helper (gradient of `slice`): places the input at `range` along `axis` of a zero
    /// tensor whose `axis` has `size` entries.
    case pad(axis: Int, range: Range<Int>, size: Int)

    // MARK: Lookups
    /// Embedding lookup (a gather of rows): `(table [V, D], indices [N...]) -> [N..., D]`, where the
    /// indices hold row numbers `0..<V` as scalars (exact in Float up to 2^24). An index out of
    /// range or not an integer fails the run. No gradient flows to the indices.
    case embedding

    // MARK: Reductions (axes sorted and distinct; no axes is a copy)
    case sum(axes: [Int], keepDims: Bool)
    case mean(axes: [Int], keepDims: Bool)
    case max(axes: [Int], keepDims: Bool)
    case softmax(axis: Int)
    case logSoftmax(axis: Int)

    // MARK: Images (NHWC: [batch, height, width, channels])
    /// The maximum over each `kernel` window ([height, width]) moved by `stride` over the input
    /// padded by `padding` ([rows, columns] on each side; padding never wins).
    case maxPool2d(kernel: [Int], stride: [Int], padding: [Int])
    /// The mean over each window, padding counted as zeros (the divisor is the window's area).
    case avgPool2d(kernel: [Int], stride: [Int], padding: [Int])
    /// `(x [N, H, W, C], filter [KH, KW, C/groups, F]) -> [N, OH, OW, F]`: each output pixel is the
    /// dot product of the filter with the window under it (`stride`, zero `padding` on each side,
    /// `dilation` between kernel taps); group `g` maps input channels `g·C/groups..<(g+1)·C/groups`
    /// to output channels `g·F/groups..<(g+1)·F/groups`.
    case conv2d(stride: [Int], padding: [Int], dilation: [Int], groups: Int)

    // MARK: Normalization
    /// Layer normalization over the last axis: `(x [..., D], gamma [D], beta [D]) ->
    /// (x - mean) / √(variance + epsilon) · gamma + beta`, mean and (biased) variance per row of D.
    case layerNorm(epsilon: Double)

    // MARK: Regularization
    /// `(x, step) -> x` with each element zeroed with probability `rate` and the rest scaled by
    /// `1 / (1 - rate)`; the mask is a pure function of `(seed, step, element index)` (see
    /// `Kernels.Dropout`), so it is the same for any worker count and the backward pass repeats it.
    /// `step` is a one-element value read at run time: the training step (an integer, exact in Float
    /// up to 2^24), or a negative number to turn dropout off (evaluation).
    case dropout(rate: Double, seed: Int)

    // MARK: Losses (scalar results, means over elements or rows)
    /// `mean((a - b)^2)`.
    case meanSquaredError
    /// `mean(max(z, 0) - z t + log(1 + e^-|z|))` for logits `z` and targets `t` in [0, 1].
    case binaryCrossEntropyWithLogits
    /// `mean_i(-log softmax(z_i)[label_i])` for logits `[N, C]` and labels `[N]` holding class indices.
    case softmaxCrossEntropy

    // MARK: Derivative helpers (emitted by gradient rules)
    /// `(x, g) -> g * (x > 0)`.
    case reluBackward
    /// `(y, g) -> g * (1 - y^2)` where `y = tanh(x)`.
    case tanhBackward
    /// `(y, g) -> g * y * (1 - y)` where `y = sigmoid(x)`.
    case sigmoidBackward
    /// `(x, g) -> g * gelu'(x)`.
    case geluBackward
    /// `(x, g) -> g * sign(x)`.
    case absBackward
    /// `(x, g) -> g` where `min <= x <= max`, else 0.
    case clampBackward(min: Double, max: Double)
    /// `(a, b, g) -> g` where `a` alone is the maximum (minimum) of `a` and `b`, `g / 2` at ties, else 0:
    /// the gradient of `maximum`/`minimum` with respect to `a` (swap `a` and `b` for `b`'s).
    case extremumBackward(maximum: Bool)
    /// `(condition, g) -> g` where `(condition != 0) == whenTrue`, else 0 (a branch of `where`).
    case selectBackward(whenTrue: Bool)
    /// `(x, y, g) -> g` where `x` equals its maximum `y` (both `y` and `g` in keep-dims shape), else 0.
    case maxBackward(axes: [Int])
    /// `(z, labels, g) -> g * (softmax(z) - onehot(labels)) / N`.
    case softmaxCrossEntropyBackward
    /// `(indices [N...], g [N..., D]) -> [rows, D]`: zeros, then row `g[i]` added to row
    /// `indices[i]` for each `i` in index order (the gradient of `embedding` with respect to its table).
    case embeddingBackward(rows: Int)
    /// `(x, gamma, g) -> dx` of `layerNorm` (statistics recomputed from `x`).
    case layerNormBackward(epsilon: Double)
    /// `(x, g) -> [D]`: `Σ_rows g · x̂`, the gradient of `layerNorm` with respect to `gamma`.
    case layerNormGammaBackward(epsilon: Double)
    /// `(x, g) -> dx` of `maxPool2d`: each `g` element added where its window's (first) maximum is.
    case maxPool2dBackward(kernel: [Int], stride: [Int], padding: [Int])
    /// `(g) -> dx` of `avgPool2d` for an input of spatial size `inputSize` ([height, width]).
    case avgPool2dBackward(kernel: [Int], stride: [Int], padding: [Int], inputSize: [Int])
    /// `(g, filter) -> dx` of `conv2d` for an input of spatial size `inputSize` ([height, width]).
    case conv2dBackwardInput(stride: [Int], padding: [Int], dilation: [Int], groups: Int, inputSize: [Int])
    /// `(x, g) -> dfilter` of `conv2d` for a filter of spatial size `kernelSize` ([height, width]).
    case conv2dBackwardFilter(stride: [Int], padding: [Int], dilation: [Int], groups: Int, kernelSize: [Int])

    /// The operation's name as errors, traces and profiles show it.
    public var name: String {
        switch self {
        case .placeholder: "placeholder"
        case .parameter: "parameter"
        case .constant: "constant"
        case .add: "add"
        case .sub: "sub"
        case .mul: "mul"
        case .div: "div"
        case .neg: "neg"
        case .exp: "exp"
        case .log: "log"
        case .sqrt: "sqrt"
        case .tanh: "tanh"
        case .sigmoid: "sigmoid"
        case .relu: "relu"
        case .gelu: "gelu"
        case .abs: "abs"
        case .square: "square"
        case .minimum: "minimum"
        case .maximum: "maximum"
        case .clamp: "clamp"
        case .select: "where"
        case .pow: "pow"
        case .scale: "scale"
        case .shift: "shift"
        case .matmul: "matmul"
        case .transpose: "transpose"
        case .reshape: "reshape"
        case .broadcastTo: "broadcast_to"
        case .concat: "concat"
        case .slice: "slice"
        case .pad: "pad"
        case .sum: "sum"
        case .mean: "mean"
        case .max: "max"
        case .softmax: "softmax"
        case .logSoftmax: "log_softmax"
        case .meanSquaredError: "mse"
        case .binaryCrossEntropyWithLogits: "bce_with_logits"
        case .softmaxCrossEntropy: "softmax_cross_entropy"
        case .reluBackward: "relu_backward"
        case .tanhBackward: "tanh_backward"
        case .sigmoidBackward: "sigmoid_backward"
        case .geluBackward: "gelu_backward"
        case .absBackward: "abs_backward"
        case .clampBackward: "clamp_backward"
        case let .extremumBackward(isMax): isMax ? "maximum_backward" : "minimum_backward"
        case let .selectBackward(whenTrue): whenTrue ? "where_backward_true" : "where_backward_false"
        case .maxBackward: "max_backward"
        case .softmaxCrossEntropyBackward: "softmax_cross_entropy_backward"
        case .embedding: "embedding"
        case .embeddingBackward: "embedding_backward"
        case .layerNorm: "layer_norm"
        case .dropout: "dropout"
        case .maxPool2d: "max_pool2d"
        case .avgPool2d: "avg_pool2d"
        case .maxPool2dBackward: "max_pool2d_backward"
        case .avgPool2dBackward: "avg_pool2d_backward"
        case .conv2d: "conv2d"
        case .conv2dBackwardInput: "conv2d_backward_input"
        case .conv2dBackwardFilter: "conv2d_backward_filter"
        case .layerNormBackward: "layer_norm_backward"
        case .layerNormGammaBackward: "layer_norm_gamma_backward"
        }
    }

    /// Whether the node is a leaf (no inputs, no work to run).
    public var isLeaf: Bool { leaf != nil }

    /// A leaf's kind and name; nil for every operation with inputs. The one switch that sorts leaves
    /// from operations, so places that treat leaves apart switch over this (exhaustively) instead of
    /// listing every operation.
    var leaf: Leaf? {
        switch self {
        case let .placeholder(name): .placeholder(name: name)
        case let .parameter(name): .parameter(name: name)
        case .constant: .constant
        case .add, .sub, .mul, .div, .neg, .exp, .log, .sqrt, .tanh, .sigmoid, .relu, .gelu, .abs, .square,
             .minimum, .maximum, .clamp, .select, .pow, .scale, .shift, .matmul,
             .transpose, .reshape, .broadcastTo, .concat, .slice, .pad, .embedding,
             .sum, .mean, .max, .softmax, .logSoftmax, .maxPool2d, .avgPool2d, .conv2d, .layerNorm, .dropout,
             .meanSquaredError, .binaryCrossEntropyWithLogits, .softmaxCrossEntropy,
             .reluBackward, .tanhBackward, .sigmoidBackward, .geluBackward, .absBackward, .clampBackward,
             .extremumBackward, .selectBackward, .maxBackward, .softmaxCrossEntropyBackward, .embeddingBackward,
             .layerNormBackward, .layerNormGammaBackward, .maxPool2dBackward, .avgPool2dBackward,
             .conv2dBackwardInput, .conv2dBackwardFilter:
            nil
        }
    }

    /// The three kinds of leaf (see `leaf`).
    enum Leaf: Equatable {
        case placeholder(name: String)
        case parameter(name: String)
        case constant
    }
}
