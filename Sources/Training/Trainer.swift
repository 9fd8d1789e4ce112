import Kernels
import Scheduler
import Tensor

#if canImport(Glibc)
import Glibc
#endif

/// Trains any graph: minibatches in a seeded order, one plan run per batch that computes the
/// forward pass, the backward pass and every parameter's optimizer update (each update starts as
/// soon as its parameter's gradient is ready, so updates of late layers overlap backprop through
/// early ones), per-epoch loss and metric, evaluation, prediction, checkpoints and resumption.
///
/// Two ways to hand it a model:
/// - a `TrainableModel` (such as `MLP`) and a `Loss`: the trainer builds the graph at every batch
///   size it meets (the last batch of an epoch may be shorter), so every row trains every epoch;
/// - a `TrainingGraph`: nodes of a graph built with fixed shapes (inputs, target, prediction, loss,
///   parameters), e.g. read from a graph file; batches have the graph's batch size.
///
/// ```swift
/// let g = Graph<Float>()
/// var rng = SeededGenerator(seed: 42)
/// let mlp = MLP(graph: g, widths: [64, 128, 10], using: &rng)
/// let trainer = try Trainer(model: mlp, loss: .crossEntropy, optimizer: .adam(learningRate: .constant(1e-3)),
///                           batchSize: 32, seed: 42, executor: Executor(workers: 2))
/// for _ in 0..<20 {
///     let epoch = try trainer.trainEpoch(on: train)
///     let test = try trainer.evaluate(test)
///     print(epoch.loss, epoch.metric, test.loss, test.accuracy ?? test.r2!)
/// }
/// ```
///
/// The same seed, data and settings give bitwise the same parameters with any number of workers
/// (the plan's results do not depend on it, and everything else runs in a fixed order), and a run
/// resumed from a checkpoint continues exactly as if it had never stopped.
/// - Note: A trainer is used from one thread at a time (like its `Graph`).
public final class Trainer<Scalar: TensorScalar> {
    /// The graph holding the model's parameters and every plan's nodes.
    public let graph: Graph<Scalar>
    /// What training updates, in checkpoint order.
    public let parameters: [Node<Scalar>]
    /// Their names, as checkpoints record them.
    public let parameterNames: [String]
    /// Values the model keeps that the optimizer does not train (batch normalization's running
    /// statistics; see `TrainableModel.state`), updated by training steps and saved in checkpoints.
    public let state: [Node<Scalar>]
    /// Their names, as checkpoints record them.
    public let stateNames: [String]
    /// The objective, when it is one of the known losses (nil: a custom loss node of a `TrainingGraph`).
    public let loss: Loss?
    /// The optimizer's moments and step count.
    public let optimizerState: OptimizerState<Scalar>
    /// Rows per training batch (for a `TrainingGraph`, its batch size).
    public let batchSize: Int
    /// Fixes every epoch's batch order.
    public let seed: UInt64
    /// Whole epochs trained so far (the next `trainEpoch` trains epoch number `epoch`, from 0).
    public private(set) var epoch: Int = 0
    /// Runs every plan (nil: on the calling thread).
    public let executor: Executor?
    /// Data-parallel training (nil: this process trains alone): each step trains this process's
    /// rows of the global batch, and the exchange combines gradients across processes and applies
    /// the updates (see `GradientExchange`). Set it before training; epoch results then describe
    /// this process's rows.
    public var gradientExchange: (any GradientExchange<Scalar>)? {
        didSet { trainHeads = [:] }
    }

    private let source: Source
    /// Plans by batch size: training (forward, backward, updates) and evaluation (forward only).
    private var trainHeads: [Int: Head] = [:]
    private var evalHeads: [Int: Head] = [:]
    /// Rows per evaluation run of a model (bigger than training batches: no gradients are kept).
    private let evalChunk = 512

    private enum Source {
        case model(any TrainableModel<Scalar>, Loss)
        case fixed(TrainingGraph<Scalar>)
    }

    /// One batch size's placeholders, outputs and plan.
    private struct Head {
        let inputs: [TrainingGraph<Scalar>.Input]
        let target: Node<Scalar>
        let prediction: Node<Scalar>
        let loss: Node<Scalar>
        let plan: Plan<Scalar>
    }

    /// A trainer for `model` on `loss`.
    ///
    /// - Parameters:
    ///   - model: the model to train (its parameters, all in one graph, are what training updates).
    ///   - loss: the objective, which must fit the model's prediction and the data's task.
    ///   - optimizer: how gradients update the parameters (its state lives in `optimizerState`).
    ///   - batchSize: rows per training batch (the epoch's last batch may be shorter).
    ///   - seed: fixes every epoch's batch order.
    ///   - executor: the worker pool the plans run on (nil: every task in order on the calling thread).
    public init(model: some TrainableModel<Scalar>, loss: Loss, optimizer: Optimizer, batchSize: Int, seed: UInt64,
                executor: Executor?) throws {
        guard let first = model.parameters.first else { throw ModelSpecError("the model has no parameters: nothing to train") }
        guard batchSize > 0 else { throw ModelSpecError("batch size must be positive, got \(batchSize)") }
        guard model.parameterNames.count == model.parameters.count else {
            throw ModelSpecError("the model names \(model.parameterNames.count) parameters but has \(model.parameters.count)")
        }
        guard model.stateNames.count == model.state.count else {
            throw ModelSpecError("the model names \(model.stateNames.count) state arrays but has \(model.state.count)")
        }
        graph = first.graph
        parameters = model.parameters
        parameterNames = model.parameterNames
        state = model.state
        stateNames = model.stateNames
        guard Set(parameterNames + stateNames).count == parameterNames.count + stateNames.count else {
            throw ModelSpecError("parameter and state names \(parameterNames + stateNames) repeat: checkpoints need distinct names")
        }
        self.loss = loss
        source = .model(model, loss)
        optimizerState = OptimizerState(optimizer: optimizer, parameterSizes: parameters.map(\.count))
        self.batchSize = batchSize
        self.seed = seed
        self.executor = executor
    }

    /// A trainer for a graph built with fixed shapes. `loss` names the objective when the graph's
    /// loss node is one of the known losses of its prediction and target (evaluation then computes it
    /// exactly over any number of rows); nil treats the loss node as opaque.
    public init(graph spec: TrainingGraph<Scalar>, loss: Loss? = nil, optimizer: Optimizer, seed: UInt64,
                executor: Executor?) throws {
        graph = spec.loss.graph
        parameters = spec.parameters
        parameterNames = spec.parameters.map(parameterName)
        state = []
        stateNames = []
        guard Set(parameterNames).count == parameterNames.count else {
            throw ModelSpecError("parameter names \(parameterNames) repeat: checkpoints need distinct names")
        }
        self.loss = loss
        source = .fixed(spec)
        optimizerState = OptimizerState(optimizer: optimizer, parameterSizes: parameters.map(\.count))
        batchSize = spec.batchSize
        self.seed = seed
        self.executor = executor
    }

    /// An `MLP` of `widths` (initialized from `seed`) trained with softmax cross-entropy: the
    /// classifier of `bench train`'s default run.
    public convenience init(widths: [Int], activation: Activation = .relu, optimizer: Optimizer, batchSize: Int,
                            seed: UInt64, executor: Executor?) throws {
        guard widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
            throw ModelSpecError("model widths \(widths): need at least two positive widths")
        }
        var rng = SeededGenerator(seed: seed)
        let mlp = MLP(graph: Graph<Scalar>(), widths: widths, activation: activation, using: &rng)
        try self.init(model: mlp, loss: .crossEntropy, optimizer: optimizer, batchSize: batchSize, seed: seed, executor: executor)
    }

    /// The model's step placeholder (dropout), fed with the optimizer step before each training run.
    private var stepPlaceholder: Node<Scalar>? {
        if case let .model(model, _) = source { return model.stepPlaceholder }
        return nil
    }

    /// Whether batches have the graph's fixed size (a `TrainingGraph`).
    public var hasFixedBatch: Bool { if case .fixed = source { true } else { false } }

    /// Rows of each epoch's batches: `batchSize`, and in a data-parallel run of a fixed-shape
    /// graph `batchSize` times the processes (each process trains one whole batch of the graph).
    public var globalBatchSize: Int { hasFixedBatch ? batchSize * (gradientExchange?.processCount ?? 1) : batchSize }

    // MARK: - Training

    /// What one epoch of training measured.
    public struct EpochResult: Sendable {
        /// The epoch's number (from 0).
        public let epoch: Int
        /// Mean training loss over the epoch's samples (each batch's loss before its update).
        public let loss: Double
        /// Classification: share of training samples classified right when their batch ran (before its update).
        public let accuracy: Double?
        /// Regression: R² of the predictions made when each batch ran (uniform average over targets).
        public let r2: Double?
        /// Training samples seen.
        public let samples: Int
        /// Wall-clock seconds of the epoch's plan runs and batch loading.
        public let seconds: Double
        /// Training throughput of the epoch.
        public var samplesPerSecond: Double { seconds > 0 ? Double(samples) / seconds : 0 }
        /// Accuracy for classification, R² for regression.
        public var metric: Double { accuracy ?? r2 ?? .nan }

        /// Figures as given (e.g. combined over the processes of a data-parallel run).
        public init(epoch: Int, loss: Double, accuracy: Double?, r2: Double?, samples: Int, seconds: Double) {
            self.epoch = epoch
            self.loss = loss
            self.accuracy = accuracy
            self.r2 = r2
            self.samples = samples
            self.seconds = seconds
        }
    }

    /// One training batch just run, for progress displays and profilers.
    public struct BatchInfo {
        /// The batch's index in the epoch.
        public let index: Int
        /// Batches in the epoch.
        public let count: Int
        /// Rows in this batch (the last one may be shorter).
        public let rows: Int
        /// The plan that ran it (`compiled` and `taskInfo` describe the observed tasks).
        public let plan: Plan<Scalar>
    }

    /// Trains one epoch over `data` in the seeded order of epoch `epoch`.
    ///
    /// - Parameters:
    ///   - data: the training rows; their features and targets must fit the model and the loss.
    ///   - observer: when given, told about the tasks of every batch's plan run (a `TraceRecorder`
    ///     records them: read and reset it in `afterBatch` to keep one run's events apart).
    ///   - afterBatch: called after each batch's run (progress bars, profilers).
    ///
    /// Unavailable in async code, where waiting for each batch's run would block a thread of
    /// Swift's cooperative pool: there, `try await trainEpoch(on:)` suspends instead.
    @available(*, noasync, message: "use the async form, `try await trainEpoch(on:observer:afterBatch:)`, which does not block a thread")
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func trainEpoch(on data: Dataset, observer: (any TaskObserver)? = nil,
                           afterBatch: ((BatchInfo) -> Void)? = nil) throws -> EpochResult {
        var progress = try beginEpoch(on: data)
        for b in 0..<progress.batchCount {
            let step = try prepareStep(b, of: &progress, data)
            try step.head.plan.run(observer: observer)
            try finishStep(step, of: &progress, afterBatch: afterBatch)
        }
        return endEpoch(progress)
    }

    /// Trains one epoch as `trainEpoch(on:observer:afterBatch:)` does, suspending the calling task
    /// while each batch's plan runs on the executor's workers instead of blocking its thread. It runs
    /// on the caller's executor (actor) between batches, like the blocking form on its thread, and
    /// gives the same results bit for bit.
    ///
    /// Cancelling the Swift task stops the epoch: the batch running is cancelled, no further batch
    /// starts, and this throws `CancellationError`. The epoch then does not count (`epoch` stays), and
    /// the parameters hold the updates of the batches that finished plus part of the cancelled one,
    /// as after any error mid-epoch: restore a checkpoint to continue exactly.
    /// - Note: With a `gradientExchange`, its `beginStep`/`finishStep` are called as in the blocking
    ///   form (they may wait for other processes on the calling thread).
    ///
    /// ```swift
    /// let training = Task { for _ in 0..<epochs { print(try await trainer.trainEpoch(on: train).loss) } }
    /// // later: training.cancel()
    /// ```
    nonisolated(nonsending)
    public func trainEpoch(on data: Dataset, observer: (any TaskObserver)? = nil,
                           afterBatch: ((BatchInfo) -> Void)? = nil) async throws -> EpochResult {
        var progress = try beginEpoch(on: data)
        for b in 0..<progress.batchCount {
            try Task.checkCancellation()
            let step = try prepareStep(b, of: &progress, data)
            try await step.head.plan.run(observer: observer)
            try finishStep(step, of: &progress, afterBatch: afterBatch)
        }
        return endEpoch(progress)
    }

    /// An epoch in progress: its batches and what it measured so far.
    private struct EpochProgress {
        let batches: Minibatches
        let batchCount: Int
        let exchange: (any GradientExchange<Scalar>)?
        var tracker: MetricTracker
        var lossSum = 0.0
        var start = 0.0
    }

    /// One batch fed and ready to run.
    private struct Step {
        let index: Int
        let rows: ArraySlice<Int>
        let head: Head
    }

    /// Checks `data`, builds the plans of the epoch's batch sizes, and starts the clock.
    private func beginEpoch(on data: Dataset) throws -> EpochProgress {
        try checkFits(data)
        guard data.count > 0 else { throw ModelSpecError("no training samples") }
        let exchange = gradientExchange
        let batchRows = globalBatchSize
        let batches = Minibatches(rows: data.count, batchSize: batchRows, seed: seed, epoch: epoch)
        let batchCount = hasFixedBatch ? data.count / batchRows : batches.count
        guard batchCount > 0 else {
            let processes = exchange?.processCount ?? 1
            throw ModelSpecError("the graph's batch of \(batchSize) rows\(processes > 1 ? " on each of \(processes) processes (\(batchRows) in all)" : "") is larger than the \(data.count) training rows")
        }
        // Plans for the full and the last (partial) batch are built before the clock starts.
        for b in Set([0, batchCount - 1]) { _ = try trainHead((exchange?.localRows(of: batches[b]) ?? batches[b]).count) }
        var progress = EpochProgress(batches: batches, batchCount: batchCount, exchange: exchange,
                                     tracker: MetricTracker(data: data))
        progress.start = monotonicSeconds()
        return progress
    }

    /// Feeds batch `b` (and the step count) and announces the step to the exchange.
    private func prepareStep(_ b: Int, of progress: inout EpochProgress, _ data: Dataset) throws -> Step {
        let batch = progress.batches[b]
        let rows = progress.exchange?.localRows(of: batch) ?? batch
        let head = try trainHead(rows.count)
        try feed(head, data, rows, targets: true)
        if let step = stepPlaceholder, head.plan.reads(step) {
            // The step, and (a two-value step) this process's first row in the global batch:
            // data-parallel ranks then draw one process's dropout masks (Note [Dropout of a part
            // of the batch]).
            let value = Scalar(optimizerState.step), first = Scalar(rows.startIndex - batch.startIndex)
            try head.plan.withUnsafeFeed(step) { feed in
                feed[0] = value
                if feed.count > 1 { feed[1] = first }
            }
        }
        try progress.exchange?.beginStep(localRows: rows.count, batchRows: batch.count)
        return Step(index: b, rows: rows, head: head)
    }

    /// After a batch's run: completes the step and reads its loss and predictions.
    private func finishStep(_ step: Step, of progress: inout EpochProgress, afterBatch: ((BatchInfo) -> Void)?) throws {
        try progress.exchange?.finishStep()
        optimizerState.advance()
        let head = step.head
        progress.lossSum += Double(try head.plan.withUnsafeValue(of: head.loss) { $0[0] }) * Double(step.rows.count)
        try head.plan.withUnsafeValue(of: head.prediction) { progress.tracker.add($0, rows: step.rows, loss: loss) }
        afterBatch?(BatchInfo(index: step.index, count: progress.batchCount, rows: step.rows.count, plan: head.plan))
    }

    /// The epoch's figures; counts the epoch.
    private func endEpoch(_ progress: EpochProgress) -> EpochResult {
        let seconds = monotonicSeconds() - progress.start
        let tracker = progress.tracker
        let result = EpochResult(epoch: epoch, loss: progress.lossSum / Double(tracker.samples), accuracy: tracker.accuracy,
                                 r2: tracker.r2, samples: tracker.samples, seconds: seconds)
        epoch += 1
        return result
    }

    // MARK: - Evaluation and prediction

    /// The loss, the predictions and the main metric of the current model on a dataset.
    public struct Evaluation: Sendable {
        /// Mean loss over the samples (with a custom loss node and a fixed batch, the last window's
        /// loss counts for the rows it adds).
        public let loss: Double
        /// The model's outputs, `rows x predictionWidth` (logits for classification losses, values
        /// for regression), in the data's units as fed.
        public let predictions: [Double]
        /// Outputs per row.
        public let predictionWidth: Int
        /// Classification: counts of (true class, predicted class); nil for regression.
        public let confusion: ConfusionMatrix?
        /// Classification: share of samples classified right.
        public var accuracy: Double? { confusion?.accuracy }
        /// Regression: R² (uniform average over targets), in the data's units as fed.
        public let r2: Double?
        /// Accuracy for classification, R² for regression.
        public var metric: Double { accuracy ?? r2 ?? .nan }

        /// Figures as given (e.g. combined over the processes of a data-parallel run).
        public init(loss: Double, predictions: [Double], predictionWidth: Int, confusion: ConfusionMatrix?, r2: Double?) {
            self.loss = loss
            self.predictions = predictions
            self.predictionWidth = predictionWidth
            self.confusion = confusion
            self.r2 = r2
        }
    }

    /// Runs the model forward over every row of `data` (in row order, in chunks) without changing it.
    /// Unavailable in async code: use `try await evaluate(_:)` there.
    @available(*, noasync, message: "use the async form, `try await evaluate(_:)`, which does not block a thread")
    public func evaluate(_ data: Dataset) throws -> Evaluation {
        try checkFits(data)
        return evaluation(of: data, try forwardAll(data, targets: true))
    }

    /// `evaluate(_:)`, suspending the calling task while the plans run instead of blocking its
    /// thread; cancelling the task stops it with `CancellationError` (the model is not changed).
    nonisolated(nonsending)
    public func evaluate(_ data: Dataset) async throws -> Evaluation {
        try checkFits(data)
        return evaluation(of: data, try await forwardAllAsync(data, targets: true))
    }

    /// The model's outputs for every row of `features` (its targets are not used): `rows x width`
    /// values, logits for classification losses (see `Loss.probabilities(row:)`).
    /// Unavailable in async code: use `try await predict(_:)` there.
    @available(*, noasync, message: "use the async form, `try await predict(_:)`, which does not block a thread")
    public func predict(_ features: Dataset) throws -> (values: [Double], width: Int) {
        try checkInputs(features)
        let (predictions, width, _) = try forwardAll(features, targets: false)
        return (predictions, width)
    }

    /// `predict(_:)`, suspending the calling task while the plans run instead of blocking its
    /// thread; cancelling the task stops it with `CancellationError`.
    nonisolated(nonsending)
    public func predict(_ features: Dataset) async throws -> (values: [Double], width: Int) {
        try checkInputs(features)
        let (predictions, width, _) = try await forwardAllAsync(features, targets: false)
        return (predictions, width)
    }

    /// The loss and metrics of `predictions` (from `forwardAll`) against `data`'s targets.
    private func evaluation(of data: Dataset, _ forward: ([Double], Int, Double)) -> Evaluation {
        let (predictions, width, windowLoss) = forward
        var tracker = MetricTracker(data: data)
        predictions.withUnsafeBufferPointer { p in
            for r in 0..<data.count {
                tracker.add(UnsafeBufferPointer(rebasing: p[(r * width)..<((r + 1) * width)]), rows: r...r, loss: loss)
            }
        }
        let lossValue = loss.map {
            $0.hostLoss(predictions: predictions, targets: data.targets, rows: data.count)
        } ?? windowLoss
        return Evaluation(loss: data.count > 0 ? lossValue : 0, predictions: predictions, predictionWidth: width,
                          confusion: tracker.confusion, r2: tracker.r2)
    }

    /// Forward passes over all rows; with fixed batches the last window overlaps the one before it
    /// and only its new rows are kept. Returns the predictions, their width and the mean window loss.
    private func forwardAll(_ data: Dataset, targets: Bool) throws -> ([Double], Int, Double) {
        var pass = try ForwardPass(data: data, targets: targets, chunk: hasFixedBatch ? batchSize : evalChunk,
                                   fixed: hasFixedBatch, batchSize: batchSize)
        while let head = try nextChunk(&pass) {
            try head.plan.run()
            try collectChunk(head, into: &pass)
        }
        return pass.result
    }

    /// `forwardAll`, awaiting each plan run.
    nonisolated(nonsending)
    private func forwardAllAsync(_ data: Dataset, targets: Bool) async throws -> ([Double], Int, Double) {
        var pass = try ForwardPass(data: data, targets: targets, chunk: hasFixedBatch ? batchSize : evalChunk,
                                   fixed: hasFixedBatch, batchSize: batchSize)
        while let head = try nextChunk(&pass) {
            try Task.checkCancellation()
            try await head.plan.run()
            try collectChunk(head, into: &pass)
        }
        return pass.result
    }

    /// A forward pass over a data set in progress: the window fed last and what was collected.
    private struct ForwardPass {
        let data: Dataset
        let targets: Bool
        let chunk: Int
        let fixed: Bool
        var start = 0
        var window = 0..<0
        var out: [Double] = []
        var width = 0
        var lossSum = 0.0

        init(data: Dataset, targets: Bool, chunk: Int, fixed: Bool, batchSize: Int) throws {
            guard data.count == 0 || data.count >= chunk || !fixed else {
                throw ModelSpecError("the graph's batch of \(batchSize) rows is larger than the \(data.count) rows to evaluate")
            }
            self.data = data
            self.targets = targets
            self.chunk = chunk
            self.fixed = fixed
        }

        var result: ([Double], Int, Double) { data.count > 0 ? (out, width, lossSum / Double(data.count)) : ([], 0, 0) }
    }

    /// Feeds the next window of rows and returns its plan's head, or nil when every row was seen.
    private func nextChunk(_ pass: inout ForwardPass) throws -> Head? {
        guard pass.start < pass.data.count else { return nil }
        let lo = pass.fixed ? min(pass.start, pass.data.count - pass.chunk) : pass.start
        pass.window = lo..<min(lo + pass.chunk, pass.data.count)
        let head = try evalHead(pass.window.count)
        // Only a custom loss node needs the target in evaluation plans (known losses are computed on the host).
        try feed(head, pass.data, pass.window, targets: loss == nil ? pass.targets : nil)
        return head
    }

    /// After a window's run: keeps its new rows' predictions (and the custom loss).
    private func collectChunk(_ head: Head, into pass: inout ForwardPass) throws {
        let rows = pass.window
        let width = head.prediction.shape.dropFirst().reduce(1, *)
        pass.width = width
        let skip = pass.start - rows.lowerBound
        try head.plan.withUnsafeValue(of: head.prediction) { p in
            appendAsDoubles(UnsafeBufferPointer(rebasing: p[(skip * width)..<(rows.count * width)]), to: &pass.out)
        }
        if loss == nil {
            pass.lossSum += Double(try head.plan.withUnsafeValue(of: head.loss) { $0[0] }) * Double(rows.upperBound - pass.start)
        }
        pass.start = rows.upperBound
    }

    // MARK: - Parameters and checkpoints

    /// A copy of every parameter's values, in `parameters` order.
    public func parameterValues() throws -> [[Scalar]] {
        try parameters.map { try graph.value(of: $0).scalars }
    }

    /// Replaces every parameter's values (as `parameterValues` returns them), e.g. to go back to the
    /// best epoch after early stopping.
    public func setParameterValues(_ values: [[Scalar]]) throws {
        guard values.count == parameters.count else {
            throw ModelSpecError("\(values.count) parameter arrays for \(parameters.count) parameters")
        }
        for (node, v) in zip(parameters, values) { try graph.setValue(Tensor(shape: node.shape, scalars: v), of: node) }
    }

    /// A copy of every state array's values (running statistics), in `state` order.
    public func stateValues() throws -> [[Scalar]] {
        try state.map { try graph.value(of: $0).scalars }
    }

    /// Replaces every state array's values (as `stateValues` returns them).
    public func setStateValues(_ values: [[Scalar]]) throws {
        guard values.count == state.count else {
            throw ModelSpecError("\(values.count) state arrays for \(state.count) in the model")
        }
        for (node, v) in zip(state, values) { try graph.setValue(Tensor(shape: node.shape, scalars: v), of: node) }
    }

    /// The trainer's whole state: parameters, model state, optimizer state, epochs and steps done, seed.
    public func checkpoint(metadata: [String: String] = [:]) throws -> Checkpoint {
        func named(_ names: [String], _ nodes: [Node<Scalar>]) throws -> [Checkpoint.NamedArray] {
            try zip(names, nodes).map { name, node in
                Checkpoint.NamedArray(name: name, shape: node.shape, scalars: try graph.value(of: node).scalars)
            }
        }
        let params = try named(parameterNames, parameters)
        return Checkpoint(parameters: params, optimizer: optimizerState.optimizer.kind.rawValue,
                          optimizerSlots: Checkpoint.slots(of: optimizerState, parameters: params),
                          step: optimizerState.step, epoch: epoch, seed: seed, metadata: metadata,
                          state: try named(stateNames, state))
    }

    /// The names and shapes of the parameters, as `Checkpoint.checkMatches` takes them.
    public var parameterShapes: [(name: String, shape: [Int])] { zip(parameterNames, parameters).map { ($0, $1.shape) } }
    /// The names and shapes of the model's state, as `Checkpoint.checkMatches` takes them.
    public var stateShapes: [(name: String, shape: [Int])] { zip(stateNames, state).map { ($0, $1.shape) } }

    /// Continues from `checkpoint`: it must hold this model's parameters (names and shapes), this
    /// optimizer's state and this trainer's seed; throws `CheckpointError.mismatch` saying what differs.
    public func restore(from checkpoint: Checkpoint) throws {
        try checkpoint.checkMatches(parameters: parameterShapes, optimizer: optimizerState.optimizer.kind.rawValue)
        try checkpoint.checkMatches(state: stateShapes)
        guard checkpoint.seed == seed else {
            throw CheckpointError.mismatch("the checkpoint's run used seed \(checkpoint.seed), this one \(seed)")
        }
        try checkpoint.restore(into: optimizerState)
        try loadParameters(from: checkpoint)
        epoch = checkpoint.epoch
    }

    /// Sets the parameters from a checkpoint's (names and shapes must match), leaving the optimizer
    /// state and the epoch alone: what prediction from a saved model needs.
    public func loadParameters(from checkpoint: Checkpoint) throws {
        try checkpoint.checkMatches(parameters: parameterShapes, optimizer: nil)
        try checkpoint.checkMatches(state: stateShapes)
        for (array, node) in zip(checkpoint.parameters + checkpoint.state, parameters + state) {
            try graph.setValue(Tensor(shape: array.shape, scalars: array.scalars(as: Scalar.self)), of: node)
        }
    }

    // MARK: - Plans

    /// The training plans built so far (one per batch size met: the full batch and the last,
    /// partial one), smallest first; for profilers (`taskInfo`, `structure`, `peakBytes`).
    public var trainingPlans: [(rows: Int, plan: Plan<Scalar>)] {
        trainHeads.keys.sorted().map { ($0, trainHeads[$0]!.plan) }
    }

    /// Builds the training plan for batches of `rows` rows now (it is otherwise built on first use).
    @discardableResult
    public func prepareTrainingPlan(rows: Int) throws -> Plan<Scalar> {
        guard rows > 0 else { throw ModelSpecError("a training batch needs at least one row, got \(rows)") }
        return try trainHead(rows).plan
    }

    private func trainHead(_ rows: Int) throws -> Head {
        if let head = trainHeads[rows] { return head }
        let (inputs, target, prediction, lossNode, stateUpdates) = try nodes(rows, name: "train\(rows)")
        var grads = try graph.gradients(of: lossNode, wrt: parameters)
        // Clipped in the graph when training alone; a data-parallel exchange clips the summed
        // gradients itself (Note [Gradient clipping]).
        if let maxNorm = optimizerState.optimizer.clipNorm, gradientExchange == nil {
            grads = try GradientClipping.clipped(grads, maxNorm: maxNorm)
        }
        var updates = parameters.indices.map { i in
            var update = ParameterUpdate(parameter: parameters[i], gradient: grads[i], name: "update \(parameterNames[i])",
                                         optimizerState.updateHook(parameter: i, loop: executor.map { $0 as any ParallelLoop } ?? SerialLoop()))
            update.sgdRate = optimizerState.sgdRate
            update.applyRange = optimizerState.rangeHook(parameter: i)
            update.applyBlock = optimizerState.blockHook(parameter: i)
            return gradientExchange?.planUpdate(parameter: i, replacing: update) ?? update
        }
        updates += stateUpdates.map(\.parameterUpdate)
        let head = Head(inputs: inputs, target: target, prediction: prediction, loss: lossNode,
                        plan: try Plan(outputs: [lossNode, prediction], updates: updates, executor: executor))
        trainHeads[rows] = head
        return head
    }

    private func evalHead(_ rows: Int) throws -> Head {
        if let head = evalHeads[rows] { return head }
        let (inputs, target, prediction, lossNode, _) = try nodes(rows, name: "eval\(rows)")
        let outputs = loss == nil ? [prediction, lossNode] : [prediction]
        let head = Head(inputs: inputs, target: target, prediction: prediction, loss: lossNode,
                        plan: try Plan(outputs: outputs, executor: executor))
        evalHeads[rows] = head
        return head
    }

    private func nodes(_ rows: Int, name: String) throws
        -> ([TrainingGraph<Scalar>.Input], Node<Scalar>, Node<Scalar>, Node<Scalar>, [StateUpdate<Scalar>]) {
        switch source {
        case let .fixed(spec):
            precondition(rows == spec.batchSize, "Trainer: a fixed-shape graph runs batches of \(spec.batchSize) rows, asked \(rows)")
            return (spec.inputs, spec.target, spec.prediction, spec.loss, [])
        case let .model(model, loss):
            let x = graph.placeholder("\(name).x", shape: [rows] + model.inputShape)
            let (prediction, stateUpdates) = name.hasPrefix("train") ? try model.trainingPrediction(x)
                                                                     : (try model.prediction(x, training: false), [])
            guard prediction.shape.count == 2, prediction.shape[0] == rows else {
                throw ModelSpecError("the model's prediction for \(rows) rows has shape \(prediction.shape), expected [\(rows), outputs]")
            }
            let target = graph.placeholder("\(name).target", shape: loss.targetShape(rows: rows, targetCount: prediction.shape[1]))
            return ([.init(x)], target, prediction, try loss(prediction: prediction, target: target), stateUpdates)
        }
    }

    /// Feeds the inputs and, when `targets` is true, the data's targets (false: zeros; nil: the
    /// target is not fed, as in evaluation plans that do not compute the loss node).
    private func feed(_ head: Head, _ data: Dataset, _ rows: some Collection<Int>, targets: Bool?) throws {
        for input in head.inputs {
            try head.plan.withUnsafeFeed(input.placeholder) { data.gather(rows: rows, features: $0, columns: input.columns) }
        }
        switch targets {
        case true?: try head.plan.withUnsafeFeed(head.target) { data.gatherTargets(rows: rows, into: $0) }
        case false?: try head.plan.withUnsafeFeed(head.target) { $0.update(repeating: 0) }
        case nil: break
        }
    }

    // MARK: - Checks

    /// Throws unless `data`'s features fit the model's inputs and its targets fit the prediction and loss.
    private func checkFits(_ data: Dataset) throws {
        try checkInputs(data)
        let (_, target, prediction, _) = try headNodesForChecks()
        let outputs = prediction.shape.dropFirst().reduce(1, *)
        if data.task.isClassification && (loss == .crossEntropy || target.shape.count == 1) {
            guard data.classCount <= outputs else {
                throw ModelSpecError("the data has \(data.classCount) classes, the model's output width is \(outputs)")
            }
        } else {
            let width = target.shape.dropFirst().reduce(1, *)
            guard width == data.targetCount else {
                throw ModelSpecError("the data has \(data.targetCount) target value(s) per row, the target placeholder takes \(width) (shape \(target.shape))")
            }
        }
    }

    private func checkInputs(_ data: Dataset) throws {
        switch source {
        case let .model(model, _):
            let width = model.inputShape.reduce(1, *)
            guard data.featureCount == width else {
                throw ModelSpecError("the data has \(data.featureCount) features, the model's input takes \(width) (shape \(model.inputShape))")
            }
        case let .fixed(spec):
            for input in spec.inputs {
                let columns = input.columns ?? Array(0..<data.featureCount)
                guard columns.count == input.rowWidth else {
                    throw ModelSpecError("input \(input.placeholder) takes \(input.rowWidth) values per row, it is fed \(columns.count) feature columns")
                }
                if let bad = columns.first(where: { $0 < 0 || $0 >= data.featureCount }) {
                    throw ModelSpecError("input \(input.placeholder) is fed feature column \(bad), the data has \(data.featureCount)")
                }
            }
        }
    }

    private func headNodesForChecks() throws -> ([TrainingGraph<Scalar>.Input], Node<Scalar>, Node<Scalar>, Node<Scalar>) {
        if case let .fixed(spec) = source { return (spec.inputs, spec.target, spec.prediction, spec.loss) }
        let head = try trainHeads.values.first ?? evalHeads.values.first ?? evalHead(1)
        return (head.inputs, head.target, head.prediction, head.loss)
    }
}

/// Accumulates the main metric over predictions of known rows: correct classifications (argmax of
/// the logits, or a positive logit for one-logit BCE) or squared errors per target for R².
struct MetricTracker {
    let data: Dataset
    var samples = 0
    private(set) var confusion: ConfusionMatrix?
    private var squaredErrors: [Double]

    init(data: Dataset) {
        self.data = data
        confusion = data.task.isClassification ? ConfusionMatrix(classCount: max(data.classCount, 2)) : nil
        squaredErrors = [Double](repeating: 0, count: data.targetCount)
    }

    mutating func add<S: TensorScalar>(_ predictions: UnsafeBufferPointer<S>, rows: some Collection<Int>, loss: Loss?) {
        // Once per training step: the work runs in a function specialized for Float and Double
        // (generic code here, unspecialized across modules, cost thousands of instructions a step).
        if rows.withContiguousStorageIfAvailable({ add(predictions, rows: $0) }) == nil {
            Array(rows).withUnsafeBufferPointer { add(predictions, rows: $0) }
        }
    }

    @_specialize(where S == Float)
    @_specialize(where S == Double)
    private mutating func add<S: TensorScalar>(_ predictions: UnsafeBufferPointer<S>, rows: UnsafeBufferPointer<Int>) {
        let n = rows.count
        guard n > 0 else { return }
        let width = predictions.count / n
        let k = data.targetCount
        for (i, r) in rows.enumerated() {
            if confusion != nil {
                let predicted = width == 1 ? (predictions[i] > 0 ? 1 : 0)
                    : ConfusionMatrix.argmax(predictions, row: i, width: width)
                confusion!.add(actual: Int(data.targets[r]), predicted: min(predicted, confusion!.classCount - 1))
            } else {
                for j in 0..<min(k, width) {
                    let d = Double(predictions[i * width + j]) - data.targets[r * k + j]
                    squaredErrors[j] += d * d
                }
            }
        }
        samples += n
    }

    var accuracy: Double? { confusion?.accuracy }

    /// R² over the rows seen, against the variance of the whole data set's targets (uniform average).
    var r2: Double? {
        guard confusion == nil, samples > 0 else { return nil }
        let k = data.targetCount, n = data.count
        var total = 0.0
        for j in 0..<k {
            var mean = 0.0
            for r in 0..<n { mean += data.targets[r * k + j] }
            mean /= Double(n)
            var variance = 0.0
            for r in 0..<n { let d = data.targets[r * k + j] - mean; variance += d * d }
            variance /= Double(n)
            let mse = squaredErrors[j] / Double(samples)
            total += variance > 0 ? 1 - mse / variance : (mse == 0 ? 1 : 0)
        }
        return total / Double(k)
    }
}

/// Monotonic wall-clock seconds.
func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}

/// `values` converted to Double and appended to `out`, in loops specialized for Float and Double
/// (a generic `map` in the trainer, unspecialized across modules, cost tens of instructions a value).
@_specialize(where S == Float)
@_specialize(where S == Double)
private func appendAsDoubles<S: TensorScalar>(_ values: UnsafeBufferPointer<S>, to out: inout [Double]) {
    out.reserveCapacity(out.count + values.count)
    for v in values { out.append(Double(v)) }
}
