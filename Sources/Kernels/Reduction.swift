/// A reduction over axes. `mean` is the sum divided by the number of reduced elements; `max` and
/// `min` propagate NaN (any NaN in the reduced elements gives NaN), as do `sum` and `mean`.
public enum ReduceOp: Sendable, Hashable, CaseIterable {
    case sum, mean, max, min
}

/// Reductions of a contiguous row-major tensor over any set of axes, and argmax over one axis.
///
/// The output holds the kept axes in order (the same memory whether the reduced axes are kept as
/// size 1 or dropped). Summation order is fixed by the shape and axes alone, so results are
/// reproducible and independent of the number of workers (work is split over output elements only):
/// - axes are first simplified: size-1 axes are dropped, neighbouring axes that are both reduced
///   (or both kept) are merged;
/// - when the innermost remaining axis is **kept** (e.g. summing a batch of rows for a bias
///   gradient), each output element is `((x₀ + x₁) + x₂) + …` over the reduced positions in
///   row-major order;
/// - when the innermost axis is **reduced** (length L, contiguous), each contiguous run is summed
///   with 4 SIMD accumulators (element `i < L - L mod 4w` goes to accumulator `(i / w) mod 4`, lane
///   `i mod w`, in increasing i), combined as `(a₀ + a₁) + (a₂ + a₃)`, lanes summed pairwise
///   (lane l with lane l + w/2, halving), then the remaining `L mod 4w` elements added in order;
///   runs of the outer reduced positions are then added in row-major order as above. A reduction
///   over all axes or over trailing axes is one such run per output, taken by a direct path (same
///   order, no offset arithmetic).
///
/// Nothing is allocated: the axis bookkeeping lives in temporary stack storage.
///
/// ```swift
/// // x: 2×3×4; sum over axes 0 and 2 → 3 values
/// try Reduction.reduce(.sum, x, shape: [2, 3, 4], axes: [0, 2], into: out)
/// ```
public enum Reduction {
    /// Reduces `x` (contiguous, `shape`) over `axes` into `out` (contiguous, the kept axes).
    /// Throws on an axis out of range or repeated, or a negative size. Reducing over no axes copies.
    /// Reducing zero elements gives 0 for `sum`, NaN for `mean`, and throws for `max`/`min`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func reduce<T: KernelFloat>(
        _ op: ReduceOp, _ x: UnsafePointer<T>, shape: [Int], axes: [Int],
        into out: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) throws {
        let rank = shape.count
        // Flags, simplified groups and their strides live in temporary (stack) storage: a
        // reduction allocates nothing.
        try withUnsafeTemporaryAllocation(of: Int.self, capacity: 4 * rank + 4) { buffer in
            let reduced = buffer.baseAddress!, groupSize = reduced + (rank + 1)
            let groupReduced = groupSize + (rank + 1), groupStride = groupReduced + (rank + 1)
            for d in 0..<rank {
                guard shape[d] >= 0 else { throw KernelError("reduce \(op)", "negative size in shape \(shape)") }
                reduced[d] = 0
            }
            for a in axes {
                guard a >= 0 && a < rank else { throw KernelError("reduce \(op)", "axis \(a) out of range for shape \(shape)") }
                guard reduced[a] == 0 else { throw KernelError("reduce \(op)", "axis \(a) repeated in \(axes)") }
                reduced[a] = 1
            }
            var reducedCount = 1, outCount = 1
            for d in 0..<rank { if reduced[d] != 0 { reducedCount *= shape[d] } else { outCount *= shape[d] } }
            if outCount == 0 { return }
            if reducedCount == 0 {
                guard op == .sum || op == .mean else {
                    throw KernelError("reduce \(op)", "no elements to reduce over axes \(axes) of shape \(shape)")
                }
                out.update(repeating: op == .sum ? 0 : .nan, count: outCount)
                return
            }
            // Simplified groups (size, reduced), outermost first.
            var groups = 0, anyReduced = false
            for d in 0..<rank where shape[d] != 1 {
                if groups > 0, groupReduced[groups - 1] == reduced[d] {
                    groupSize[groups - 1] *= shape[d]
                } else {
                    groupSize[groups] = shape[d]; groupReduced[groups] = reduced[d]
                    groups += 1
                }
                anyReduced = anyReduced || reduced[d] != 0
            }
            if !anyReduced {
                out.update(from: x, count: outCount)
                return
            }
            let g = Groups(size: groupSize, reduced: groupReduced, stride: groupStride, count: groups)
            switch op {
            case .sum: reduceGroups(AddOp.self, x, g, out, outCount, loop)
            case .mean:
                reduceGroups(AddOp.self, x, g, out, outCount, loop)
                let scale = T(reducedCount)
                Elementwise.binary(.div, out, scalar: scale, into: out, count: outCount, loop: loop)
            case .max: reduceGroups(MaxOp.self, x, g, out, outCount, loop)
            case .min: reduceGroups(MinOp.self, x, g, out, outCount, loop)
            }
        }
    }

    /// Simplified axis groups in temporary storage: `count` groups, outermost first, each with its
    /// size, whether it is reduced (0/1), and room for its input stride.
    struct Groups {
        let size: UnsafeMutablePointer<Int>
        let reduced: UnsafeMutablePointer<Int>
        let stride: UnsafeMutablePointer<Int>
        let count: Int
    }

    /// Index of the largest element along `axis` for every position of the other axes (`out` has
    /// the kept axes, contiguous). Ties go to the first index; a NaN counts as the largest (the first
    /// NaN wins), matching NumPy. Throws on a bad axis or an empty axis.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func argmax<T: KernelFloat>(
        _ x: UnsafePointer<T>, shape: [Int], axis: Int, into out: UnsafeMutablePointer<Int32>,
        loop: any ParallelLoop = SerialLoop()
    ) throws {
        guard axis >= 0 && axis < shape.count else { throw KernelError("argmax", "axis \(axis) out of range for shape \(shape)") }
        guard shape[axis] > 0 else { throw KernelError("argmax", "empty axis \(axis) in shape \(shape)") }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError("argmax", "negative size in shape \(shape)") }
        let n = shape[axis]
        let outer = shape[..<axis].reduce(1, *), inner = shape[(axis + 1)...].reduce(1, *)
        let split = loop.concurrency > 1 && outer > 1 && outer * n * inner > 1 << 16
        splitting(loop, 0..<outer, when: split, grain: Swift.max(1, (1 << 15) / (n * inner))) { range in
            for o in range {
                for i in 0..<inner {
                    let base = x + o * n * inner + i
                    var best = base[0], bestIndex = 0
                    if !best.isNaN {
                        for j in 1..<n {
                            let v = base[j * inner]
                            if v.isNaN { bestIndex = j; break }
                            if v > best { best = v; bestIndex = j }
                        }
                    }
                    out[o * inner + i] = Int32(bestIndex)
                }
            }
        }
    }

    /// The reduction proper on simplified groups (see the type's documentation for the order).
    @inline(__always)
    static func reduceGroups<F: BinaryFunctor, T: KernelFloat>(
        _ f: F.Type, _ x: UnsafePointer<T>, _ groups: Groups,
        _ out: UnsafeMutablePointer<T>, _ outCount: Int, _ loop: any ParallelLoop
    ) {
        let last = groups.count - 1
        let innerKept = groups.reduced[last] == 0
        let inner = groups.size[last]
        // Fast path: the reduced positions are one contiguous run per output (a reduction over
        // all axes, or over trailing axes). Same order as the general path with one outer position.
        if !innerKept && (last == 0 || (last == 1 && groups.reduced[0] == 0)) {
            let split = loop.concurrency > 1 && outCount > 1 && outCount * inner > 1 << 16
            splitting(loop, 0..<outCount, when: split, grain: Swift.max(1, (1 << 15) / inner)) { range in
                if T.self == Float.self && T.Vector.scalarCount == 8 {
                    F.op.floatFoldRows(floats(x + range.lowerBound * inner), range.count, inner, floats(out + range.lowerBound))
                } else {
                    for o in range { out[o] = foldRun(F.self, x + o * inner, inner) }
                }
            }
            return
        }
        // Input strides of each group (contiguous input).
        let size = groups.size, isReduced = groups.reduced, strides = groups.stride
        var s = 1
        var g = last
        while g >= 0 { strides[g] = s; s *= size[g]; g -= 1 }
        // Outer groups: all but the last; kept ones index outputs, reduced ones are iterated.
        var reducedPositions = 1
        for g in 0..<last where isReduced[g] != 0 { reducedPositions *= size[g] }
        /// Input offset of outer-kept index `o` (row-major over the outer kept groups) and reduced
        /// index `r` (row-major over the outer reduced groups).
        @inline(__always) func offset(_ o: Int, _ r: Int) -> Int {
            var o = o, r = r, off = 0
            var g = last - 1
            while g >= 0 {
                if isReduced[g] != 0 { off += (r % size[g]) * strides[g]; r /= size[g] }
                else { off += (o % size[g]) * strides[g]; o /= size[g] }
                g -= 1
            }
            return off
        }
        if innerKept && last == 1 && isReduced[0] != 0 && T.self == Float.self && T.Vector.scalarCount == 8 {
            // Column folds of a [rows, inner] matrix (a bias gradient): the C kernel of the level,
            // a few vectors of columns held in registers down all the rows (the same order as below).
            let rows = size[0]
            let piece = 2048, pieces = (inner + piece - 1) / piece
            let split = loop.concurrency > 1 && pieces > 1 && outCount * reducedPositions > 1 << 16
            splitting(loop, 0..<pieces, when: split, grain: 1) { range in
                for item in range {
                    let lo = item * piece, hi = Swift.min(inner, lo + piece)
                    F.op.floatFoldColumns(floats(x + lo), inner, rows, hi - lo, floats(out + lo))
                }
            }
        } else if innerKept && last == 1 && isReduced[0] != 0 && inner <= 4 * T.Vector.scalarCount {
            // Column folds of a [rows, inner] matrix with short rows (a bias gradient over few
            // channels): one vector of columns at a time, held in a register down all the rows (the
            // same order as below, without a call per row). A partial vector is read whole where
            // that stays inside `x`; its extra lanes are never stored.
            let w = T.Vector.scalarCount, rows = size[0], end = x + rows * inner
            var q = 0
            while q < inner {
                let lanes = Swift.min(w, inner - q)
                var p = x + q
                var acc = lanes == w || p + w <= end ? loadVector(p) : loadPartialVector(p, lanes)
                for _ in 1..<Swift.max(1, rows) {
                    p += inner
                    acc = F.apply(T.self, acc, lanes == w || p + w <= end ? loadVector(p) : loadPartialVector(p, lanes))
                }
                for l in 0..<lanes { out[q + l] = acc[l] }
                q += lanes
            }
        } else if innerKept {
            // out[o][i] = fold over r of x[offset(o, r) + i], vectorized across i.
            let outerCount = outCount / inner
            let piece = Swift.min(inner, 2048)
            let piecesPerRow = (inner + piece - 1) / piece
            // The output piece is the accumulator: rows are added to it one after another, so
            // each element still sees the reduced positions in order, while memory is read in
            // contiguous rows (a column-by-column walk would miss the cache on every row).
            let items = outerCount * piecesPerRow
            let split = loop.concurrency > 1 && items > 1 && outCount * reducedPositions > 1 << 16
            splitting(loop, 0..<items, when: split, grain: Swift.max(1, items / (4 * loop.concurrency))) { range in
                for item in range {
                    let o = item / piecesPerRow
                    let lo = (item % piecesPerRow) * piece, hi = Swift.min(inner, lo + piece)
                    let dst = out + o * inner + lo
                    dst.update(from: x + offset(o, 0) + lo, count: hi - lo)
                    for r in 1..<Swift.max(1, reducedPositions) {
                        Elementwise.binaryRun(F.self, UnsafePointer(dst), 1, x + offset(o, r) + lo, 1, dst, hi - lo)
                    }
                }
            }
        } else {
            // out[o] = fold over r of run(x + offset(o, r), inner).
            let split = loop.concurrency > 1 && outCount > 1 && outCount * reducedPositions * inner > 1 << 16
            splitting(loop, 0..<outCount, when: split, grain: Swift.max(1, (1 << 15) / (reducedPositions * inner))) { range in
                for o in range {
                    var acc = foldRun(F.self, x + offset(o, 0), inner)
                    for r in 1..<Swift.max(1, reducedPositions) {
                        let v = foldRun(F.self, x + offset(o, r), inner)
                        acc = F.apply(T.self, T.Vector(repeating: acc), T.Vector(repeating: v))[0]
                    }
                    out[o] = acc
                }
            }
        }
    }

    /// Folds `n ≥ 1` contiguous elements in the fixed order documented on `Reduction`.
    @inline(__always)
    static func foldRun<F: BinaryFunctor, T: KernelFloat>(_ f: F.Type, _ x: UnsafePointer<T>, _ n: Int) -> T {
        if T.self == Float.self && T.Vector.scalarCount == 8 {
            // The C kernels keep this order (8-lane accumulators) on every level.
            return unsafeBitCast(F.op.floatFold(floats(x), n), to: T.self)
        }
        let w = T.Vector.scalarCount
        var i = 0
        var result: T
        if n >= 4 * w {
            var a0 = loadVector(x), a1 = loadVector(x + w), a2 = loadVector(x + 2 * w), a3 = loadVector(x + 3 * w)
            i = 4 * w
            while i + 4 * w <= n {
                a0 = F.apply(T.self, a0, loadVector(x + i))
                a1 = F.apply(T.self, a1, loadVector(x + i + w))
                a2 = F.apply(T.self, a2, loadVector(x + i + 2 * w))
                a3 = F.apply(T.self, a3, loadVector(x + i + 3 * w))
                i += 4 * w
            }
            let v = F.apply(T.self, F.apply(T.self, a0, a1), F.apply(T.self, a2, a3))
            result = horizontal(F.self, T.self, v)
        } else {
            result = x[0]
            i = 1
        }
        while i < n {
            result = F.apply(T.self, T.Vector(repeating: result), T.Vector(repeating: x[i]))[0]
            i += 1
        }
        return result
    }

    /// The first `count` (< one vector) elements at `p`, the other lanes 0.
    @inline(__always)
    static func loadPartialVector<T: KernelFloat>(_ p: UnsafePointer<T>, _ count: Int) -> T.Vector {
        var v = T.Vector()
        for j in 0..<count { v[j] = p[j] }
        return v
    }

    /// Lanes folded pairwise: lane l with lane l + w/2, halving until one lane is left.
    @inline(__always)
    static func horizontal<F: BinaryFunctor, T: KernelFloat>(_ f: F.Type, _ t: T.Type, _ v: T.Vector) -> T {
        var lanes = v
        var half = T.Vector.scalarCount / 2
        while half >= 1 {
            var hi = T.Vector()
            for l in 0..<half { hi[l] = lanes[l + half] }
            lanes = F.apply(T.self, lanes, hi)
            half /= 2
        }
        return lanes[0]
    }
}
