import Foundation
import Kernels
import Scheduler
import Tensor
import Training

/// Data-parallel training over MPI: every rank holds a replica of the trainer's model, trains
/// its share of each global batch, and the ranks sum their gradients (in buckets, on a
/// communication thread, while backprop goes on) so that every replica applies the same update.
///
/// - **Batches**: the trainer's `batchSize` is the global batch B. Rank r of N takes rows
///   `[r·m/N, (r+1)·m/N)` of each batch of m rows in the epoch's seeded order, so N ranks see
///   exactly the rows one process would, and each rank's gradient is weighted by its share
///   (m_r / m): the sum is the gradient of the global batch's mean loss. A fixed-shape graph
///   (`Trainer.hasFixedBatch`) runs batches of its own b rows only: then every rank trains one
///   whole batch, the global batch is N·b (`Trainer.globalBatchSize`), and N ranks match one
///   process training the same graph built for N·b rows.
/// - **Start-up**: the ranks compare their settings (the caller's, plus the model's parameter
///   names and shapes, the optimizer, batch, seed, scalar type and buckets) and refuse to start
///   with a message saying what differs; then rank 0's parameters, model state and optimizer state (and
///   epoch) are broadcast, and a fingerprint of every replica is compared.
/// - **Results**: epoch results and evaluations are combined over all ranks (every rank gets
///   the same figures). After each epoch the model's state (batch normalization's running
///   statistics) is averaged over the ranks (Note [Model state across ranks]) and the replicas'
///   fingerprints are compared again.
/// - **Same results**: N ranks give the parameters one process with batch B gives, up to
///   rounding (each rank sums its rows' gradients separately: see docs/distributed.md for the
///   tolerance; with batch normalization each rank normalizes over its own rows, so only
///   approximately); two runs with the same N and settings are bitwise equal; 1 rank is bitwise
///   equal to training alone.
///
/// ```swift
/// let comm = try Communicator.world()
/// let trainer = try Trainer<Float>(widths: [784, 1024, 1024, 10], optimizer: .sgd(learningRate: .constant(0.01)),
///                                  batchSize: 256, seed: 42, executor: Executor(workers: 1))
/// let parallel = try DataParallelTrainer(trainer: trainer, communicator: comm, bucketBytes: 25 << 20)
/// for _ in 0..<2 {
///     let epoch = try parallel.trainEpoch(on: train)          // the same figures on every rank
///     if comm.rank == 0 { print(epoch.loss, try parallel.evaluate(test).metric) }
/// }
/// parallel.shutdown()
/// comm.finalize()
/// ```
/// - Note: Used from one thread per rank, like its trainer. After any error the run cannot
///   continue (peers may wait in a collective this rank left): call `communicator.abort(code:)`.
public final class DataParallelTrainer<Scalar: TensorScalar> {
    /// The replica this rank trains (its `gradientExchange` is this object's).
    public let trainer: Trainer<Scalar>
    /// The ranks.
    public let communicator: Communicator
    /// How gradients are grouped for the all-reduce.
    public let layout: BucketLayout
    private let exchange: ReplicaExchange<Scalar>
    private var broken: Error?
    var brokenError: Error? { broken }

    /// This rank and the number of ranks.
    public var rank: Int { communicator.rank }
    public var size: Int { communicator.size }

    /// Joins `trainer` to the run: checks that every rank has the same settings, gives every
    /// replica rank 0's parameters, model state, optimizer state and epoch, and starts the communication thread.
    ///
    /// - Parameters:
    ///   - trainer: this rank's trainer (its model, loss, optimizer, global batch size and seed must
    ///     be the same on every rank; its parameters are replaced by rank 0's).
    ///   - communicator: the ranks taking part (every rank of it calls this initializer).
    ///   - bucketBytes: gradients per all-reduce, about (see `BucketLayout`); default 25 MB.
    ///   - settings: what else must be equal on every rank (data, model description, options),
    ///     by name; differences are reported by name.
    ///   - pollMicroseconds: how long the communication thread sleeps between tests of a reduction
    ///     while backprop still runs (default 50; 0 tests flat out, which takes a core from the workers).
    ///   - nodeSums: ranks that share a node sum their buckets through an MPI shared-memory window,
    ///     and nodes through MPI's all-reduce between one rank each (true, the default: Note
    ///     [Node sums]); false: MPI's all-reduce over all ranks. Must be the same on every rank.
    public init(trainer: Trainer<Scalar>, communicator: Communicator, bucketBytes: Int = 25 << 20,
                settings: [String: String] = [:], pollMicroseconds: Int = 50, nodeSums: Bool = true) throws {
        guard bucketBytes > 0 else { throw communicator.error(.unavailable, "the bucket size must be positive, got \(bucketBytes) bytes") }
        guard trainer.hasFixedBatch || trainer.batchSize >= communicator.size else {
            throw communicator.error(.unavailable, "the global batch of \(trainer.batchSize) rows is smaller than the \(communicator.size) ranks: every rank needs at least one row of each batch")
        }
        self.trainer = trainer
        self.communicator = communicator
        let stride = MemoryLayout<Scalar>.stride
        let sizes = trainer.parameters.map(\.count)
        layout = BucketLayout(parameterSizes: sizes, scalarBytes: stride, capBytes: bucketBytes)

        // 1. The same model and settings everywhere, before any collective whose size they set.
        var all = settings
        all["parameters"] = trainer.parameterShapes.map { "\($0.name) \($0.shape)" }.joined(separator: ", ")
        all["optimizer"] = "\(trainer.optimizerState.optimizer)"
        all["batch"] = String(trainer.batchSize)
        all["seed"] = String(trainer.seed)
        all["scalar"] = "\(Scalar.self)"
        all["buckets"] = layout.summary(scalarBytes: stride)
        all["node sums"] = nodeSums ? "shared-memory window" : "MPI all-reduce"
        try Self.checkSameSettings(all, communicator)

        // 2. Rank 0's state everywhere, verified.
        let state = try communicator.broadcast(bytes: communicator.rank == 0 ? trainer.checkpoint().encoded() : [],
                                               what: "rank 0's parameters and optimizer state")
        if communicator.rank != 0 {
            try trainer.restore(from: Checkpoint(decoding: state, name: "rank 0's parameters and optimizer state"))
        }

        let loop: any ParallelLoop = trainer.executor.map { $0 as any ParallelLoop } ?? SerialLoop()
        let updates = sizes.indices.map { trainer.optimizerState.updateHook(parameter: $0, loop: loop) }
        // Gradient clipping applies to the summed gradient (Note [Gradient clipping] in Training).
        let optimizer = trainer.optimizerState.optimizer
        var clipFactor: (@Sendable (Double) -> Double)? = nil
        if optimizer.clipNorm != nil { clipFactor = { norm in optimizer.clipFactor(norm: norm) } }
        let reducer = try BucketReducer<Scalar>(communicator: communicator, layout: layout, parameterSizes: sizes,
                                                updates: updates, pollMicroseconds: pollMicroseconds, nodeSums: nodeSums,
                                                clipFactor: clipFactor)
        exchange = ReplicaExchange(reducer: reducer, rank: communicator.rank, size: communicator.size)
        trainer.gradientExchange = exchange
        try verifyReplicas(when: "at start-up")
    }

    deinit {
        exchange.reducer.stop()
        if trainer.gradientExchange === exchange { trainer.gradientExchange = nil }
    }

    /// Whether the ranks on this rank's node sum their gradients through a shared-memory window.
    public var sumsThroughSharedMemory: Bool { exchange.reducer.nodeSum != nil }

    /// Stops the communication thread and, after a run without errors, frees the shared-memory
    /// window with the node's other ranks (so every rank calls it at the end; MPI stays
    /// initialized: `communicator.finalize()` ends it). After an error it only stops the thread.
    public func shutdown() {
        exchange.reducer.stop()
        if trainer.gradientExchange === exchange { trainer.gradientExchange = nil }
        if broken == nil { try? exchange.reducer.release() }
    }

    /// Rows `[r·n/N, (r+1)·n/N)`: rank r's share of n rows among N ranks (sizes differ by one at most).
    public static func share(of count: Int, rank: Int, size: Int) -> Range<Int> {
        (rank * count / size)..<((rank + 1) * count / size)
    }

    // MARK: - Training

    /// Trains one epoch: this rank's share of every global batch, gradients summed over the ranks.
    /// The result covers all ranks' rows (loss and metric over the global epoch; `seconds` the
    /// slowest rank's), the same on every rank.
    public func trainEpoch(on data: Dataset, observer: (any TaskObserver)? = nil,
                           afterBatch: ((Trainer<Scalar>.BatchInfo) -> Void)? = nil) throws -> Trainer<Scalar>.EpochResult {
        if let broken { throw broken }
        do {
            try checkSameData(data, "training")
            // (A fixed-shape graph trains whole global batches only: no last batch to share.)
            let last = trainer.hasFixedBatch ? 0 : data.count % trainer.batchSize
            if last > 0 && last < size {
                throw communicator.error(.unavailable, "the last batch of each epoch has \(last) of the \(data.count) training rows, fewer than the \(size) ranks: every rank needs at least one row of each batch (choose a batch size that leaves none or at least \(size))")
            }
            exchange.reducer.setTracing(observer != nil)
            let local = try trainer.trainEpoch(on: data, observer: observer, afterBatch: afterBatch)
            let n = Double(local.samples)
            var sums = [local.loss * n, (local.accuracy ?? 0) * n, (local.r2 ?? 0) * n, n]
            try sums.withUnsafeMutableBufferPointer { try communicator.allreduce($0, op: .sum, what: "epoch \(local.epoch)'s loss and metric") }
            var seconds = [local.seconds]
            try seconds.withUnsafeMutableBufferPointer { try communicator.allreduce($0, op: .max, what: "epoch \(local.epoch)'s time") }
            try averageModelState(what: "after epoch \(local.epoch + 1)")
            try verifyReplicas(when: "after epoch \(local.epoch + 1)")
            let total = sums[3]
            return Trainer<Scalar>.EpochResult(epoch: local.epoch, loss: sums[0] / total,
                                               accuracy: local.accuracy == nil ? nil : sums[1] / total,
                                               r2: local.r2 == nil ? nil : sums[2] / total,
                                               samples: Int(total.rounded()), seconds: seconds[0])
        } catch {
            broken = error
            throw error
        }
    }

    /// Communication since the last call: seconds the communication thread spent in all-reduces,
    /// seconds the training thread waited for them after its plan runs (the part not hidden behind
    /// computation), bytes reduced, and (when the epoch was traced) one event per all-reduce.
    public func takeCommunicationStatistics() -> CommunicationStatistics {
        let s = exchange.reducer.takeStatistics()
        return CommunicationStatistics(reduceSeconds: s.reduce, exposedSeconds: s.exposed, bytes: s.bytes, events: s.events)
    }
}

/// How much a data-parallel epoch communicated, and how much of it training waited for.
public struct CommunicationStatistics: Sendable {
    /// Seconds spent in gradient all-reduces (on the communication thread).
    public let reduceSeconds: Double
    /// Seconds the training thread waited for them once its plan had run: communication not
    /// hidden behind computation.
    public let exposedSeconds: Double
    /// Gradient bytes reduced (this rank's buffers).
    public let bytes: Int
    /// One interval per all-reduce, when the epoch was traced.
    public let events: [CommunicationEvent]
    /// The share of all-reduce time hidden behind computation (1: none waited for).
    public var hiddenShare: Double { reduceSeconds > 0 ? max(0, 1 - exposedSeconds / reduceSeconds) : 1 }
}
