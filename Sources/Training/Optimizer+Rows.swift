import Kernels
import Tensor

extension Optimizer {
    /// The update on a block of rows of row-major arrays that share one layout (the parameter, its
    /// gradient and the slots `first` and `second`, each nil when the rule has no such slot): the
    /// bits of `update` on each row's range, with the step's constants computed once (Note
    /// [Optimizer steps on blocks of rows]). Used for the blocks of a gradient's product narrower
    /// than its rows.
    func update<S: TensorScalar>(parameters p: UnsafeMutablePointer<S>, gradients g: UnsafePointer<S>,
                                 first: UnsafeMutablePointer<S>?, second: UnsafeMutablePointer<S>?,
                                 block: OptimizerSteps.RowBlock, step: Int) {
        precondition(slotNames.count < 1 || first != nil, "Optimizer.update: \(kind) needs its first slot")
        precondition(slotNames.count < 2 || second != nil, "Optimizer.update: \(kind) needs its second slot")
        guard S.self == Float.self else {
            block.forEachRow { offset, count in
                updateScalar(parameters: UnsafeMutableBufferPointer(start: p + offset, count: count),
                             gradients: UnsafeBufferPointer(start: g + offset, count: count),
                             first: UnsafeMutableBufferPointer(start: first.map { $0 + offset }, count: first == nil ? 0 : count),
                             second: UnsafeMutableBufferPointer(start: second.map { $0 + offset }, count: second == nil ? 0 : count),
                             step: step)
            }
            return
        }
        let p = UnsafeMutableRawPointer(p).assumingMemoryBound(to: Float.self)
        let g = UnsafeRawPointer(g).assumingMemoryBound(to: Float.self)
        let first = first.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Float.self) }
        let second = second.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Float.self) }
        let lr = learningRate.rate(atStep: step)
        switch kind {
        case .sgd:
            OptimizerSteps.sgd(parameters: p, gradients: g, block: block, learningRate: lr, weightDecay: weightDecay)
        case .momentum, .nesterov:
            OptimizerSteps.momentum(parameters: p, gradients: g, velocity: first!, block: block, learningRate: lr,
                                    momentum: momentum, nesterov: kind == .nesterov, weightDecay: weightDecay)
        case .adam, .adamw:
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: first!, secondMoment: second!, block: block,
                                step: step + 1, learningRate: lr, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                weightDecay: weightDecay, decoupledWeightDecay: kind == .adamw)
        }
    }
}
