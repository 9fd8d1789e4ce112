import Tensor
import Kernels
import Scheduler

#if canImport(Glibc)
import Glibc
#endif

/// Trains an `MLP` classifier with softmax cross-entropy: minibatches in a seeded order, one plan
/// run per batch that computes the forward pass, the backward pass and every parameter's optimizer
/// update (each update starts as soon as its parameter's gradient is ready, so updates of late layers
/// overlap backprop through early ones), per-epoch loss and accuracy, checkpoints and resumption.
///
/// ```swift
/// let trainer = try Trainer(widths: [64, 128, 10], optimizer: .adam(learningRate: .constant(1e-3)),
///                           batchSize: 32, seed: 42, executor: Executor(workers: 2))
/// for _ in 0..<20 {
///     let epoch = try trainer.trainEpoch(on: train)
///     let test = try trainer.evaluate(test)
///     print(epoch.loss, epoch.accuracy, test.accuracy)
/// }
/// ```
///
/// The same seed, data and settings give bitwise the same parameters with any number of workers
/// (the plan's results do not depend on it, and everything else runs in a fixed order), and a run
/// resumed from a checkpoint continues exactly as if it had never stopped.
/// - Note: A trainer is used from one thread at a time (like its `Graph`).
public final class Trainer {
    /// The graph holding the model's parameters and every plan's nodes.
    public let graph: Graph<Float>
    /// The model being trained (its parameters live in `graph`).
    public let model: MLP<Float>
    /// The optimizer's moments and step count.
    public let optimizerState: OptimizerState
    /// Rows per training batch (the last batch of an epoch may be shorter).
    public let batchSize: Int
    /// Fixes the initial weights and every epoch's batch order.
    public let seed: UInt64
    /// Whole epochs trained so far (the next `trainEpoch` trains epoch number `epoch`, from 0).
    public private(set) var epoch: Int = 0

    /// Runs every plan (nil: on the calling thread).
    public let executor: Executor?
    /// Plans by batch size: training (forward, backward, updates) and evaluation (forward only).
    private var trainHeads: [Int: Head] = [:]
    private var evalHeads: [Int: Head] = [:]
    /// Rows per evaluation run (bigger than training batches: no gradients are kept).
    private let evalChunk = 512

    /// One batch size's placeholders, outputs and plan.
    private struct Head {
        let x: Node<Float>
        let labels: Node<Float>
        let logits: Node<Float>
        let loss: Node<Float>
        let plan: Plan<Float>
    }

    /// Builds the model (initialized from `seed`) and the optimizer state.
    ///
    /// - Parameters:
    ///   - widths: input features, hidden widths, classes (e.g. `[64, 128, 10]`).
    ///   - executor: the worker pool the plans run on (nil: every task in order on the calling thread).
    public init(widths: [Int], activation: Activation = .relu, optimizer: Optimizer, batchSize: Int,
                seed: UInt64, executor: Executor?) throws {
        guard widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError("model widths \(widths): need at least two positive widths")
        }
        guard batchSize > 0 else { throw ModelSpecError("batch size must be positive, got \(batchSize)") }
        graph = Graph<Float>()
        var rng = SeededGenerator(seed: seed)
        model = MLP(graph: graph, widths: widths, activation: activation, using: &rng)
        optimizerState = OptimizerState(optimizer: optimizer, parameterSizes: model.parameters.map(\.count))
        self.batchSize = batchSize
        self.seed = seed
        self.executor = executor
    }

    /// The model's input width (features per sample).
    public var featureCount: Int { model.widths.first! }
    /// The model's output width.
    public var classCount: Int { model.widths.last! }

    // MARK: - Training

    /// What one epoch of training measured.
    public struct EpochResult: Sendable {
        /// The epoch's number (from 0).
        public let epoch: Int
        /// Mean training loss over the epoch's samples (each batch's loss before its update).
        public let loss: Double
        /// Share of training samples the model classified right when their batch was run (before its update).
        public let accuracy: Double
        /// Training samples seen (the whole training set).
        public let samples: Int
        /// Wall-clock seconds of the epoch's plan runs and batch loading.
        public let seconds: Double
        /// Training throughput of the epoch.
        public var samplesPerSecond: Double { seconds > 0 ? Double(samples) / seconds : 0 }
    }

    /// One training batch just run, for progress displays and profilers.
    public struct BatchInfo {
        /// The batch's index in the epoch and the epoch's number of batches.
        public let index: Int
        /// Batches in the epoch.
        public let count: Int
        /// Rows in this batch (the last one may be shorter).
        public let rows: Int
        /// The plan that ran it (`compiled` and `taskInfo` describe the traced tasks).
        public let plan: Plan<Float>
    }

    /// Trains one epoch over `data` in the seeded order of epoch `epoch`.
    ///
    /// - Parameters:
    ///   - trace: when given, every batch's plan run records its tasks there (see `TraceRecorder`);
    ///     read and reset it in `afterBatch` to keep one run's events apart from the next.
    ///   - afterBatch: called after each batch's run (progress bars, profilers).
    public func trainEpoch(on data: Dataset, trace: TraceRecorder? = nil,
                           afterBatch: ((BatchInfo) -> Void)? = nil) throws -> EpochResult {
        try checkFits(data)
        guard data.count > 0 else { throw ModelSpecError("no training samples") }
        let batches = Minibatches(rows: data.count, batchSize: batchSize, seed: seed, epoch: epoch)
        // Plans for the full and the last (partial) batch are built before the clock starts.
        for b in Set([0, batches.count - 1]) where b >= 0 { _ = try trainHead(batches[b].count) }
        let start = monotonicSeconds()
        var lossSum = 0.0
        var correct = 0
        for b in 0..<batches.count {
            let rows = batches[b]
            let head = try trainHead(rows.count)
            try feed(head, data, rows)
            try head.plan.run(trace: trace)
            optimizerState.advance()
            lossSum += Double(try head.plan.withValue(of: head.loss) { $0[0] }) * Double(rows.count)
            correct += try countCorrect(head, data, rows)
            afterBatch?(BatchInfo(index: b, count: batches.count, rows: rows.count, plan: head.plan))
        }
        let seconds = monotonicSeconds() - start
        let result = EpochResult(epoch: epoch, loss: lossSum / Double(data.count),
                                 accuracy: Double(correct) / Double(data.count), samples: data.count, seconds: seconds)
        epoch += 1
        return result
    }

    // MARK: - Evaluation

    /// Loss, accuracy and confusion matrix of the current model on a dataset.
    public struct Evaluation: Sendable {
        /// Mean loss over the samples.
        public let loss: Double
        /// Share of samples classified right.
        public var accuracy: Double { confusion.accuracy }
        /// Counts of (true class, predicted class).
        public let confusion: ConfusionMatrix
    }

    /// Runs the model forward over `data` (in row order, in chunks) without changing it.
    public func evaluate(_ data: Dataset) throws -> Evaluation {
        try checkFits(data)
        var confusion = ConfusionMatrix(classCount: classCount)
        var lossSum = 0.0
        let chunks = Minibatches(order: Array(0..<data.count), batchSize: evalChunk)
        for c in 0..<chunks.count {
            let rows = chunks[c]
            let head = try evalHead(rows.count)
            try feed(head, data, rows)
            try head.plan.run()
            lossSum += Double(try head.plan.withValue(of: head.loss) { $0[0] }) * Double(rows.count)
            try head.plan.withValue(of: head.logits) { confusion.add(logits: $0, labels: rows.map { data.labels[$0] }) }
        }
        return Evaluation(loss: data.count > 0 ? lossSum / Double(data.count) : 0, confusion: confusion)
    }

    // MARK: - Parameters and checkpoints

    /// A copy of every parameter's values, in `model.parameters` order.
    public func parameterValues() throws -> [[Float]] {
        try model.parameters.map { try graph.value(of: $0).scalars }
    }

    /// The trainer's whole state: parameters, optimizer state, epochs and steps done, seed.
    public func checkpoint(metadata: [String: String] = [:]) throws -> Checkpoint {
        let params = try zip(model.parameterShapes, model.parameters).map { spec, node in
            Checkpoint.NamedArray(name: spec.name, shape: spec.shape, values: try graph.value(of: node).scalars)
        }
        return Checkpoint(parameters: params, optimizer: optimizerState.optimizer.kind.rawValue,
                          optimizerSlots: Checkpoint.slots(of: optimizerState, parameters: params),
                          step: optimizerState.step, epoch: epoch, seed: seed, metadata: metadata)
    }

    /// Continues from `checkpoint`: it must hold this model's parameters (names and shapes), this
    /// optimizer's state and this trainer's seed; throws `CheckpointError.mismatch` otherwise.
    public func restore(from checkpoint: Checkpoint) throws {
        try checkpoint.checkMatches(parameters: model.parameterShapes, optimizer: optimizerState.optimizer.kind.rawValue)
        guard checkpoint.seed == seed else {
            throw CheckpointError.mismatch("the checkpoint's run used seed \(checkpoint.seed), this one \(seed)")
        }
        try checkpoint.restore(into: optimizerState)
        for (array, node) in zip(checkpoint.parameters, model.parameters) {
            try graph.setValue(Tensor(shape: array.shape, scalars: array.values), of: node)
        }
        epoch = checkpoint.epoch
    }

    // MARK: - Plans

    /// The training plans built so far (one per batch size met: the full batch and the last,
    /// partial one), smallest first; for profilers (`taskInfo`, `structure`, `peakBytes`).
    public var trainingPlans: [(rows: Int, plan: Plan<Float>)] {
        trainHeads.keys.sorted().map { ($0, trainHeads[$0]!.plan) }
    }

    /// Builds the training plan for batches of `rows` rows now (it is otherwise built on first use).
    @discardableResult
    public func prepareTrainingPlan(rows: Int) throws -> Plan<Float> {
        guard rows > 0 else { throw ModelSpecError("a training batch needs at least one row, got \(rows)") }
        return try trainHead(rows).plan
    }

    private func trainHead(_ rows: Int) throws -> Head {
        if let head = trainHeads[rows] { return head }
        let (x, labels, logits, loss) = try forward(rows, name: "train\(rows)")
        let params = model.parameters
        let grads = try graph.gradients(of: loss, wrt: params)
        let updates = params.indices.map { i in
            ParameterUpdate(parameter: params[i], gradient: grads[i], name: "update \(model.parameterShapes[i].name)",
                            optimizerState.updateHook(parameter: i, loop: executor ?? SerialLoop()))
        }
        let head = Head(x: x, labels: labels, logits: logits, loss: loss,
                        plan: try Plan(outputs: [loss, logits], updates: updates, executor: executor))
        trainHeads[rows] = head
        return head
    }

    private func evalHead(_ rows: Int) throws -> Head {
        if let head = evalHeads[rows] { return head }
        let (x, labels, logits, loss) = try forward(rows, name: "eval\(rows)")
        let head = Head(x: x, labels: labels, logits: logits, loss: loss,
                        plan: try Plan(outputs: [loss, logits], executor: executor))
        evalHeads[rows] = head
        return head
    }

    private func forward(_ rows: Int, name: String) throws -> (Node<Float>, Node<Float>, Node<Float>, Node<Float>) {
        let x = graph.placeholder("\(name).x", shape: [rows, featureCount])
        let labels = graph.placeholder("\(name).labels", shape: [rows])
        let logits = try model(x)
        let loss = try Loss.softmaxCrossEntropy(logits: logits, targets: labels)
        return (x, labels, logits, loss)
    }

    private func feed(_ head: Head, _ data: Dataset, _ rows: ArraySlice<Int>) throws {
        try head.plan.withFeed(head.x) { data.gather(rows: rows, features: $0) }
        try head.plan.withFeed(head.labels) { y in
            for (k, r) in rows.enumerated() { y[k] = Float(data.labels[r]) }
        }
    }

    private func countCorrect(_ head: Head, _ data: Dataset, _ rows: ArraySlice<Int>) throws -> Int {
        try head.plan.withValue(of: head.logits) { logits in
            var correct = 0
            for (k, r) in rows.enumerated()
            where ConfusionMatrix.argmax(logits, row: k, width: classCount) == Int(data.labels[r]) {
                correct += 1
            }
            return correct
        }
    }

    private func checkFits(_ data: Dataset) throws {
        guard data.featureCount == featureCount else {
            throw ModelSpecError("the data has \(data.featureCount) features, the model's input width is \(featureCount)")
        }
        guard data.classCount <= classCount else {
            throw ModelSpecError("the data has \(data.classCount) classes, the model's output width is \(classCount)")
        }
    }
}

/// Monotonic wall-clock seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
