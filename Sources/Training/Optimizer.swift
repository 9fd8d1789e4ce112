import Foundation
import Tensor
import Kernels

/// An optimizer's rule and hyperparameters: which update `OptimizerSteps` applies to each parameter.
///
/// ```swift
/// let adam = Optimizer.adam(learningRate: .constant(1e-3))
/// let sgd = Optimizer.sgd(learningRate: .cosine(base: 0.1, totalSteps: 500, minimum: 0))
/// ```
public struct Optimizer: Sendable, Equatable, CustomStringConvertible {
    /// The update rule.
    public enum Kind: String, Sendable, CaseIterable {
        /// `p -= lr * g`
        case sgd
        /// Heavy-ball momentum.
        case momentum
        /// Nesterov momentum.
        case nesterov
        /// Adam (weight decay as an L2 term in the gradient).
        case adam
        /// AdamW (decoupled weight decay).
        case adamw
    }

    /// The update rule.
    public var kind: Kind
    /// The learning rate at each step.
    public var learningRate: LearningRateSchedule
    /// Momentum coefficient (momentum and Nesterov).
    public var momentum: Float = 0.9
    /// Adam's decay rate of the first moment.
    public var beta1: Float = 0.9
    /// Adam's decay rate of the second moment.
    public var beta2: Float = 0.999
    /// Adam's term that keeps the denominator away from zero.
    public var epsilon: Float = 1e-8
    /// L2 penalty (SGD, momentum, Adam) or decoupled decay (AdamW) per unit of learning rate.
    public var weightDecay: Float = 0
    /// Gradient clipping by global norm (nil: none): before each update, when the L2 norm of all
    /// the parameters' gradients together exceeds this, every gradient is scaled by
    /// `clipNorm / (norm + 1e-6)`, as PyTorch's `clip_grad_norm_` does (Note [Gradient clipping]).
    public var clipNorm: Float? = nil

    /// An optimizer with every hyperparameter spelled out (the static constructors pick the usual ones).
    public init(kind: Kind, learningRate: LearningRateSchedule, momentum: Float = 0.9, beta1: Float = 0.9,
                beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0, clipNorm: Float? = nil) {
        self.kind = kind
        self.learningRate = learningRate
        self.momentum = momentum
        self.beta1 = beta1
        self.beta2 = beta2
        self.epsilon = epsilon
        self.weightDecay = weightDecay
        self.clipNorm = clipNorm
    }

    /// The factor that clips gradients of global L2 norm `norm` to `clipNorm` (1 when they are
    /// within it, or without clipping): `min(1, clipNorm / (norm + 1e-6))`.
    public func clipFactor(norm: Double) -> Double {
        guard let clipNorm else { return 1 }
        return Swift.min(1, Double(clipNorm) / (norm + 1e-6))
    }

    /// Plain SGD.
    public static func sgd(learningRate: LearningRateSchedule, weightDecay: Float = 0) -> Optimizer {
        Optimizer(kind: .sgd, learningRate: learningRate, weightDecay: weightDecay)
    }

    /// SGD with heavy-ball or Nesterov momentum.
    public static func momentum(learningRate: LearningRateSchedule, momentum: Float = 0.9, nesterov: Bool = false,
                                weightDecay: Float = 0) -> Optimizer {
        Optimizer(kind: nesterov ? .nesterov : .momentum, learningRate: learningRate, momentum: momentum,
                  weightDecay: weightDecay)
    }

    /// Adam, or AdamW with `decoupled: true`.
    public static func adam(learningRate: LearningRateSchedule, beta1: Float = 0.9, beta2: Float = 0.999,
                            epsilon: Float = 1e-8, weightDecay: Float = 0, decoupled: Bool = false) -> Optimizer {
        Optimizer(kind: decoupled ? .adamw : .adam, learningRate: learningRate, beta1: beta1, beta2: beta2,
                  epsilon: epsilon, weightDecay: weightDecay)
    }

    /// State arrays kept per parameter, each as long as the parameter: none for SGD, the velocity
    /// for momentum, the first and second moments for Adam.
    public var slotNames: [String] {
        switch kind {
        case .sgd: []
        case .momentum, .nesterov: ["velocity"]
        case .adam, .adamw: ["m", "v"]
        }
    }

    /// Applies update number `step` (counted from 0) to one parameter; `slots` holds
    /// `slotNames.count` arrays of the parameter's length, back to back.
    public func update(parameters p: UnsafeMutableBufferPointer<Float>, gradients g: UnsafeBufferPointer<Float>,
                       slots: UnsafeMutableBufferPointer<Float>, step: Int) {
        let n = p.count
        precondition(slots.count == slotNames.count * n,
                     "Optimizer.update: \(kind) needs \(slotNames.count * n) state floats, got \(slots.count)")
        let first = UnsafeMutableBufferPointer(rebasing: slots[0..<min(n, slots.count)])
        let second = UnsafeMutableBufferPointer(rebasing: slots[min(n, slots.count)..<min(2 * n, slots.count)])
        update(parameters: p, gradients: g, first: first, second: second, step: step)
    }

    /// The update with the slots given separately (`first`: velocity or m; `second`: v), each as long
    /// as `p` (or empty when the rule has no such slot). Elements are independent, so any range of a
    /// parameter can be updated on its own with the same result. `Float` runs the SIMD loops of
    /// `OptimizerSteps`; `Double` runs the same formulas element by element in Double.
    func update<S: TensorScalar>(parameters p: UnsafeMutableBufferPointer<S>, gradients g: UnsafeBufferPointer<S>,
                                 first: UnsafeMutableBufferPointer<S>, second: UnsafeMutableBufferPointer<S>, step: Int) {
        if S.self == Float.self {
            p.withMemoryRebound(to: Float.self) { p in
                g.withMemoryRebound(to: Float.self) { g in
                    first.withMemoryRebound(to: Float.self) { first in
                        second.withMemoryRebound(to: Float.self) { second in
                            updateFloat(parameters: p, gradients: g, first: first, second: second, step: step)
                        }
                    }
                }
            }
        } else {
            updateScalar(parameters: p, gradients: g, first: first, second: second, step: step)
        }
    }

    private func updateFloat(parameters p: UnsafeMutableBufferPointer<Float>, gradients g: UnsafeBufferPointer<Float>,
                             first: UnsafeMutableBufferPointer<Float>, second: UnsafeMutableBufferPointer<Float>, step: Int) {
        let lr = learningRate.rate(atStep: step)
        switch kind {
        case .sgd:
            OptimizerSteps.sgd(parameters: p, gradients: g, learningRate: lr, weightDecay: weightDecay)
        case .momentum, .nesterov:
            OptimizerSteps.momentum(parameters: p, gradients: g, velocity: first, learningRate: lr,
                                    momentum: momentum, nesterov: kind == .nesterov, weightDecay: weightDecay)
        case .adam, .adamw:
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: first, secondMoment: second,
                                step: step + 1, learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                weightDecay: weightDecay, decoupledWeightDecay: kind == .adamw)
        }
    }

    /// The formulas of `OptimizerSteps`, one element at a time, for scalar types without SIMD loops.
    func updateScalar<S: TensorScalar>(parameters p: UnsafeMutableBufferPointer<S>, gradients g: UnsafeBufferPointer<S>,
                                       first: UnsafeMutableBufferPointer<S>, second: UnsafeMutableBufferPointer<S>,
                                       step: Int) {
        let lr = S(Double(learningRate.rate(atStep: step))), wd = S(Double(weightDecay))
        switch kind {
        case .sgd:
            for i in 0..<p.count { p[i] -= lr * (g[i] + wd * p[i]) }
        case .momentum, .nesterov:
            let mu = S(Double(momentum))
            for i in 0..<p.count {
                let gi = g[i] + wd * p[i]
                let v = gi + mu * first[i]
                first[i] = v
                p[i] -= lr * (kind == .nesterov ? gi + mu * v : v)
            }
        case .adam, .adamw:
            let t = Double(step + 1)
            let bc1 = 1 - Foundation.pow(Double(beta1), t), bc2 = 1 - Foundation.pow(Double(beta2), t)
            let stepSize = S(Double(learningRate.rate(atStep: step)) / bc1), invSqrtBC2 = S(1 / bc2.squareRoot())
            let b1 = S(Double(beta1)), b2 = S(Double(beta2)), eps = S(Double(epsilon))
            let decoupled = kind == .adamw
            let shrink: S = decoupled ? 1 - lr * wd : 1, l2: S = decoupled ? 0 : wd
            for i in 0..<p.count {
                let pi = p[i] * shrink
                let gi = g[i] + l2 * p[i]
                let m = first[i] + (1 - b1) * (gi - first[i])
                let v = b2 * second[i] + (1 - b2) * gi * gi
                first[i] = m
                second[i] = v
                p[i] = pi - stepSize * m / (v.squareRoot() * invSqrtBC2 + eps)
            }
        }
    }

    public var description: String {
        var text = "\(kind.rawValue) lr \(learningRate)"
        if kind == .momentum || kind == .nesterov { text += " momentum \(momentum)" }
        if weightDecay != 0 { text += " weight decay \(weightDecay)" }
        if let clipNorm { text += " clip norm \(clipNorm)" }
        return text
    }
}
