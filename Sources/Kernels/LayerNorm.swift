/// Layer normalization over the last axis of a contiguous `rows × cols` matrix, forward and
/// backward, each fused into one pass per row (statistics recomputed, never stored between passes):
///
///     mean_r = Σ_j x[r][j] / cols,   var_r = Σ_j (x[r][j] - mean_r)² / cols,   rstd_r = 1 / √(var_r + ε)
///     x̂[r][j] = (x[r][j] - mean_r) · rstd_r,   y[r][j] = x̂[r][j] · γ[j] + β[j]
///
/// Row sums use a fixed order (vector accumulators, their lanes added in order, then the tail), and
/// work is split over rows (the γ gradient over fixed blocks of rows whose partial sums are added in
/// block order), so results are bitwise equal for any worker count.
///
/// ```swift
/// // x: 32×64, gamma and beta: 64
/// LayerNorm.forward(x, gamma: g, beta: b, rows: 32, cols: 64, epsilon: 1e-5, into: y)
/// LayerNorm.backward(x, gamma: g, gradient: dy, rows: 32, cols: 64, epsilon: 1e-5, into: dx)
/// ```
public enum LayerNorm {
    /// `y = x̂ · γ + β` per row (see the type). `y` may alias `x`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func forward<T: KernelFloat>(
        _ x: UnsafePointer<T>, gamma: UnsafePointer<T>, beta: UnsafePointer<T>, rows: Int, cols: Int,
        epsilon: T, into y: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let grain = Swift.max(1, chunk / Swift.max(1, cols))
        splitting(loop, 0..<rows, when: loop.concurrency > 1 && rows > grain, grain: grain) { range in
            for r in range {
                let xr = x + r * cols, yr = y + r * cols
                let (mean, rstd) = statistics(xr, cols, epsilon)
                for j in 0..<cols { yr[j] = (xr[j] - mean) * rstd * gamma[j] + beta[j] }
            }
        }
    }

    /// The gradient with respect to `x`: per row, with `ĝ = dy · γ`,
    /// `dx = rstd · (ĝ - Σ ĝ / cols - x̂ · Σ(ĝ · x̂) / cols)`. `dx` may alias `dy`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backward<T: KernelFloat>(
        _ x: UnsafePointer<T>, gamma: UnsafePointer<T>, gradient dy: UnsafePointer<T>, rows: Int, cols: Int,
        epsilon: T, into dx: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let grain = Swift.max(1, chunk / Swift.max(1, cols))
        splitting(loop, 0..<rows, when: loop.concurrency > 1 && rows > grain, grain: grain) { range in
            for r in range {
                let xr = x + r * cols, gr = dy + r * cols, dr = dx + r * cols
                let (mean, rstd) = statistics(xr, cols, epsilon)
                let (sumG, sumGX) = gradientSums(xr, gr, gamma, cols, mean: mean, rstd: rstd)
                let n = T(cols)
                let a = sumG / n, b = sumGX / n
                // The same operations per element, a vector at a time, then the tail.
                let w = T.Vector.scalarCount
                let vm = T.Vector(repeating: mean), vr = T.Vector(repeating: rstd)
                let va = T.Vector(repeating: a), vb = T.Vector(repeating: b)
                var j = 0
                while j + w <= cols {
                    let xhat = (loadVector(xr + j) - vm) * vr
                    storeVector(vr * (loadVector(gr + j) * loadVector(gamma + j) - va - xhat * vb), dr + j)
                    j += w
                }
                while j < cols {
                    let xhat = (xr[j] - mean) * rstd
                    dr[j] = rstd * (gr[j] * gamma[j] - a - xhat * b)
                    j += 1
                }
            }
        }
    }

    /// Elements of scratch `gammaGradient` needs for these sizes.
    public static func gammaScratchCount(rows: Int, cols: Int) -> Int {
        blocks(rows: rows, cols: cols) * cols
    }

    /// The gradient with respect to `γ`: `dγ[j] = Σ_r dy[r][j] · x̂[r][j]`, summed over fixed blocks of
    /// rows in row order, then the blocks' sums in block order. `scratch` holds
    /// `gammaScratchCount(rows:cols:)` elements.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func gammaGradient<T: KernelFloat>(
        _ x: UnsafePointer<T>, gradient dy: UnsafePointer<T>, rows: Int, cols: Int, epsilon: T,
        into dGamma: UnsafeMutablePointer<T>, scratch: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let count = blocks(rows: rows, cols: cols), size = blockRows(cols: cols)
        splitting(loop, 0..<count, when: loop.concurrency > 1 && count > 1, grain: 1) { range in
            for b in range {
                let partial = scratch + b * cols
                partial.update(repeating: 0, count: cols)
                for r in (b * size)..<Swift.min(rows, (b + 1) * size) {
                    let xr = x + r * cols, gr = dy + r * cols
                    let (mean, rstd) = statistics(xr, cols, epsilon)
                    for j in 0..<cols { partial[j] += gr[j] * ((xr[j] - mean) * rstd) }
                }
            }
        }
        dGamma.update(repeating: 0, count: cols)
        for b in 0..<count {
            let partial = scratch + b * cols
            for j in 0..<cols { dGamma[j] += partial[j] }
        }
    }

    /// Mean and `1 / √(variance + ε)` of one row (two passes, fixed order).
    @inline(__always)
    static func statistics<T: KernelFloat>(_ x: UnsafePointer<T>, _ n: Int, _ epsilon: T) -> (T, T) {
        let mean = sum(x, n) { $0 } / T(n)
        let variance = sum(x, n) { let d = $0 - mean; return d * d } / T(n)
        return (mean, 1 / (variance + epsilon).squareRoot())
    }

    /// `Σ f(x[i])` over `n` elements: lane `i mod w` of a vector accumulator for whole vectors, the
    /// lanes added in order, then the tail in order.
    @inline(__always)
    static func sum<T: KernelFloat>(_ x: UnsafePointer<T>, _ n: Int, _ f: (T.Vector) -> T.Vector) -> T {
        let w = T.Vector.scalarCount
        var acc = T.Vector()
        var i = 0
        while i + w <= n {
            acc += f(UnsafeRawPointer(x + i).loadUnaligned(as: T.Vector.self))
            i += w
        }
        var total: T = 0
        for l in 0..<w { total += acc[l] }
        if i < n {
            var tail = T.Vector()
            for l in 0..<(n - i) { tail[l] = x[i + l] }
            let v = f(tail)
            for l in 0..<(n - i) { total += v[l] }
        }
        return total
    }

    /// `(Σ ĝ, Σ ĝ·x̂)` over one row, `ĝ = dy·γ`, in `sum`'s order (vector lanes, then the tail):
    /// two accumulators rather than a chain of dependent scalar additions per element.
    @inline(__always)
    static func gradientSums<T: KernelFloat>(_ x: UnsafePointer<T>, _ dy: UnsafePointer<T>, _ gamma: UnsafePointer<T>,
                                             _ n: Int, mean: T, rstd: T) -> (T, T) {
        let w = T.Vector.scalarCount
        let vm = T.Vector(repeating: mean), vr = T.Vector(repeating: rstd)
        var accG = T.Vector(), accGX = T.Vector()
        var i = 0
        while i + w <= n {
            let g = loadVector(dy + i) * loadVector(gamma + i)
            accG += g
            accGX += g * ((loadVector(x + i) - vm) * vr)
            i += w
        }
        var sumG: T = 0, sumGX: T = 0
        for l in 0..<w { sumG += accG[l]; sumGX += accGX[l] }
        while i < n {
            let g = dy[i] * gamma[i]
            sumG += g
            sumGX += g * ((x[i] - mean) * rstd)
            i += 1
        }
        return (sumG, sumGX)
    }

    /// Rows per block of the γ gradient: about `chunk` elements, fixed by `cols` alone.
    static func blockRows(cols: Int) -> Int { Swift.max(1, chunk / Swift.max(1, cols)) }

    static func blocks(rows: Int, cols: Int) -> Int {
        let size = blockRows(cols: cols)
        return Swift.max(1, (rows + size - 1) / size)
    }

    /// Elements per piece of work handed to a worker.
    static var chunk: Int { 1 << 14 }
}
