/// A shape walked by two operands with their own strides, simplified for loops: size-1 dimensions
/// are dropped and neighbours that both operands traverse as one run are merged, so a contiguous
/// or simply broadcast layout becomes one long inner dimension.
struct StridedDims {
    /// Outer dimensions (outermost first), their strides per operand, and the inner dimension.
    private(set) var outerSizes: [Int] = []
    private(set) var outerStrides0: [Int] = []
    private(set) var outerStrides1: [Int] = []
    private(set) var innerCount = 1
    private var inner0 = 0, inner1 = 0

    init(shape: [Int], strides: [[Int]]) {
        var sizes: [Int] = [], s0: [Int] = [], s1: [Int] = []
        for d in shape.indices where shape[d] != 1 {
            if let last = sizes.indices.last,
               s0[last] == strides[0][d] * shape[d], s1[last] == strides[1][d] * shape[d] {
                sizes[last] *= shape[d]
                s0[last] = strides[0][d]
                s1[last] = strides[1][d]
            } else {
                sizes.append(shape[d]); s0.append(strides[0][d]); s1.append(strides[1][d])
            }
        }
        if let n = sizes.popLast() {
            innerCount = n
            inner0 = s0.removeLast()
            inner1 = s1.removeLast()
        }
        outerSizes = sizes
        outerStrides0 = s0
        outerStrides1 = s1
    }

    /// Total number of elements.
    var count: Int { outerSizes.reduce(innerCount, *) }

    func innerStride(_ operand: Int) -> Int { operand == 0 ? inner0 : inner1 }

    /// Offsets of both operands at the start of inner row `row` (row-major over the outer dims).
    @inline(__always) func outerOffsets(_ row: Int) -> (Int, Int) {
        var r = row, o0 = 0, o1 = 0
        var d = outerSizes.count - 1
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
