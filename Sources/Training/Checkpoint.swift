import Tensor
/// A snapshot of training: named parameter arrays with their shapes, the optimizer's state, and
/// the position in training (epochs and steps done, the seed that fixes the data order).
///
/// Saved in a small versioned binary format with a checksum (see `Checkpoint+Binary.swift`) and
/// written atomically, so a crash mid-save leaves the previous checkpoint intact:
/// ```swift
/// try checkpoint.write(to: "run.ckpt")
/// let back = try Checkpoint(contentsOf: "run.ckpt")
/// try back.checkMatches(parameters: model.parameterShapes, optimizer: "adam")
/// ```
public struct Checkpoint: Sendable, Equatable {
    /// One named array: a parameter, or an optimizer slot of one.
    public struct NamedArray: Sendable, Equatable {
        /// `dense0.weight`, or `dense0.weight/m` for an optimizer slot.
        public var name: String
        /// Dimensions; their product is `values.count`.
        public var shape: [Int]
        /// Row-major values.
        public var values: [Float]

        /// A named array; traps if `shape` does not hold `values.count` values (a programming error).
        public init(name: String, shape: [Int], values: [Float]) {
            precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                         "Checkpoint.NamedArray '\(name)': shape \(shape) does not hold \(values.count) values")
            self.name = name
            self.shape = shape
            self.values = values
        }
    }

    /// The format version this build writes and reads.
    public static let formatVersion: UInt32 = 1

    /// Model parameters, in the model's order.
    public var parameters: [NamedArray]
    /// The optimizer kind's name (`Optimizer.Kind.rawValue`).
    public var optimizer: String
    /// Optimizer slots: for each parameter in order, each of `Optimizer.slotNames`, named `"<parameter>/<slot>"`.
    public var optimizerSlots: [NamedArray]
    /// Optimizer updates done.
    public var step: Int
    /// Whole epochs done (training resumes at this epoch).
    public var epoch: Int
    /// The run's seed: with `epoch` it is the whole random state of the data order (see `Minibatches`).
    public var seed: UInt64
    /// Free-form facts about the run (data set, model widths, ...), kept in key order.
    public var metadata: [String: String]

    /// A snapshot from its parts (see `Trainer.checkpoint` for the usual way to take one).
    public init(parameters: [NamedArray], optimizer: String, optimizerSlots: [NamedArray] = [], step: Int,
                epoch: Int, seed: UInt64, metadata: [String: String] = [:]) {
        self.parameters = parameters
        self.optimizer = optimizer
        self.optimizerSlots = optimizerSlots
        self.step = step
        self.epoch = epoch
        self.seed = seed
        self.metadata = metadata
    }

    /// Throws `CheckpointError.mismatch` unless the checkpoint holds exactly these parameters
    /// (same names, same shapes, same order) and state for this optimizer kind.
    public func checkMatches(parameters expected: [(name: String, shape: [Int])], optimizer expectedOptimizer: String) throws {
        let found = parameters.map(\.name), wanted = expected.map(\.name)
        guard found == wanted else {
            throw CheckpointError.mismatch("parameters \(found) in the checkpoint, \(wanted) in the model")
        }
        for (p, e) in zip(parameters, expected) where p.shape != e.shape {
            throw CheckpointError.mismatch("parameter '\(p.name)' has shape \(p.shape) in the checkpoint, \(e.shape) in the model")
        }
        guard optimizer == expectedOptimizer else {
            throw CheckpointError.mismatch("optimizer state is for '\(optimizer)', the run uses '\(expectedOptimizer)'")
        }
    }

    /// Builds the slots of `state` into named arrays for `parameters` (same order and sizes).
    public static func slots(of state: OptimizerState, parameters: [NamedArray]) -> [NamedArray] {
        var out: [NamedArray] = []
        for (i, p) in parameters.enumerated() {
            for (s, slotName) in state.optimizer.slotNames.enumerated() {
                out.append(NamedArray(name: "\(p.name)/\(slotName)", shape: p.shape,
                                      values: state.slotValues(parameter: i, slot: s)))
            }
        }
        return out
    }

    /// Loads the optimizer step and slots into `state`; throws `mismatch` if they do not fit.
    public func restore(into state: OptimizerState) throws {
        guard optimizer == state.optimizer.kind.rawValue else {
            throw CheckpointError.mismatch("optimizer state is for '\(optimizer)', the run uses '\(state.optimizer.kind.rawValue)'")
        }
        let names = state.optimizer.slotNames
        guard optimizerSlots.count == parameters.count * names.count else {
            throw CheckpointError.mismatch("\(optimizerSlots.count) optimizer arrays, expected \(parameters.count * names.count)")
        }
        var values: [[[Float]]] = []
        for (i, p) in parameters.enumerated() {
            var perSlot: [[Float]] = []
            for (s, slotName) in names.enumerated() {
                let array = optimizerSlots[i * names.count + s]
                guard array.name == "\(p.name)/\(slotName)", array.shape == p.shape else {
                    throw CheckpointError.mismatch("optimizer array '\(array.name)' \(array.shape), expected '\(p.name)/\(slotName)' \(p.shape)")
                }
                perSlot.append(array.values)
            }
            values.append(perSlot)
        }
        try state.restore(step: step, slots: values)
    }
}
