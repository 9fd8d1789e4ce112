/// Elementwise selections and their derivatives: `where(condition, a, b)`, the gradients of
/// `minimum`/`maximum` and of `clamp`, over operands that broadcast NumPy-style (strides of 0).
///
/// Every output element depends only on the same-index input elements, and work is split over
/// rows of the output only, so results never depend on the worker count.
///
/// ```swift
/// // out[i][j] = cond[i][j] != 0 ? a[i][j] : b[j]     (cond, a: 2×3 contiguous, b: a row of 3)
/// try Selection.select(shape: [2, 3], condition: c, strides: [3, 1], a, strides: [3, 1],
///                      b, strides: [0, 1], into: out)
/// ```
public enum Selection {
    /// `out[index] = condition[index] != 0 ? a[index] : b[index]` for every index of `shape`
    /// (strides in elements, 0 for a broadcast dimension); `out` is contiguous. A NaN condition
    /// counts as true (it is nonzero).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func select<T: KernelFloat>(
        shape: [Int], condition: UnsafePointer<T>, strides cs: [Int], _ a: UnsafePointer<T>, strides sa: [Int],
        _ b: UnsafePointer<T>, strides sb: [Int], into out: UnsafeMutablePointer<T>,
        loop: any ParallelLoop = SerialLoop()
    ) throws {
        let rows = try StridedRows(shape: shape, strides: [cs, sa, sb], kernel: "select")
        rows.run(loop) { row, o, n in
            let c = condition + o[0], x = a + o[1], y = b + o[2], r = out + row * n
            let s0 = rows.inner[0], s1 = rows.inner[1], s2 = rows.inner[2]
            for i in 0..<n { r[i] = c[i * s0] != 0 ? x[i * s1] : y[i * s2] }
        }
    }

    /// Gradient of `where` for one branch: `out[index] = (condition[index] != 0) == whenTrue ?
    /// g[index] : 0`, with `g` and `out` contiguous of `shape` and the condition broadcast.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func selectGradient<T: KernelFloat>(
        whenTrue: Bool, shape: [Int], condition: UnsafePointer<T>, strides cs: [Int],
        gradient g: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) throws {
        let rows = try StridedRows(shape: shape, strides: [cs], kernel: "select gradient")
        rows.run(loop) { row, o, n in
            let c = condition + o[0], s0 = rows.inner[0], gr = g + row * n, r = out + row * n
            for i in 0..<n { r[i] = (c[i * s0] != 0) == whenTrue ? gr[i] : 0 }
        }
    }

    /// Gradient of `maximum(a, b)` (or `minimum` when `maximum` is false) with respect to `a`:
    /// `g` where `a` is the result alone (`a > b`, or `a < b` for the minimum, or `a` is NaN), `g / 2`
    /// at ties (`a == b`: the two inputs share it, as PyTorch does), else 0. The gradient with
    /// respect to `b` is the same call with `a` and `b` swapped. `g` and `out` are contiguous.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func extremumGradient<T: KernelFloat>(
        maximum: Bool, shape: [Int], _ a: UnsafePointer<T>, strides sa: [Int], _ b: UnsafePointer<T>, strides sb: [Int],
        gradient g: UnsafePointer<T>, into out: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) throws {
        let rows = try StridedRows(shape: shape, strides: [sa, sb], kernel: "extremum gradient")
        rows.run(loop) { row, o, n in
            let x = a + o[0], y = b + o[1], s0 = rows.inner[0], s1 = rows.inner[1]
            let gr = g + row * n, r = out + row * n
            for i in 0..<n {
                let u = x[i * s0], v = y[i * s1]
                let wins = maximum ? u > v : u < v
                r[i] = wins || u.isNaN ? gr[i] : u == v ? gr[i] * T(0.5) : 0
            }
        }
    }

    /// `out[i] = min(max(x[i], lower), upper)` for `i < count`, contiguous (NaN stays NaN).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func clamp<T: KernelFloat>(
        _ x: UnsafePointer<T>, lower: T, upper: T, into out: UnsafeMutablePointer<T>, count: Int,
        loop: any ParallelLoop = SerialLoop()
    ) {
        Elementwise.binary(.max, x, scalar: lower, into: out, count: count, loop: loop)
        Elementwise.binary(.min, UnsafePointer(out), scalar: upper, into: out, count: count, loop: loop)
    }

    /// Gradient of `clamp`: `out[i] = dy[i]` where `lower <= x[i] <= upper`, else 0 (NaN where
    /// `x[i]` is NaN, as for `relu`). Contiguous; `out` may alias `dy`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func clampGradient<T: KernelFloat>(
        _ x: UnsafePointer<T>, lower: T, upper: T, gradient dy: UnsafePointer<T>, into out: UnsafeMutablePointer<T>,
        count: Int, loop: any ParallelLoop = SerialLoop()
    ) {
        let pieces = (count + chunk - 1) / chunk
        splitting(loop, 0..<pieces, when: loop.concurrency > 1 && pieces > 1, grain: 1) { range in
            for i in range.lowerBound * chunk ..< Swift.min(count, range.upperBound * chunk) {
                let v = x[i]
                out[i] = v >= lower && v <= upper ? dy[i] : v.isNaN ? v : 0
            }
        }
    }

    /// Elements per piece of work handed to a worker.
    static var chunk: Int { 1 << 15 }
}

/// The rows (last dimension) of a broadcast iteration over `shape`, with each operand's offset per
/// row; rows are split over a loop in pieces of at least `Selection.chunk` elements.
struct StridedRows {
    let shape: [Int]
    let strides: [[Int]]
    /// Each operand's stride along the last dimension.
    let inner: [Int]
    let rowLength: Int
    let rows: Int

    init(shape: [Int], strides: [[Int]], kernel: String) throws {
        guard strides.allSatisfy({ $0.count == shape.count }) else {
            throw KernelError(kernel, "shape \(shape) has rank \(shape.count) but strides \(strides)")
        }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError(kernel, "negative size in shape \(shape)") }
        self.shape = shape
        self.strides = strides
        inner = strides.map { $0.last ?? 0 }
        rowLength = shape.last ?? 1
        rows = rowLength == 0 ? 0 : shape.reduce(1, *) / rowLength
    }

    /// Calls `body(row, offsets, rowLength)` for every row, where `offsets[k]` is operand k's offset
    /// of the row's first element.
    func run(_ loop: any ParallelLoop, _ body: (Int, UnsafePointer<Int>, Int) -> Void) {
        if rows == 0 { return }
        let operands = strides.count, outer = shape.count - 1
        let grain = Swift.max(1, Selection.chunk / Swift.max(1, rowLength))
        splitting(loop, 0..<rows, when: loop.concurrency > 1 && rows > grain, grain: grain) { range in
            withUnsafeTemporaryAllocation(of: Int.self, capacity: Swift.max(1, operands)) { offsets in
                for row in range {
                    var rest = row
                    for k in 0..<operands { offsets[k] = 0 }
                    var d = outer - 1
                    while d >= 0 {
                        let i = rest % shape[d]
                        rest /= shape[d]
                        for k in 0..<operands { offsets[k] += i * strides[k][d] }
                        d -= 1
                    }
                    body(row, UnsafePointer(offsets.baseAddress!), rowLength)
                }
            }
        }
    }
}
