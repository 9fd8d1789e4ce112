/// Elementwise kernels: binary operations with NumPy broadcasting, operations with a scalar,
/// unary maps and the derivative helpers of the backward pass.
///
/// All loops run on whole SIMD vectors; a tail shorter than a vector gets the same operations per
/// element (padded into one vector, or one element at a time for the IEEE arithmetic), so an
/// element's result never depends on its position or on how the work was split. Float loops run
/// in the C kernels of `KernelLevel.current` where they need vector code generation. Large arrays are cut into chunks of 32768 elements spread over `loop`.
/// `out` may be the same buffer as a contiguous input of the same shape (in-place updates such as
/// gradient accumulation `g = g + dg`).
///
/// ```swift
/// // out[i][j] = x[i][j] + bias[j]   (x: 4×3 contiguous, bias: 3, broadcast over rows)
/// try Elementwise.binary(.add, shape: [4, 3], x, strides: [3, 1], bias, strides: [0, 1], into: out)
/// Elementwise.unary(.relu, out, into: out, count: 12)
/// ```
public enum Elementwise {
    /// Elements per piece of work handed to a worker.
    static let chunk = 1 << 15

    // MARK: - Binary

    /// `out[i] = a[i] op b[i]` for `i < count`, all contiguous.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func binary<T: KernelFloat>(
        _ op: BinaryOp, _ a: UnsafePointer<T>, _ b: UnsafePointer<T>, into out: UnsafeMutablePointer<T>,
        count: Int, loop: any ParallelLoop = SerialLoop()
    ) {
        forChunks(count: count, loop: loop) { r in
            binaryRun(op, a + r.lowerBound, 1, b + r.lowerBound, 1, out + r.lowerBound, r.count)
        }
    }

    /// `out[i] = x[i] op s` (or `s op x[i]` when `scalarFirst`), contiguous: scaling, shifting,
    /// `1 - x`, `s / x`, clamping with `max`/`min`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func binary<T: KernelFloat>(
        _ op: BinaryOp, _ x: UnsafePointer<T>, scalar s: T, scalarFirst: Bool = false,
        into out: UnsafeMutablePointer<T>, count: Int, loop: any ParallelLoop = SerialLoop()
    ) {
        withUnsafePointer(to: s) { sp in
            forChunks(count: count, loop: loop) { r in
                if scalarFirst {
                    binaryRun(op, sp, 0, x + r.lowerBound, 1, out + r.lowerBound, r.count)
                } else {
                    binaryRun(op, x + r.lowerBound, 1, sp, 0, out + r.lowerBound, r.count)
                }
            }
        }
    }

    /// Broadcasting binary operation: `out[index] = a[index · aStrides] op b[index · bStrides]` for
    /// every index of `shape`, with `out` contiguous row-major of `shape`.
    ///
    /// Strides are in elements and may be 0 (a broadcast dimension), negative, or anything else a
    /// view has; `Broadcast.strides(of:to:)` computes them for NumPy-style broadcasting. Throws when
    /// the ranks differ or a size is negative.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func binary<T: KernelFloat>(
        _ op: BinaryOp, shape: [Int], _ a: UnsafePointer<T>, strides aStrides: [Int],
        _ b: UnsafePointer<T>, strides bStrides: [Int], into out: UnsafeMutablePointer<T>,
        loop: any ParallelLoop = SerialLoop()
    ) throws {
        guard aStrides.count == shape.count, bStrides.count == shape.count else {
            throw KernelError("binary \(op)", "shape \(shape) has rank \(shape.count) but strides \(aStrides) and \(bStrides)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError("binary \(op)", "negative size in shape \(shape)") }
        StridedDims.with(shape: shape, strides0: aStrides, strides1: bStrides) { dims in
            let total = dims.count
            if total == 0 { return }
            let inner = dims.innerCount, rows = total / inner
            let sa = dims.innerStride(0), sb = dims.innerStride(1)
            if rows == 1 {
                forChunks(count: inner, loop: loop) { r in
                    binaryRun(op, a + r.lowerBound * sa, sa, b + r.lowerBound * sb, sb, out + r.lowerBound, r.count)
                }
            } else {
                forRows(rows, rowLength: inner, loop: loop) { range in
                    for row in range {
                        let (oa, ob) = dims.outerOffsets(row)
                        binaryRun(op, a + oa, sa, b + ob, sb, out + row * inner, inner)
                    }
                }
            }
        }
    }

    /// `y[i] = y[i] + s · x[i]` (one fused multiply-add per element; a multiply and an add on the
    /// x86-64 baseline level), contiguous: SGD steps, gradient accumulation with a weight, momentum
    /// updates.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func multiplyAdd<T: KernelFloat>(
        _ x: UnsafePointer<T>, scale s: T, into y: UnsafeMutablePointer<T>, count: Int,
        loop: any ParallelLoop = SerialLoop()
    ) {
        forChunks(count: count, loop: loop) { r in
            let x = x + r.lowerBound, y = y + r.lowerBound, n = r.count
            if T.self == Float.self {
                currentKernels.pointee.saxpy(floats(x), unsafeBitCast(s, to: Float.self), floats(y), n)
            } else {
                currentKernels.pointee.daxpy(UnsafeRawPointer(x).assumingMemoryBound(to: Double.self),
                                             unsafeBitCast(s, to: Double.self),
                                             UnsafeMutableRawPointer(y).assumingMemoryBound(to: Double.self), n)
            }
        }
    }

    // MARK: - Unary

    /// `out[i] = op(x[i])` for `i < count`, contiguous.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func unary<T: KernelFloat>(
        _ op: UnaryOp, _ x: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, count: Int,
        loop: any ParallelLoop = SerialLoop()
    ) {
        forChunks(count: count, loop: loop) { r in
            let x = x + r.lowerBound, out = out + r.lowerBound, n = r.count
            if T.self == Float.self, let kernel = FloatKernel(op) {
                kernel.run(floats(x), floats(out), count: n)
                return
            }
            switch op {
            case .neg: unaryRun(NegOp.self, x, out, n, 0)
            case .abs: unaryRun(AbsOp.self, x, out, n, 0)
            case .sqrt: unaryRun(SqrtOp.self, x, out, n, 0)
            case .square: unaryRun(SquareOp.self, x, out, n, 0)
            case .exp: unaryRun(ExpOp.self, x, out, n, 0)
            case .log: unaryRun(LogOp.self, x, out, n, 0)
            case .tanh: unaryRun(TanhOp.self, x, out, n, 0)
            case .sigmoid: unaryRun(SigmoidOp.self, x, out, n, 0)
            case .relu: unaryRun(ReluOp.self, x, out, n, 0)
            case .gelu: unaryRun(GeluOp.self, x, out, n, 0)
            case .pow(let p):
                if p == 2 { unaryRun(SquareOp.self, x, out, n, 0) }
                else if p == 0.5 { unaryRun(SqrtOp.self, x, out, n, 0) }
                else { unaryRun(PowOp.self, x, out, n, T(p)) }
            }
        }
    }

    /// Backward of a unary operation: `dx[i] = dy[i] · f'(…)` where `value` is the forward input or
    /// output as each `UnaryGradient` case documents. Contiguous; `dx` may alias `dy`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func unaryGradient<T: KernelFloat>(
        _ op: UnaryGradient, value: UnsafePointer<T>, gradient dy: UnsafePointer<T>,
        into dx: UnsafeMutablePointer<T>, count: Int, loop: any ParallelLoop = SerialLoop()
    ) {
        forChunks(count: count, loop: loop) { r in
            let v = value + r.lowerBound, g = dy + r.lowerBound, out = dx + r.lowerBound, n = r.count
            if T.self == Float.self, let kernel = FloatKernel.gradient(op) {
                kernel(floats(v), floats(g), floats(out), n)
                return
            }
            switch op {
            case .relu: gradientRun(ReluGrad.self, v, g, out, n, 0)
            case .abs: gradientRun(AbsGrad.self, v, g, out, n, 0)
            case .sqrt: gradientRun(SqrtGrad.self, v, g, out, n, 0)
            case .square: gradientRun(SquareGrad.self, v, g, out, n, 0)
            case .exp: gradientRun(ExpGrad.self, v, g, out, n, 0)
            case .log: gradientRun(LogGrad.self, v, g, out, n, 0)
            case .tanh: gradientRun(TanhGrad.self, v, g, out, n, 0)
            case .sigmoid: gradientRun(SigmoidGrad.self, v, g, out, n, 0)
            case .gelu: gradientRun(GeluGrad.self, v, g, out, n, 0)
            case .pow(let p): gradientRun(PowGrad.self, v, g, out, n, T(p))
            }
        }
    }

    /// `out[i] = value` for `i < count`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func fill<T: KernelFloat>(_ out: UnsafeMutablePointer<T>, value: T, count: Int) {
        out.update(repeating: value, count: count)
    }

    // MARK: - Loops

    /// Splits `0..<count` into chunks of `chunk` elements over `loop` (inline when small).
    @inline(__always)
    static func forChunks(count: Int, loop: any ParallelLoop, _ body: (Range<Int>) -> Void) {
        if count <= 0 { return }
        let workers = loop.concurrency
        if workers <= 1 || count <= 2 * chunk {
            body(0..<count)
            return
        }
        let pieces = (count + chunk - 1) / chunk
        loop.parallelFor(0..<pieces, grain: Swift.max(1, pieces / (4 * workers))) { r in
            body(r.lowerBound * chunk ..< Swift.min(count, r.upperBound * chunk))
        }
    }

    /// Splits `rows` rows of `rowLength` elements over `loop`, at least `chunk` elements per piece.
    @inline(__always)
    static func forRows(_ rows: Int, rowLength: Int, loop: any ParallelLoop, _ body: (Range<Int>) -> Void) {
        let workers = loop.concurrency
        if workers <= 1 || rows * rowLength <= 2 * chunk || rows < 2 {
            body(0..<rows)
            return
        }
        let grain = Swift.max(1, (chunk + rowLength - 1) / Swift.max(1, rowLength))
        loop.parallelFor(0..<rows, grain: Swift.max(grain, rows / (4 * workers)), body)
    }

    @inline(__always)
    static func binaryRun<T: KernelFloat>(_ op: BinaryOp, _ a: UnsafePointer<T>, _ sa: Int,
                                          _ b: UnsafePointer<T>, _ sb: Int, _ out: UnsafeMutablePointer<T>, _ n: Int) {
        switch op {
        case .add: binaryRun(AddOp.self, a, sa, b, sb, out, n)
        case .sub: binaryRun(SubOp.self, a, sa, b, sb, out, n)
        case .mul: binaryRun(MulOp.self, a, sa, b, sb, out, n)
        case .div: binaryRun(DivOp.self, a, sa, b, sb, out, n)
        case .max: binaryRun(MaxOp.self, a, sa, b, sb, out, n)
        case .min: binaryRun(MinOp.self, a, sa, b, sb, out, n)
        }
    }

    /// `out[i] = F(a[i·sa], b[i·sb])` for `i < n`, with fast paths for contiguous and broadcast
    /// (stride 0) operands (Float: the C kernels of the current level).
    @inline(__always)
    static func binaryRun<F: BinaryFunctor, T: KernelFloat>(
        _ f: F.Type, _ a: UnsafePointer<T>, _ sa: Int, _ b: UnsafePointer<T>, _ sb: Int,
        _ out: UnsafeMutablePointer<T>, _ n: Int
    ) {
        if T.self == Float.self && (sa == 1 && sb <= 1 && sb >= 0 || sa == 0 && sb == 1) {
            F.op.floatKernel(floats(a), sa, floats(b), sb, floats(out), n)
            return
        }
        let w = T.Vector.scalarCount
        var i = 0
        if sa == 1 && sb == 1 {
            while i + w <= n {
                storeVector(F.apply(T.self, loadVector(a + i), loadVector(b + i)), out + i)
                i += w
            }
        } else if sa == 1 && sb == 0 {
            let vb = T.Vector(repeating: b[0])
            while i + w <= n {
                storeVector(F.apply(T.self, loadVector(a + i), vb), out + i)
                i += w
            }
        } else if sa == 0 && sb == 1 {
            let va = T.Vector(repeating: a[0])
            while i + w <= n {
                storeVector(F.apply(T.self, va, loadVector(b + i)), out + i)
                i += w
            }
        }
        while i < n {
            let m = Swift.min(w, n - i)
            var va = T.Vector(), vb = T.Vector()
            for j in 0..<m {
                va[j] = a[(i + j) * sa]
                vb[j] = b[(i + j) * sb]
            }
            let r = F.apply(T.self, va, vb)
            for j in 0..<m { out[i + j] = r[j] }
            i += m
        }
    }

    @inline(__always)
    static func unaryRun<F: UnaryFunctor, T: KernelFloat>(
        _ f: F.Type, _ x: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ n: Int, _ p: T
    ) {
        let w = T.Vector.scalarCount
        var i = 0
        while i + w <= n {
            storeVector(F.apply(loadVector(x + i), p), out + i)
            i += w
        }
        if i < n {
            let r = F.apply(loadPartial(x + i, n - i), p)
            for j in 0..<(n - i) { out[i + j] = r[j] }
        }
    }

    @inline(__always)
    static func gradientRun<F: GradientFunctor, T: KernelFloat>(
        _ f: F.Type, _ v: UnsafePointer<T>, _ dy: UnsafePointer<T>, _ out: UnsafeMutablePointer<T>, _ n: Int, _ p: T
    ) {
        let w = T.Vector.scalarCount
        var i = 0
        while i + w <= n {
            storeVector(F.apply(loadVector(v + i), loadVector(dy + i), p), out + i)
            i += w
        }
        if i < n {
            let r = F.apply(loadPartial(v + i, n - i), loadPartial(dy + i, n - i), p)
            for j in 0..<(n - i) { out[i + j] = r[j] }
        }
    }
}

@inline(__always) func loadVector<T: KernelFloat>(_ p: UnsafePointer<T>) -> T.Vector {
    UnsafeRawPointer(p).loadUnaligned(as: T.Vector.self)
}

@inline(__always) func storeVector<T: KernelFloat>(_ v: T.Vector, _ p: UnsafeMutablePointer<T>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: T.Vector.self)
}

/// The first `count` (< one vector) elements at `p`, the other lanes 0.
@inline(__always) func loadPartial<T: KernelFloat>(_ p: UnsafePointer<T>, _ count: Int) -> T.Vector {
    var v = T.Vector()
    for j in 0..<count { v[j] = p[j] }
    return v
}
