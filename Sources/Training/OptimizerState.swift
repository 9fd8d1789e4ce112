import Tensor
import Kernels

/// An optimizer's per-parameter state (velocities or moments) and its step count, for one model.
///
/// A training step updates every parameter once (`update(parameter:values:gradients:)`, usually
/// from a plan's update hook, as soon as that parameter's gradient is ready), then calls `advance()`.
/// ```swift
/// let state = OptimizerState(optimizer: .adam(learningRate: .constant(1e-3)), parameterSizes: [64 * 128, 128])
/// let hook = state.updateHook(parameter: 0)   // give to the plan for parameter 0
/// // ... run the plan ...
/// state.advance()
/// ```
///
/// - Note: Thread safety (Note [Optimizer state ownership]). The state is `@unchecked Sendable`
///   because its buffers are raw memory: during a step, parameter `i`'s slots are touched only by
///   the one update of parameter `i`, so concurrent updates of different parameters never share
///   memory; `step` is written only by `advance()` / `restore`, which the caller runs between steps
///   (never while a plan runs), and the executor's run submission and completion order those writes
///   before and after the update tasks' reads.
public final class OptimizerState<Scalar: TensorScalar>: @unchecked Sendable {
    /// The rule and hyperparameters.
    public let optimizer: Optimizer
    /// Element count of each parameter.
    public let parameterSizes: [Int]
    /// Updates completed so far (the next update is number `step`, counting from 0).
    public private(set) var step: Int = 0
    private let slots: [UnsafeMutableBufferPointer<Scalar>]

    /// Zeroed state for parameters of the given element counts.
    public init(optimizer: Optimizer, parameterSizes: [Int]) {
        self.optimizer = optimizer
        self.parameterSizes = parameterSizes
        let perParameter = optimizer.slotNames.count
        slots = parameterSizes.map { n in
            let buffer = LargeAllocation.allocate(Scalar.self, capacity: perParameter * n)
            buffer.initialize(repeating: 0)
            return UnsafeMutableBufferPointer(rebasing: buffer[0..<(perParameter * n)])
        }
    }

    deinit {
        for s in slots { UnsafeMutableRawPointer(mutating: s.baseAddress)?.deallocate() }
    }

    /// Applies the current step's update to parameter `index` in place.
    public func update(parameter index: Int, values: UnsafeMutableBufferPointer<Scalar>, gradients: UnsafeBufferPointer<Scalar>) {
        checkBuffers(index, values, gradients)
        update(index, values, gradients, 0..<values.count)
    }

    /// A closure that updates parameter `index` from its gradient: the shape of a plan's update hook.
    ///
    /// A parameter of at least `OptimizerState.splitThreshold` elements is updated in chunks spread
    /// over `loop` (the update of the first layer's weights often ends a training step, with nothing
    /// else left to run beside it). Chunks start at multiples of 8, and every element's update is
    /// independent and computed the same way, so the result does not depend on the split.
    public func updateHook(parameter index: Int, loop: any ParallelLoop = SerialLoop())
        -> @Sendable (UnsafeMutableBufferPointer<Scalar>, UnsafeBufferPointer<Scalar>) -> Void {
        { [self] values, gradients in
            checkBuffers(index, values, gradients)
            let n = values.count
            guard n >= OptimizerState.splitThreshold, loop.concurrency > 1 else {
                update(index, values, gradients, 0..<n)
                return
            }
            let chunk = OptimizerState.chunkSize
            loop.parallelFor(0..<((n + chunk - 1) / chunk), grain: 1) { chunks in
                update(index, values, gradients, (chunks.lowerBound * chunk)..<min(n, chunks.upperBound * chunk))
            }
        }
    }

    /// For plain SGD without weight decay, the current step's learning rate, read when a plan's
    /// update runs (nil for every other rule). Given to `ParameterUpdate.sgdRate`, it lets a plan
    /// fold the step into the product that computes the gradient; the hook's step is the same
    /// `p ← p − rate·g`.
    public var sgdRate: (@Sendable () -> Scalar)? {
        guard optimizer.kind == .sgd, optimizer.weightDecay == 0 else { return nil }
        return { [self] in Scalar(Double(optimizer.learningRate.rate(atStep: step))) }
    }

    /// The update of parameter `index` on a range of its elements (the whole parameter and
    /// gradient given as pointers): the shape of `ParameterUpdate.applyRange`, which lets a plan run
    /// it block by block in the write-back of the gradient's product. Elements are independent, so
    /// any cut gives the same result as `updateHook`.
    public func rangeHook(parameter index: Int) -> ParameterUpdate<Scalar>.RangeApply {
        let n = parameterSizes[index]
        return { [self] values, gradients, range in
            precondition(range.lowerBound >= 0 && range.upperBound <= n,
                         "OptimizerState.rangeHook: range \(range) outside parameter \(index)'s 0..<\(n)")
            update(index, UnsafeMutableBufferPointer(start: values, count: n), UnsafeBufferPointer(start: gradients, count: n), range)
        }
    }

    /// The update of parameter `index` on a block of rows of it (the whole parameter and gradient
    /// given as pointers, row-major with rows of `rowLength` elements): the shape of
    /// `ParameterUpdate.applyBlock`, beside `rangeHook`. It gives the bits of `rangeHook` on each
    /// row's part, with the step's constants computed once per block.
    public func blockHook(parameter index: Int) -> ParameterUpdate<Scalar>.BlockApply {
        let n = parameterSizes[index]
        return { [self] values, gradients, rows, columns, rowLength in
            let block = OptimizerSteps.RowBlock(rows: rows, columns: columns, rowLength: rowLength)
            precondition(block.end <= n, "OptimizerState.blockHook: rows \(rows), columns \(columns) of \(rowLength) "
                                         + "outside parameter \(index)'s 0..<\(n)")
            let slotCount = optimizer.slotNames.count
            let base = slots[index].baseAddress
            optimizer.update(parameters: values, gradients: gradients, first: slotCount >= 1 ? base : nil,
                             second: slotCount >= 2 ? base.map { $0 + n } : nil, block: block, step: step)
        }
    }

    /// Parameters at least this long are updated in parallel chunks by `updateHook`.
    public static var splitThreshold: Int { 1 << 16 }
    /// Elements per chunk of a split update (a multiple of 8).
    static var chunkSize: Int { 1 << 14 }

    private func checkBuffers(_ index: Int, _ values: UnsafeMutableBufferPointer<Scalar>, _ gradients: UnsafeBufferPointer<Scalar>) {
        precondition(index >= 0 && index < slots.count, "OptimizerState.update: parameter \(index) outside 0..<\(slots.count)")
        precondition(values.count == parameterSizes[index] && gradients.count == values.count,
                     "OptimizerState.update: parameter \(index) has \(parameterSizes[index]) elements, got \(values.count) values and \(gradients.count) gradients")
    }

    /// Updates elements `range` of parameter `index` (its slots' matching ranges).
    private func update(_ index: Int, _ values: UnsafeMutableBufferPointer<Scalar>, _ gradients: UnsafeBufferPointer<Scalar>,
                        _ range: Range<Int>) {
        let n = parameterSizes[index]
        let slotCount = optimizer.slotNames.count
        let base = slots[index].baseAddress!
        let first = UnsafeMutableBufferPointer(start: base + range.lowerBound, count: slotCount >= 1 ? range.count : 0)
        let second = UnsafeMutableBufferPointer(start: base + n + range.lowerBound, count: slotCount >= 2 ? range.count : 0)
        optimizer.update(parameters: UnsafeMutableBufferPointer(rebasing: values[range]),
                         gradients: UnsafeBufferPointer(rebasing: gradients[range]),
                         first: first, second: second, step: step)
    }

    /// Marks the current step done; call after every parameter has been updated.
    public func advance() { step += 1 }

    /// A copy of slot `slot` (see `Optimizer.slotNames`) of parameter `index`.
    public func slotValues(parameter index: Int, slot: Int) -> [Scalar] {
        let n = parameterSizes[index]
        return Array(slots[index][(slot * n)..<((slot + 1) * n)])
    }

    /// Replaces the step count and every slot (as `slotValues` returns them: `values[parameter][slot]`).
    public func restore(step: Int, slots values: [[[Scalar]]]) throws {
        let names = optimizer.slotNames
        guard step >= 0 else { throw CheckpointError.mismatch("optimizer step \(step) is negative") }
        guard values.count == slots.count else {
            throw CheckpointError.mismatch("optimizer state for \(values.count) parameters, the model has \(slots.count)")
        }
        for (i, perSlot) in values.enumerated() {
            guard perSlot.count == names.count else {
                throw CheckpointError.mismatch("parameter \(i): \(perSlot.count) optimizer slots, \(optimizer.kind.rawValue) has \(names.count)")
            }
            for (s, array) in perSlot.enumerated() where array.count != parameterSizes[i] {
                throw CheckpointError.mismatch("parameter \(i): optimizer slot '\(names[s])' has \(array.count) values, the parameter \(parameterSizes[i])")
            }
        }
        for (i, perSlot) in values.enumerated() {
            let n = parameterSizes[i]
            for (s, array) in perSlot.enumerated() {
                _ = UnsafeMutableBufferPointer(rebasing: slots[i][(s * n)..<((s + 1) * n)]).update(fromContentsOf: array)
            }
        }
        self.step = step
    }
}
