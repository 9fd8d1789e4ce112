/// Parameter update loops for the optimizers (SGD, momentum / Nesterov, Adam / AdamW) on raw buffers.
///
/// Each function updates one parameter array in place from its gradient (and its optimizer state,
/// which it also updates). Every element is independent, so the result never depends on how the
/// work is split; the last partial vector is computed in a zero-padded `SIMD8`, with exactly the
/// same operations as full vectors, so an element's result does not depend on its position either.
/// Multiply-adds use `addingProduct` (one rounding, `vfmadd*ps` with the package's flags).
///
/// The formulas follow PyTorch's `torch.optim` (no dampening):
/// ```swift
/// // p -= 0.1 * g
/// OptimizerSteps.sgd(parameters: p, gradients: g, learningRate: 0.1)
/// ```
public enum OptimizerSteps {
    /// Plain SGD: `g' = g + weightDecay * p`, then `p -= learningRate * g'`.
    public static func sgd(
        parameters p: UnsafeMutableBufferPointer<Float>, gradients g: UnsafeBufferPointer<Float>,
        learningRate: Float, weightDecay: Float = 0
    ) {
        precondition(p.count == g.count, "OptimizerSteps.sgd: \(p.count) parameters, \(g.count) gradients")
        let negLR = SIMD8<Float>(repeating: -learningRate), wd = SIMD8<Float>(repeating: weightDecay)
        forEachVector(p.count) { i, n in
            let pv = load(p, i, n), gv = load(g, i, n)
            store(pv.addingProduct(negLR, gv.addingProduct(wd, pv)), p, i, n)
        }
    }

    /// SGD with momentum: `g' = g + weightDecay * p`, `v = momentum * v + g'`, then
    /// `p -= learningRate * v`, or with Nesterov `p -= learningRate * (g' + momentum * v)`.
    /// `velocity` starts at zero (then the first step equals PyTorch's, which seeds `v = g'`).
    public static func momentum(
        parameters p: UnsafeMutableBufferPointer<Float>, gradients g: UnsafeBufferPointer<Float>,
        velocity: UnsafeMutableBufferPointer<Float>,
        learningRate: Float, momentum: Float, nesterov: Bool = false, weightDecay: Float = 0
    ) {
        precondition(p.count == g.count && p.count == velocity.count,
                     "OptimizerSteps.momentum: \(p.count) parameters, \(g.count) gradients, \(velocity.count) velocities")
        let negLR = SIMD8<Float>(repeating: -learningRate), wd = SIMD8<Float>(repeating: weightDecay)
        let mu = SIMD8<Float>(repeating: momentum)
        forEachVector(p.count) { i, n in
            let pv = load(p, i, n)
            let gv = load(g, i, n).addingProduct(wd, pv)
            let vv = gv.addingProduct(mu, load(velocity, i, n))
            let direction = nesterov ? gv.addingProduct(mu, vv) : vv
            store(vv, velocity, i, n)
            store(pv.addingProduct(negLR, direction), p, i, n)
        }
    }

    /// Adam, and AdamW when `decoupledWeightDecay` is true. `step` counts from 1 (this update's number).
    ///
    /// - Adam: `g' = g + weightDecay * p` (L2 penalty in the gradient).
    /// - AdamW: `p *= 1 - learningRate * weightDecay` first, and `g' = g`.
    ///
    /// Then `m = m + (1 - beta1) * (g' - m)`, `v = beta2 * v + (1 - beta2) * g'^2`, and
    /// `p -= (learningRate / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) + epsilon)`.
    /// The bias corrections are computed once in Double.
    public static func adam(
        parameters p: UnsafeMutableBufferPointer<Float>, gradients g: UnsafeBufferPointer<Float>,
        firstMoment m: UnsafeMutableBufferPointer<Float>, secondMoment v: UnsafeMutableBufferPointer<Float>,
        step: Int, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        precondition(p.count == g.count && p.count == m.count && p.count == v.count,
                     "OptimizerSteps.adam: \(p.count) parameters, \(g.count) gradients, \(m.count)/\(v.count) moments")
        precondition(step >= 1, "OptimizerSteps.adam: step counts from 1, got \(step)")
        let bc1 = 1 - power(Double(beta1), step), bc2 = 1 - power(Double(beta2), step)
        let negStep = SIMD8<Float>(repeating: Float(-Double(learningRate) / bc1))
        let invSqrtBC2 = SIMD8<Float>(repeating: Float(1 / bc2.squareRoot()))
        let eps = SIMD8<Float>(repeating: epsilon)
        let oneMinusB1 = SIMD8<Float>(repeating: 1 - beta1)
        let b2 = SIMD8<Float>(repeating: beta2), oneMinusB2 = SIMD8<Float>(repeating: 1 - beta2)
        let l2 = SIMD8<Float>(repeating: decoupledWeightDecay ? 0 : weightDecay)
        let shrink = SIMD8<Float>(repeating: decoupledWeightDecay ? 1 - learningRate * weightDecay : 1)
        forEachVector(p.count) { i, n in
            let p0 = load(p, i, n)
            let gv = load(g, i, n).addingProduct(l2, p0)
            let mv0 = load(m, i, n)
            let mv = mv0.addingProduct(oneMinusB1, gv - mv0)
            let vv = (b2 * load(v, i, n)).addingProduct(oneMinusB2 * gv, gv)
            let d = eps.addingProduct(squareRoot(vv), invSqrtBC2)
            store(mv, m, i, n)
            store(vv, v, i, n)
            store((p0 * shrink).addingProduct(negStep, mv / d), p, i, n)
        }
    }

    /// Square roots of 8 non-negative floats, vectorized, within 1 ulp of the correctly rounded
    /// result for normal inputs (0 and +infinity exact; NaN stays NaN).
    ///
    /// Why not `SIMD8.squareRoot()`: it lowers to eight scalar `sqrtss` with branches (the standard
    /// library's x86 shim), which made the whole Adam loop spill. Here: a bit-level first guess of
    /// 1/sqrt(v), three Newton steps `y *= 1.5 - 0.5 v y^2` (relative error 3% -> 2e-3 -> 5e-6 ->
    /// below float precision), `s = v y`, and one corrective step `s += y/2 (v - s^2)` with the
    /// residual computed by fused multiply-add. Same operations on every lane: deterministic.
    @inline(__always)
    public static func squareRoot(_ v: SIMD8<Float>) -> SIMD8<Float> {
        let bits = unsafeBitCast(v, to: SIMD8<UInt32>.self)
        var y = unsafeBitCast(SIMD8<UInt32>(repeating: 0x5F37_5A86) &- (bits &>> 1), to: SIMD8<Float>.self)
        let halfV = SIMD8<Float>(repeating: 0.5) * v
        let threeHalves = SIMD8<Float>(repeating: 1.5)
        for _ in 0..<3 {
            y = y * threeHalves.addingProduct(-(halfV * y), y)
        }
        var s = v * y
        let residual = v.addingProduct(-s, s)
        s = s.addingProduct(SIMD8<Float>(repeating: 0.5) * y, residual)
        s.replace(with: v, where: v .== .infinity)
        return s
    }

    // MARK: - Loop helpers

    /// Calls `body(start, lanes)` for each run of 8 elements, then once for the remainder (lanes < 8).
    @inline(__always)
    static func forEachVector(_ count: Int, _ body: (Int, Int) -> Void) {
        var i = 0
        while i + 8 <= count { body(i, 8); i += 8 }
        if i < count { body(i, count - i) }
    }

    @inline(__always)
    static func load(_ b: UnsafeMutableBufferPointer<Float>, _ i: Int, _ n: Int) -> SIMD8<Float> {
        load(UnsafeBufferPointer(b), i, n)
    }

    @inline(__always)
    static func load(_ b: UnsafeBufferPointer<Float>, _ i: Int, _ n: Int) -> SIMD8<Float> {
        if n == 8 { return UnsafeRawPointer(b.baseAddress! + i).loadUnaligned(as: SIMD8<Float>.self) }
        var v = SIMD8<Float>()
        for k in 0..<n { v[k] = b[i + k] }
        return v
    }

    @inline(__always)
    static func store(_ v: SIMD8<Float>, _ b: UnsafeMutableBufferPointer<Float>, _ i: Int, _ n: Int) {
        if n == 8 { UnsafeMutableRawPointer(b.baseAddress! + i).storeBytes(of: v, as: SIMD8<Float>.self); return }
        for k in 0..<n { b[i + k] = v[k] }
    }

    /// `base^exponent` by repeated squaring (exact enough, and free of libm differences across platforms).
    static func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0, b = base, e = exponent
        while e > 0 {
            if e & 1 == 1 { result *= b }
            b *= b
            e >>= 1
        }
        return result
    }
}
