extension Elementwise {
    // Note [Elementwise blocks of rows]: a product's epilogue gets its result block by block: a
    // row block's rows and the columns of a run of panels. When the block is narrower than the
    // result (a column chunk on 2 workers: 16-128 of 1024 columns), each of its rows is a
    // separate stretch of memory, and the epilogue ran row by row, each operation through the
    // contiguous entry points: their dispatch (the operation's switch, the loop's existential,
    // the kernel's lookup) was paid once per row and operation, on 16-128 values at a time. The
    // block forms look the kernel up once per block and call it row after row, one operation
    // over the whole block before the next (as whole-row blocks already ran). Each element gets
    // the operations of the contiguous entry points (the kernels' results never depend on an
    // element's position), so the bits are the same. The MLP step on 2 workers, steps alternated
    // in one process (Zen 3, old/new medians): batch 256 1.022-1.029 (3 runs of 150 steps),
    // batch 64 1.012 (2 runs of 300); on one worker, whole rows, unchanged (0.998-1.005).

    /// `out[r·ldo + j] = a[r·lda + j] op b[r·ldb + j]` for `r < rows`, `j < columns`: a block of
    /// rows of row-major operands, each with its own row stride. A row stride of 0 repeats one
    /// row down the block (a bias added to every row). Serial: the caller's worker runs the
    /// block (a product's epilogue). `out` may be `a` or `b` when their strides match.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func binaryRows<T: KernelFloat>(
        _ op: BinaryOp, _ a: UnsafePointer<T>, rowStride lda: Int, _ b: UnsafePointer<T>, rowStride ldb: Int,
        into out: UnsafeMutablePointer<T>, rowStride ldo: Int, rows: Int, columns: Int
    ) {
        guard rows > 0, columns > 0 else { return }
        if T.self == Float.self {
            let kernel = op.floatKernel
            for r in 0..<rows {
                kernel(floats(a + r * lda), 1, floats(b + r * ldb), 1, floats(out + r * ldo), columns)
            }
            return
        }
        for r in 0..<rows { binaryRun(op, a + r * lda, 1, b + r * ldb, 1, out + r * ldo, columns) }
    }

    /// `out[r·ldo + j] = f(x[r·ldx + j])` for `r < rows`, `j < columns` (`binaryRows`' blocks).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func unaryRows<T: KernelFloat>(
        _ op: UnaryOp, _ x: UnsafePointer<T>, rowStride ldx: Int, into out: UnsafeMutablePointer<T>, rowStride ldo: Int,
        rows: Int, columns: Int
    ) {
        guard rows > 0, columns > 0 else { return }
        if T.self == Float.self, let kernel = FloatKernel(op) {
            let function = kernel.function
            for r in 0..<rows { function(floats(x + r * ldx), floats(out + r * ldo), columns) }
            return
        }
        for r in 0..<rows { unary(op, x + r * ldx, into: out + r * ldo, count: columns) }
    }

    /// The backward of a unary map on a block of rows: `dx[r·ldx + j] = dy[r·ldy + j] · f'(…)`
    /// with `value` as `unaryGradient` takes it, for `r < rows`, `j < columns` (`binaryRows`'
    /// blocks). `dx` may be `dy` when their strides match.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func unaryGradientRows<T: KernelFloat>(
        _ op: UnaryGradient, value: UnsafePointer<T>, rowStride ldv: Int, gradient dy: UnsafePointer<T>, rowStride ldy: Int,
        into dx: UnsafeMutablePointer<T>, rowStride ldx: Int, rows: Int, columns: Int
    ) {
        guard rows > 0, columns > 0 else { return }
        if T.self == Float.self, let kernel = FloatKernel.gradient(op) {
            for r in 0..<rows { kernel(floats(value + r * ldv), floats(dy + r * ldy), floats(dx + r * ldx), columns) }
            return
        }
        for r in 0..<rows {
            unaryGradient(op, value: value + r * ldv, gradient: dy + r * ldy, into: dx + r * ldx, count: columns)
        }
    }
}
