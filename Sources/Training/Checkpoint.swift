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
    /// One named array: a parameter, or an optimizer slot of one. Values are kept in Double (every
    /// Float is exactly a Double) with the precision they were trained in, which the file keeps.
    public struct NamedArray: Sendable, Equatable {
        /// `dense0.weight`, or `dense0.weight/m` for an optimizer slot.
        public var name: String
        /// Dimensions; their product is `values.count`.
        public var shape: [Int]
        /// Row-major values.
        public var values: [Double]
        /// Bytes per element in the file: 4 (Float) or 8 (Double).
        public var scalarBytes: Int

        /// A named array of Float values; traps if `shape` does not hold `values.count` values (a programming error).
        public init(name: String, shape: [Int], values: [Float]) {
            self.init(name: name, shape: shape, values: values.map(Double.init), scalarBytes: 4)
        }

        /// A named array of values of a scalar type (Float or Double).
        public init<S: TensorScalar>(name: String, shape: [Int], scalars: [S]) {
            self.init(name: name, shape: shape, values: scalars.map { Double($0) }, scalarBytes: MemoryLayout<S>.size)
        }

        /// A named array with values stored in `scalarBytes` (4 or 8) bytes each.
        public init(name: String, shape: [Int], values: [Double], scalarBytes: Int) {
            precondition(shape.allSatisfy { $0 >= 0 } && shape.reduce(1, *) == values.count,
                         "Checkpoint.NamedArray '\(name)': shape \(shape) does not hold \(values.count) values")
            precondition(scalarBytes == 4 || scalarBytes == 8, "Checkpoint.NamedArray '\(name)': \(scalarBytes)-byte scalars")
            self.name = name
            self.shape = shape
            self.values = values
            self.scalarBytes = scalarBytes
        }

        /// The values in a scalar type (Double to Float rounds to nearest).
        public func scalars<S: TensorScalar>(as type: S.Type = S.self) -> [S] { values.map { S($0) } }
    }

    /// The format version this build writes and reads.
    public static let formatVersion: UInt32 = 3
    /// Older versions this build still reads (version 1: Float arrays only; versions 1 and 2: no
    /// model state).
    public static let readableVersions: ClosedRange<UInt32> = 1...3

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
    /// The model's state besides its parameters (batch normalization's running statistics), in the
    /// model's order; empty for models without any.
    public var state: [NamedArray]

    /// A snapshot from its parts (see `Trainer.checkpoint` for the usual way to take one).
    public init(parameters: [NamedArray], optimizer: String, optimizerSlots: [NamedArray] = [], step: Int,
                epoch: Int, seed: UInt64, metadata: [String: String] = [:], state: [NamedArray] = []) {
        self.parameters = parameters
        self.optimizer = optimizer
        self.optimizerSlots = optimizerSlots
        self.step = step
        self.epoch = epoch
        self.seed = seed
        self.metadata = metadata
        self.state = state
    }

    /// Throws `CheckpointError.mismatch` unless the checkpoint holds exactly these parameters
    /// (same names, same shapes, same order) and, when `expectedOptimizer` is given, state for that
    /// optimizer kind. The message lists what differs: parameters missing, extra, reordered or of
    /// another shape.
    public func checkMatches(parameters expected: [(name: String, shape: [Int])], optimizer expectedOptimizer: String?) throws {
        let found = parameters.map(\.name), wanted = expected.map(\.name)
        if found != wanted {
            let missing = wanted.filter { !found.contains($0) }, extra = found.filter { !wanted.contains($0) }
            var parts: [String] = []
            if !missing.isEmpty { parts.append("the model's \(missing.joined(separator: ", ")) not in the checkpoint") }
            if !extra.isEmpty { parts.append("the checkpoint's \(extra.joined(separator: ", ")) not in the model") }
            if parts.isEmpty { parts.append("the same names in another order") }
            throw CheckpointError.mismatch("the checkpoint holds another model: \(parts.joined(separator: "; ")) (checkpoint: \(found.count) parameters, model: \(wanted.count))")
        }
        for (p, e) in zip(parameters, expected) where p.shape != e.shape {
            throw CheckpointError.mismatch("parameter '\(p.name)' has shape \(p.shape) in the checkpoint, \(e.shape) in the model")
        }
        if let expectedOptimizer, optimizer != expectedOptimizer {
            throw CheckpointError.mismatch("optimizer state is for '\(optimizer)', the run uses '\(expectedOptimizer)'")
        }
    }

    /// Throws `CheckpointError.mismatch` unless the checkpoint holds exactly this model state (same
    /// names, shapes and order), saying what differs.
    public func checkMatches(state expected: [(name: String, shape: [Int])]) throws {
        let found = state.map(\.name), wanted = expected.map(\.name)
        guard found == wanted else {
            throw CheckpointError.mismatch("the checkpoint holds model state [\(found.joined(separator: ", "))], the model keeps [\(wanted.joined(separator: ", "))]")
        }
        for (p, e) in zip(state, expected) where p.shape != e.shape {
            throw CheckpointError.mismatch("state '\(p.name)' has shape \(p.shape) in the checkpoint, \(e.shape) in the model")
        }
    }

    /// Builds the slots of `state` into named arrays for `parameters` (same order and sizes).
    public static func slots<S>(of state: OptimizerState<S>, parameters: [NamedArray]) -> [NamedArray] {
        var out: [NamedArray] = []
        for (i, p) in parameters.enumerated() {
            for (s, slotName) in state.optimizer.slotNames.enumerated() {
                out.append(NamedArray(name: "\(p.name)/\(slotName)", shape: p.shape,
                                      scalars: state.slotValues(parameter: i, slot: s)))
            }
        }
        return out
    }

    /// Loads the optimizer step and slots into `state`; throws `mismatch` if they do not fit.
    public func restore<S>(into state: OptimizerState<S>) throws {
        guard optimizer == state.optimizer.kind.rawValue else {
            throw CheckpointError.mismatch("optimizer state is for '\(optimizer)', the run uses '\(state.optimizer.kind.rawValue)'")
        }
        let names = state.optimizer.slotNames
        guard optimizerSlots.count == parameters.count * names.count else {
            throw CheckpointError.mismatch("\(optimizerSlots.count) optimizer arrays, expected \(parameters.count * names.count)")
        }
        var values: [[[S]]] = []
        for (i, p) in parameters.enumerated() {
            var perSlot: [[S]] = []
            for (s, slotName) in names.enumerated() {
                let array = optimizerSlots[i * names.count + s]
                guard array.name == "\(p.name)/\(slotName)", array.shape == p.shape else {
                    throw CheckpointError.mismatch("optimizer array '\(array.name)' \(array.shape), expected '\(p.name)/\(slotName)' \(p.shape)")
                }
                perSlot.append(array.scalars(as: S.self))
            }
            values.append(perSlot)
        }
        try state.restore(step: step, slots: values)
    }
}
