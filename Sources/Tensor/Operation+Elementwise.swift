import Kernels

/// How an elementwise operation computes each output element, as the kernels name it: the one table
/// that maps operations to elementwise kernels, read both by plain lowering (one task per node) and
/// by fused groups (see Note [Fusion] in PlanSteps.swift).
enum ElementwiseForm: Equatable {
    /// `out = a ∘ b`, broadcasting NumPy-style (`add`, `sub`, `mul`, `div`, `minimum`, `maximum`).
    case binary(BinaryOp)
    /// `out = f(a)`.
    case unary(UnaryOp)
    /// `out = a ∘ c` for a constant `c` (`scale` multiplies, `shift` adds).
    case constant(BinaryOp, Double)
    /// `out = g · f'(a)` for inputs `(a, g)` (the unary derivative helpers).
    case gradient(UnaryGradient)
    /// `out = min(max(a, min), max)`.
    case clamp(min: Double, max: Double)
    /// `out = g` where `min <= a <= max`, else 0, for inputs `(a, g)`.
    case clampGradient(min: Double, max: Double)
    /// `out = a[0]`: a value stretched to the output's shape (`broadcastTo`; elementwise only when
    /// the value has one element, which is when it fuses).
    case fill
}

extension Operation {
    /// The operation's elementwise form; nil for an operation without one: it reads more than the
    /// same-position elements of its inputs, or it has a kernel of its own (`where`, its backward
    /// helpers and `maximum`'s/`minimum`'s, which broadcast three operands).
    var elementwiseForm: ElementwiseForm? {
        switch self {
        case .add: .binary(.add)
        case .sub: .binary(.sub)
        case .mul: .binary(.mul)
        case .div: .binary(.div)
        case .minimum: .binary(.min)
        case .maximum: .binary(.max)
        case .neg: .unary(.neg)
        case .exp: .unary(.exp)
        case .log: .unary(.log)
        case .sqrt: .unary(.sqrt)
        case .tanh: .unary(.tanh)
        case .sigmoid: .unary(.sigmoid)
        case .relu: .unary(.relu)
        case .gelu: .unary(.gelu)
        case .abs: .unary(.abs)
        case .square: .unary(.square)
        case let .pow(p): .unary(.pow(p))
        case let .scale(c): .constant(.mul, c)
        case let .shift(c): .constant(.add, c)
        case let .clamp(lo, hi): .clamp(min: lo, max: hi)
        case .reluBackward: .gradient(.relu)
        case .tanhBackward: .gradient(.tanh)
        case .sigmoidBackward: .gradient(.sigmoid)
        case .geluBackward: .gradient(.gelu)
        case .absBackward: .gradient(.abs)
        case let .clampBackward(lo, hi): .clampGradient(min: lo, max: hi)
        case .broadcastTo: .fill
        case .placeholder, .parameter, .constant, .select, .matmul, .transpose, .reshape, .concat, .slice, .pad,
             .embedding, .sum, .mean, .max, .softmax, .logSoftmax, .maxPool2d, .avgPool2d, .conv2d, .layerNorm,
             .dropout, .meanSquaredError, .binaryCrossEntropyWithLogits, .softmaxCrossEntropy,
             .extremumBackward, .selectBackward, .maxBackward, .softmaxCrossEntropyBackward, .embeddingBackward,
             .layerNormBackward, .layerNormGammaBackward, .maxPool2dBackward, .avgPool2dBackward,
             .conv2dBackwardInput, .conv2dBackwardFilter:
            nil
        }
    }
}
