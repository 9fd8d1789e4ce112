/// A shape walked by two operands with their own strides, simplified for loops: size-1 dimensions
/// are dropped and neighbours that both operands traverse as one run are merged, so a contiguous
/// or simply broadcast layout becomes one long inner dimension.
///
/// It lives in temporary storage (`withUnsafeTemporaryAllocation`, on the stack for any
/// reasonable rank) and only inside `StridedDims.with`, so building it allocates nothing.
struct StridedDims {
    /// Outer dimensions (outermost first) and their strides per operand; `outerRank` of each.
    let outerSizes: UnsafeMutablePointer<Int>
    let outerStrides0: UnsafeMutablePointer<Int>
    let outerStrides1: UnsafeMutablePointer<Int>
    private(set) var outerRank = 0
    /// Length of the inner (last, merged) dimension.
    private(set) var innerCount = 1
    private var inner0 = 0, inner1 = 0

    /// Calls `body` with the simplified dims of `shape` walked with `strides0` and `strides1`
    /// (`strides1` nil: contiguous row-major). The ranks must already have been checked.
    @inline(__always)
    static func with<R>(shape: [Int], strides0: [Int], strides1: [Int]?,
                        _ body: (StridedDims) throws -> R) rethrows -> R {
        let rank = shape.count
        return try withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * rank + 4) { buffer in
            let base = buffer.baseAddress!
            let dims = StridedDims(shape, strides0, strides1, base, rank)
            return try body(dims)
        }
    }

    private init(_ shape: [Int], _ strides0: [Int], _ strides1: [Int]?, _ base: UnsafeMutablePointer<Int>, _ rank: Int) {
        outerSizes = base
        outerStrides0 = base + (rank + 1)
        outerStrides1 = base + 2 * (rank + 1)
        let contiguous = base + 3 * (rank + 1)
        if strides1 == nil {
            var s = 1
            var d = rank - 1
            while d >= 0 { contiguous[d] = s; s *= Swift.max(shape[d], 1); d -= 1 }
        }
        var n = 0
        for d in 0..<rank where shape[d] != 1 {
            let a = strides0[d], b = strides1?[d] ?? contiguous[d]
            if n > 0, outerStrides0[n - 1] == a * shape[d], outerStrides1[n - 1] == b * shape[d] {
                outerSizes[n - 1] *= shape[d]
                outerStrides0[n - 1] = a
                outerStrides1[n - 1] = b
            } else {
                outerSizes[n] = shape[d]; outerStrides0[n] = a; outerStrides1[n] = b
                n += 1
            }
        }
        if n > 0 {
            n -= 1
            innerCount = outerSizes[n]
            inner0 = outerStrides0[n]
            inner1 = outerStrides1[n]
        }
        outerRank = n
    }

    /// Total number of elements.
    var count: Int {
        var c = innerCount
        for d in 0..<outerRank { c *= outerSizes[d] }
        return c
    }

    func innerStride(_ operand: Int) -> Int { operand == 0 ? inner0 : inner1 }

    /// Offsets of both operands at the start of inner row `row` (row-major over the outer dims).
    @inline(__always) func outerOffsets(_ row: Int) -> (Int, Int) {
        var r = row, o0 = 0, o1 = 0
        var d = outerRank - 1
        while d >= 0 {
            let n = outerSizes[d]
            let i = r % n
            r /= n
            o0 += i * outerStrides0[d]
            o1 += i * outerStrides1[d]
            d -= 1
        }
        return (o0, o1)
    }
}

/// NumPy broadcasting rules for shapes and the strides that implement them.
///
/// ```swift
/// let out = try Broadcast.shape([4, 1, 3], [5, 1])                 // [4, 5, 3]
/// let sb = try Broadcast.strides(of: [5, 1], to: out)               // [0, 1, 0]
/// ```
public enum Broadcast {
    /// The broadcast shape of `a` and `b` (right-aligned; each pair of sizes equal or one of them 1).
    public static func shape(_ a: [Int], _ b: [Int]) throws -> [Int] {
        let rank = Swift.max(a.count, b.count)
        var out = [Int](repeating: 1, count: rank)
        for i in 0..<rank {
            let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
            let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
            guard x == y || x == 1 || y == 1 else {
                throw KernelError("broadcast", "shapes \(a) and \(b) are not compatible (dimension \(i): \(x) vs \(y))")
            }
            out[i] = x == 1 ? y : x
        }
        return out
    }

    /// Row-major contiguous strides of `shape`, in elements.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in shape.indices.reversed() {
            strides[d] = s
            s *= Swift.max(shape[d], 1)
        }
        return strides
    }

    /// Strides that read a tensor of `shape` (with `strides`, contiguous when nil) as if it had the
    /// larger shape `target`: leading missing dimensions and size-1 dimensions get stride 0.
    public static func strides(of shape: [Int], strides: [Int]? = nil, to target: [Int]) throws -> [Int] {
        let own = strides ?? contiguousStrides(shape)
        guard own.count == shape.count, shape.count <= target.count else {
            throw KernelError("broadcast", "cannot broadcast shape \(shape) to \(target)")
        }
        let lead = target.count - shape.count
        var out = [Int](repeating: 0, count: target.count)
        for d in shape.indices {
            let t = target[lead + d]
            if shape[d] == t {
                out[lead + d] = t == 1 ? 0 : own[d]
            } else if shape[d] == 1 {
                out[lead + d] = 0
            } else {
                throw KernelError("broadcast", "cannot broadcast shape \(shape) to \(target)")
            }
        }
        return out
    }
}
