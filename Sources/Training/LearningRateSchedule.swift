import Tensor
#if canImport(Glibc)
import Glibc
#else
import Foundation
#endif

/// The learning rate as a function of the optimizer step (counted from 0).
///
/// ```swift
/// let schedule = LearningRateSchedule.cosine(base: 1e-3, totalSteps: 1000, minimum: 1e-5)
/// let lr = schedule.rate(atStep: 500)    // halfway between base and minimum
/// ```
public enum LearningRateSchedule: Sendable, Equatable, CustomStringConvertible {
    /// The same rate at every step.
    case constant(Float)
    /// `base * factor^(step / every)`: multiplied by `factor` every `every` steps.
    case step(base: Float, every: Int, factor: Float)
    /// Cosine annealing from `base` at step 0 down to `minimum` at `totalSteps`, then held at `minimum`.
    case cosine(base: Float, totalSteps: Int, minimum: Float)

    /// The rate for the update numbered `step` (0 is the first update).
    public func rate(atStep step: Int) -> Float {
        switch self {
        case let .constant(rate):
            return rate
        case let .step(base, every, factor):
            let drops = every > 0 ? max(0, step) / every : 0
            return Float(Double(base) * power(Double(factor), drops))
        case let .cosine(base, totalSteps, minimum):
            guard totalSteps > 0 else { return minimum }
            let progress = Double(min(max(0, step), totalSteps)) / Double(totalSteps)
            return Float(Double(minimum) + 0.5 * Double(base - minimum) * (1 + cos(Double.pi * progress)))
        }
    }

    /// The rate at step 0.
    public var base: Float {
        switch self {
        case let .constant(rate): rate
        case let .step(base, _, _), let .cosine(base, _, _): base
        }
    }

    public var description: String {
        switch self {
        case let .constant(rate): "constant \(rate)"
        case let .step(base, every, factor): "step \(base) x\(factor) every \(every)"
        case let .cosine(base, totalSteps, minimum): "cosine \(base) -> \(minimum) over \(totalSteps)"
        }
    }

    private func power(_ base: Double, _ exponent: Int) -> Double {
        var result = 1.0
        for _ in 0..<exponent { result *= base }
        return result
    }
}
