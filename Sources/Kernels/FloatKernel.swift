import CKernels

/// The Float maps that run in the C kernels of `KernelLevel.current` (the transcendental ones
/// are vectorized polynomial approximations; see `KernelFloat` for their error bounds), called
/// on whole arrays. The cases are in the order of the C table (`CK_UNARY_*`).
enum FloatKernel: Int {
    case exp, log, tanh, sigmoid, gelu, sqrt, neg, abs, square, relu

    typealias Function = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void

    /// The kernel computing `op` on Float arrays, if it has one (the others are plain Swift).
    init?(_ op: UnaryOp) {
        switch op {
        case .exp: self = .exp
        case .log: self = .log
        case .tanh: self = .tanh
        case .sigmoid: self = .sigmoid
        case .gelu: self = .gelu
        case .sqrt: self = .sqrt
        case .neg: self = .neg
        case .abs: self = .abs
        case .square: self = .square
        case .relu: self = .relu
        case .pow(let p) where p == 0.5: self = .sqrt
        case .pow(let p) where p == 2: self = .square
        default: return nil
        }
    }

    /// This map's function at the current level.
    @inline(__always) var function: Function {
        withUnsafeBytes(of: currentKernels.pointee.unary) {
            $0.load(fromByteOffset: rawValue * MemoryLayout<Function>.stride, as: Function.self)
        }
    }

    typealias GradientFunction = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?,
                                                 UnsafeMutablePointer<Float>?, Int) -> Void

    /// The C kernel of a derivative at the current level (all but `pow`'s, which stays in Swift).
    @inline(__always) static func gradient(_ op: UnaryGradient) -> GradientFunction? {
        let index: Int
        switch op {
        case .relu: index = 0
        case .abs: index = 1
        case .sqrt: index = 2
        case .square: index = 3
        case .exp: index = 4
        case .log: index = 5
        case .tanh: index = 6
        case .sigmoid: index = 7
        case .gelu: index = 8
        case .pow: return nil
        }
        return withUnsafeBytes(of: currentKernels.pointee.gradient) {
            $0.load(fromByteOffset: index * MemoryLayout<GradientFunction>.stride, as: GradientFunction.self)
        }
    }

    /// `out[i] = f(x[i])` for `i < count` (`out` may equal `x`).
    @inline(__always) func run(_ x: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, count: Int) {
        function(x, out, count)
    }

    /// `f` on each lane of one vector (one call into C: for occasional use, not for loops).
    @inline(__always) func apply(_ x: SIMD8<Float>) -> SIMD8<Float> {
        var x = x, y = SIMD8<Float>()
        withUnsafePointer(to: &x) { xp in
            withUnsafeMutablePointer(to: &y) { yp in
                xp.withMemoryRebound(to: Float.self, capacity: 8) { xs in
                    yp.withMemoryRebound(to: Float.self, capacity: 8) { ys in run(xs, ys, count: 8) }
                }
            }
        }
        return y
    }
}

/// Rebinds a generic pointer known to hold `Float` (callers check `T.self == Float.self`).
@inline(__always) func floats<T>(_ p: UnsafePointer<T>) -> UnsafePointer<Float> {
    UnsafeRawPointer(p).assumingMemoryBound(to: Float.self)
}

@inline(__always) func floats<T>(_ p: UnsafeMutablePointer<T>) -> UnsafeMutablePointer<Float> {
    UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
}

extension BinaryOp {
    /// This operation's index in the C tables (`CK_BINARY_*`).
    @inline(__always) var kernelIndex: Int {
        switch self {
        case .add: 0
        case .sub: 1
        case .mul: 2
        case .div: 3
        case .max: 4
        case .min: 5
        }
    }

    typealias BinaryFunction = @convention(c) (UnsafePointer<Float>?, Int, UnsafePointer<Float>?, Int,
                                               UnsafeMutablePointer<Float>?, Int) -> Void
    typealias FoldFunction = @convention(c) (UnsafePointer<Float>?, Int) -> Float
    typealias FoldRowsFunction = @convention(c) (UnsafePointer<Float>?, Int, Int, UnsafeMutablePointer<Float>?) -> Void

    /// `out[i] = a[i·sa] op b[i·sb]` at the current level; (sa, sb) is (1, 1), (1, 0) or (0, 1).
    @inline(__always) var floatKernel: BinaryFunction {
        withUnsafeBytes(of: currentKernels.pointee.binary) { $0.load(fromByteOffset: kernelIndex * MemoryLayout<BinaryFunction>.stride, as: BinaryFunction.self) }
    }

    /// Folds contiguous Float values in `Reduction`'s fixed order (add, max, min only).
    @inline(__always) var floatFold: FoldFunction {
        withUnsafeBytes(of: currentKernels.pointee.fold) { $0.load(fromByteOffset: kernelIndex * MemoryLayout<FoldFunction>.stride, as: FoldFunction.self) }
    }

    typealias FoldColumnsFunction = @convention(c) (UnsafePointer<Float>?, Int, Int, Int, UnsafeMutablePointer<Float>?) -> Void

    /// `out[j] = x[0][j] op x[1][j] op …` down `rows` rows `rs` apart, in row order (add, max, min only).
    @inline(__always) var floatFoldColumns: FoldColumnsFunction {
        withUnsafeBytes(of: currentKernels.pointee.fold_columns) { $0.load(fromByteOffset: kernelIndex * MemoryLayout<FoldColumnsFunction>.stride, as: FoldColumnsFunction.self) }
    }

    /// `out[r] = fold(x + r·n, n)` for `r < rows` (add, max, min only).
    @inline(__always) var floatFoldRows: FoldRowsFunction {
        withUnsafeBytes(of: currentKernels.pointee.fold_rows) { $0.load(fromByteOffset: kernelIndex * MemoryLayout<FoldRowsFunction>.stride, as: FoldRowsFunction.self) }
    }
}
