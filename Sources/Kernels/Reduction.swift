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
///   runs of the outer reduced positions are then added in row-major order as above.
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
        let name = "reduce \(op)"
        guard shape.allSatisfy({ $0 >= 0 }) else { throw KernelError(name, "negative size in shape \(shape)") }
        var reduced = [Bool](repeating: false, count: shape.count)
        for a in axes {
            guard a >= 0 && a < shape.count else { throw KernelError(name, "axis \(a) out of range for shape \(shape)") }
            guard !reduced[a] else { throw KernelError(name, "axis \(a) repeated in \(axes)") }
            reduced[a] = true
        }
        var reducedCount = 1, outCount = 1
        for d in shape.indices { if reduced[d] { reducedCount *= shape[d] } else { outCount *= shape[d] } }
        if outCount == 0 { return }
        if reducedCount == 0 {
            guard op == .sum || op == .mean else {
                throw KernelError(name, "no elements to reduce over axes \(axes) of shape \(shape)")
            }
            out.update(repeating: op == .sum ? 0 : .nan, count: outCount)
            return
        }
        // Simplified groups (size, reduced), outermost first.
        var groups: [(size: Int, reduced: Bool)] = []
        for d in shape.indices where shape[d] != 1 {
            if let last = groups.last, last.reduced == reduced[d] {
                groups[groups.count - 1].size *= shape[d]
            } else {
                groups.append((shape[d], reduced[d]))
            }
        }
        if !groups.contains(where: { $0.reduced }) {
            out.update(from: x, count: outCount)
            return
        }
        switch op {
        case .sum: reduceGroups(AddOp.self, x, groups, out, outCount, loop)
        case .mean:
            reduceGroups(AddOp.self, x, groups, out, outCount, loop)
            let scale = T(reducedCount)
            Elementwise.binary(.div, out, scalar: scale, into: out, count: outCount, loop: loop)
        case .max: reduceGroups(MaxOp.self, x, groups, out, outCount, loop)
        case .min: reduceGroups(MinOp.self, x, groups, out, outCount, loop)
        }
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
        let body = { (range: Range<Int>) in
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
        if loop.concurrency > 1 && outer > 1 && outer * n * inner > 1 << 16 {
            loop.parallelFor(0..<outer, grain: Swift.max(1, (1 << 15) / (n * inner)), body)
        } else {
            body(0..<outer)
        }
    }

    /// The reduction proper on simplified groups (see the type's documentation for the order).
    static func reduceGroups<F: BinaryFunctor, T: KernelFloat>(
        _ f: F.Type, _ x: UnsafePointer<T>, _ groups: [(size: Int, reduced: Bool)],
        _ out: UnsafeMutablePointer<T>, _ outCount: Int, _ loop: any ParallelLoop
    ) {
        // Input strides of each group (contiguous input).
        var strides = [Int](repeating: 1, count: groups.count)
        var s = 1
        for g in groups.indices.reversed() { strides[g] = s; s *= groups[g].size }
        let innerKept = !groups[groups.count - 1].reduced
        let inner = groups[groups.count - 1].size
        // Outer groups: all but the last; kept ones index outputs, reduced ones are iterated.
        let outerKept = groups.indices.dropLast().filter { !groups[$0].reduced }
        let outerReduced = groups.indices.dropLast().filter { groups[$0].reduced }
        let reducedPositions = outerReduced.reduce(1) { $0 * groups[$1].size }
        /// Input offset of outer-kept index `o` (row-major over outerKept) and reduced index `r`.
        @inline(__always) func offset(_ o: Int, _ r: Int) -> Int {
            var o = o, r = r, off = 0
            for g in outerKept.reversed() { off += (o % groups[g].size) * strides[g]; o /= groups[g].size }
            for g in outerReduced.reversed() { off += (r % groups[g].size) * strides[g]; r /= groups[g].size }
            return off
        }
        if innerKept {
            // out[o][i] = fold over r of x[offset(o, r) + i], vectorized across i.
            let outerCount = outCount / inner
            let piece = Swift.min(inner, 2048)
            let piecesPerRow = (inner + piece - 1) / piece
            // The output piece is the accumulator: rows are added to it one after another, so
            // each element still sees the reduced positions in order, while memory is read in
            // contiguous rows (a column-by-column walk would miss the cache on every row).
            let body = { (range: Range<Int>) in
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
            let items = outerCount * piecesPerRow
            if loop.concurrency > 1 && items > 1 && outCount * reducedPositions > 1 << 16 {
                loop.parallelFor(0..<items, grain: Swift.max(1, items / (4 * loop.concurrency)), body)
            } else {
                body(0..<items)
            }
        } else {
            // out[o] = fold over r of run(x + offset(o, r), inner).
            let body = { (range: Range<Int>) in
                for o in range {
                    var acc = foldRun(F.self, x + offset(o, 0), inner)
                    for r in 1..<Swift.max(1, reducedPositions) {
                        let v = foldRun(F.self, x + offset(o, r), inner)
                        acc = F.apply(T.self, T.Vector(repeating: acc), T.Vector(repeating: v))[0]
                    }
                    out[o] = acc
                }
            }
            if loop.concurrency > 1 && outCount > 1 && outCount * reducedPositions * inner > 1 << 16 {
                loop.parallelFor(0..<outCount, grain: Swift.max(1, (1 << 15) / (reducedPositions * inner)), body)
            } else {
                body(0..<outCount)
            }
        }
    }

    /// Folds `n ≥ 1` contiguous elements in the fixed order documented on `Reduction`.
    @inline(__always)
    static func foldRun<F: BinaryFunctor, T: KernelFloat>(_ f: F.Type, _ x: UnsafePointer<T>, _ n: Int) -> T {
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
