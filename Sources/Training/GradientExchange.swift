import Tensor

/// What a `Trainer` asks of a data-parallel run (see `Trainer.gradientExchange`): every process
/// holds a replica of the model and trains its part of each global batch; the exchange combines
/// the gradients across processes and applies the optimizer's update, so all replicas stay equal.
/// The update includes the optimizer's gradient clipping (`Optimizer.clipNorm`), which needs the
/// combined gradients: the trainer does not clip in its plans when an exchange is set.
///
/// The trainer calls it at three points of each step:
/// 1. `localRows(of:)` picks this process's rows of the global batch (the trainer runs its plan
///    on those), and `beginStep` announces how many rows that is out of the batch;
/// 2. during the plan run, the update task of each parameter is the one `planUpdate` returned:
///    typically a hook that only reads the gradient (`writesParameter` false), hands it to the
///    communication, and has a priority that makes the plan compute first what is sent first;
/// 3. after the run, `finishStep` waits for the combined gradients and leaves every parameter
///    updated; then the trainer advances the optimizer's step.
///
/// ```swift
/// // Distributed's DataParallelTrainer sets itself as the exchange:
/// let parallel = try DataParallelTrainer(trainer: trainer, communicator: .world())
/// let epoch = try parallel.trainEpoch(on: train)
/// ```
/// - Note: The trainer reports losses and metrics over this process's rows only; combining them
///   across processes is the exchange owner's job.
public protocol GradientExchange<Scalar>: AnyObject {
    associatedtype Scalar: TensorScalar

    /// The rows of a global batch (row indices in the epoch's seeded order) this process trains:
    /// a non-empty part of `batch`, in its order.
    func localRows(of batch: ArraySlice<Int>) -> ArraySlice<Int>

    /// The task the training plan runs for parameter `index` in place of `update` (the
    /// optimizer's update the trainer would run alone, with the parameter and gradient nodes).
    func planUpdate(parameter index: Int, replacing update: ParameterUpdate<Scalar>) -> ParameterUpdate<Scalar>

    /// Called before each step's plan run: this process trains `localRows` of the batch's `batchRows`.
    func beginStep(localRows: Int, batchRows: Int) throws

    /// Called after each step's plan run: returns once every parameter holds its updated value.
    func finishStep() throws

    /// How many processes take part (each trains its rows of every global batch). A trainer of a
    /// fixed-shape graph, whose plan runs batches of exactly `batchSize` rows, makes its global
    /// batches this many times longer, so that every process trains one whole batch of the graph.
    var processCount: Int { get }
}

extension GradientExchange {
    public var processCount: Int { 1 }
}
