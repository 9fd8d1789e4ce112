import CKernels

/// Parameter update loops for the optimizers (SGD, momentum / Nesterov, Adam / AdamW) on raw buffers.
///
/// Each function updates one parameter array in place from its gradient (and its optimizer state,
/// which it also updates). Every element is independent, so the result never depends on how the
/// work is split; the last partial vector is computed in a zero-padded vector, with exactly the
/// same operations as full vectors, so an element's result does not depend on its position either.
/// The loops run in the C kernels of `KernelLevel.current`; multiply-adds are fused (one rounding)
/// on levels with FMA, a multiply and an add on the x86-64 baseline.
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
        if p.isEmpty { return }
        currentKernels.pointee.sgd(p.baseAddress!, g.baseAddress!, p.count, -learningRate, weightDecay)
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
        if p.isEmpty { return }
        currentKernels.pointee.momentum(p.baseAddress!, g.baseAddress!, velocity.baseAddress!, p.count,
                                        -learningRate, momentum, nesterov ? 1 : 0, weightDecay)
    }

    /// Adam, and AdamW when `decoupledWeightDecay` is true. `step` counts from 1 (this update's number).
    ///
    /// - Adam: `g' = g + weightDecay * p` (L2 penalty in the gradient).
    /// - AdamW: `p *= 1 - learningRate * weightDecay` first, and `g' = g`.
    ///
    /// Then `m = m + (1 - beta1) * (g' - m)`, `v = beta2 * v + (1 - beta2) * g'^2`, and
    /// `p -= (learningRate / (1 - beta1^step)) * m / (sqrt(v) / sqrt(1 - beta2^step) + epsilon)`
    /// (sqrt correctly rounded). The bias corrections are computed once in Double.
    public static func adam(
        parameters p: UnsafeMutableBufferPointer<Float>, gradients g: UnsafeBufferPointer<Float>,
        firstMoment m: UnsafeMutableBufferPointer<Float>, secondMoment v: UnsafeMutableBufferPointer<Float>,
        step: Int, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        precondition(p.count == g.count && p.count == m.count && p.count == v.count,
                     "OptimizerSteps.adam: \(p.count) parameters, \(g.count) gradients, \(m.count)/\(v.count) moments")
        precondition(step >= 1, "OptimizerSteps.adam: step counts from 1, got \(step)")
        if p.isEmpty { return }
        var args = adamArguments(step: step, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                 weightDecay: weightDecay, decoupledWeightDecay: decoupledWeightDecay)
        currentKernels.pointee.adam(p.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, p.count, &args)
    }

    /// The Adam kernel's constants for update number `step` (the bias corrections in Double).
    static func adamArguments(step: Int, learningRate: Float, beta1: Float, beta2: Float, epsilon: Float,
                              weightDecay: Float, decoupledWeightDecay: Bool) -> ck_adam_args {
        let bc1 = 1 - power(Double(beta1), step), bc2 = 1 - power(Double(beta2), step)
        return ck_adam_args(
            neg_step: Float(-Double(learningRate) / bc1), inv_sqrt_bc2: Float(1 / bc2.squareRoot()),
            epsilon: epsilon, one_minus_b1: 1 - beta1, b2: beta2, one_minus_b2: 1 - beta2,
            l2: decoupledWeightDecay ? 0 : weightDecay,
            shrink: decoupledWeightDecay ? 1 - learningRate * weightDecay : 1)
    }

    /// Square roots of 8 floats, correctly rounded (NaN for negative inputs, 0 and +infinity exact).
    public static func squareRoot(_ v: SIMD8<Float>) -> SIMD8<Float> {
        Float.squareRoot(v)
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
