/// An n-dimensional array of `Scalar` values: a shape, strides and copy-on-write storage.
///
/// Tensors are values: copying one is cheap and shares storage until one copy is written.
/// `reshaped` and `transposed` are views (no copy) over the same storage.
///
/// ```swift
/// var t = Tensor<Float>(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6])
/// t[1, 2] = 60
/// let u = t.transposed()            // shape [3, 2], shares storage
/// print(u.scalars)                  // [1, 4, 2, 5, 3, 60]
/// var rng = SeededGenerator(seed: 7)
/// let w = Tensor<Float>.randomNormal(shape: [784, 128], standardDeviation: 0.05, using: &rng)
/// ```
public struct Tensor<Scalar: TensorScalar>: Sendable {
    /// The size of each dimension; `[]` is a scalar (one element).
    public private(set) var shape: [Int]
    /// Elements to skip in storage to move one step along each dimension.
    public private(set) var strides: [Int]
    /// Position of element `[0, 0, ...]` in storage.
    private var offset: Int
    private var storage: [Scalar]

    /// Row-major strides for `shape`.
    public static func contiguousStrides(_ shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var s = 1
        for d in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[d] = s
            s *= shape[d]
        }
        return strides
    }

    /// The number of elements (product of the shape; 1 for a scalar).
    public var count: Int { shape.reduce(1, *) }
    /// The number of dimensions.
    public var rank: Int { shape.count }

    /// A tensor holding `scalars` in row-major order; `scalars.count` must equal the shape's product.
    public init(shape: [Int], scalars: [Scalar]) {
        precondition(shape.allSatisfy { $0 >= 0 }, "Tensor: negative dimension in \(shape)")
        precondition(shape.reduce(1, *) == scalars.count,
                     "Tensor: \(scalars.count) scalars do not fill shape \(shape)")
        self.shape = shape
        self.strides = Tensor.contiguousStrides(shape)
        self.offset = 0
        self.storage = scalars
    }

    /// Like `init(shape:scalars:)` but throws (naming both sizes) instead of trapping on a mismatch.
    public init(validating shape: [Int], scalars: [Scalar]) throws {
        guard shape.allSatisfy({ $0 >= 0 }), shape.reduce(1, *) == scalars.count else {
            throw GraphError(operation: "tensor", shapes: [shape],
                             message: "\(scalars.count) scalars do not fill shape \(shape)")
        }
        self.init(shape: shape, scalars: scalars)
    }

    /// A one-dimensional tensor.
    public init(_ scalars: [Scalar]) { self.init(shape: [scalars.count], scalars: scalars) }

    /// A rank-0 tensor holding one value.
    public init(scalar: Scalar) { self.init(shape: [], scalars: [scalar]) }

    /// A two-dimensional tensor from rows of equal length.
    public init(rows: [[Scalar]]) {
        let columns = rows.first?.count ?? 0
        precondition(rows.allSatisfy { $0.count == columns }, "Tensor: ragged rows")
        self.init(shape: [rows.count, columns], scalars: rows.flatMap { $0 })
    }

    /// Every element equal to `value`.
    public init(shape: [Int], repeating value: Scalar) {
        self.init(shape: shape, scalars: [Scalar](repeating: value, count: shape.reduce(1, *)))
    }

    public static func zeros(shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 0) }
    public static func ones(shape: [Int]) -> Tensor { Tensor(shape: shape, repeating: 1) }
    public static func full(shape: [Int], value: Scalar) -> Tensor { Tensor(shape: shape, repeating: value) }

    /// Normal samples with the given mean and standard deviation, drawn in row-major order.
    public static func randomNormal(shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1,
                                    using generator: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        var values = [Scalar]()
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(mean + standardDeviation * Scalar(generator.nextNormal())) }
        return Tensor(shape: shape, scalars: values)
    }

    /// Uniform samples in `[lowerBound, upperBound)`, drawn in row-major order.
    public static func randomUniform(shape: [Int], in range: Range<Scalar> = 0..<1,
                                     using generator: inout SeededGenerator) -> Tensor {
        let n = shape.reduce(1, *)
        let width = range.upperBound - range.lowerBound
        var values = [Scalar]()
        values.reserveCapacity(n)
        for _ in 0..<n { values.append(range.lowerBound + width * Scalar(generator.nextUniform())) }
        return Tensor(shape: shape, scalars: values)
    }

    /// Whether elements lie in storage in row-major order with no gaps.
    public var isContiguous: Bool { strides == Tensor.contiguousStrides(shape) }

    private func storageIndex(_ indices: [Int]) -> Int {
        precondition(indices.count == shape.count,
                     "Tensor: \(indices.count) indices for a rank-\(shape.count) tensor")
        var at = offset
        for d in 0..<indices.count {
            precondition(indices[d] >= 0 && indices[d] < shape[d],
                         "Tensor: index \(indices) out of range for shape \(shape)")
            at += indices[d] * strides[d]
        }
        return at
    }

    /// The element at `indices` (one per dimension).
    public subscript(_ indices: Int...) -> Scalar {
        get { storage[storageIndex(indices)] }
        set { storage[storageIndex(indices)] = newValue }
    }

    /// The element at `indices` (one per dimension).
    public subscript(indices indices: [Int]) -> Scalar {
        get { storage[storageIndex(indices)] }
        set { storage[storageIndex(indices)] = newValue }
    }

    /// All elements in row-major order (a copy only when this tensor is a strided view).
    public var scalars: [Scalar] {
        if isContiguous && offset == 0 && storage.count == count { return storage }
        var out = [Scalar]()
        out.reserveCapacity(count)
        let n = count
        if n == 0 { return out }
        var index = [Int](repeating: 0, count: shape.count)
        var at = offset
        for _ in 0..<n {
            out.append(storage[at])
            var d = shape.count - 1
            while d >= 0 {
                index[d] += 1
                at += strides[d]
                if index[d] < shape[d] { break }
                at -= strides[d] * shape[d]
                index[d] = 0
                d -= 1
            }
        }
        return out
    }

    /// The single element of a one-element tensor.
    public var scalar: Scalar {
        precondition(count == 1, "Tensor.scalar: shape \(shape) has \(count) elements")
        return storage[offset]
    }

    /// A view with a new shape of the same element count (copies first if this is a strided view).
    public func reshaped(_ newShape: [Int]) -> Tensor {
        precondition(newShape.reduce(1, *) == count, "Tensor.reshaped: \(shape) to \(newShape)")
        var t = isContiguous ? self : Tensor(shape: shape, scalars: scalars)
        t.shape = newShape
        t.strides = Tensor.contiguousStrides(newShape)
        return t
    }

    /// A view with dimensions permuted (`permutation[i]` is the source dimension of result dimension
    /// `i`); by default the last two dimensions swap.
    public func transposed(_ permutation: [Int]? = nil) -> Tensor {
        let perm = permutation ?? {
            var p = Array(0..<shape.count)
            if p.count >= 2 { p.swapAt(p.count - 1, p.count - 2) }
            return p
        }()
        precondition(perm.sorted() == Array(0..<shape.count),
                     "Tensor.transposed: \(perm) is not a permutation of \(shape.count) dimensions")
        var t = self
        t.shape = perm.map { shape[$0] }
        t.strides = perm.map { strides[$0] }
        return t
    }

    /// Calls `body` with the elements in row-major order, without copying when contiguous.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Scalar>) throws -> R) rethrows -> R {
        if isContiguous && offset == 0 && storage.count == count {
            return try storage.withUnsafeBufferPointer(body)
        }
        return try scalars.withUnsafeBufferPointer(body)
    }
}

extension Tensor: Equatable {
    /// Equal shapes and equal elements (compared with `==`, so NaN differs from itself).
    public static func == (a: Tensor, b: Tensor) -> Bool { a.shape == b.shape && a.scalars == b.scalars }
}
