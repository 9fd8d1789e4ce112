/// What a plan's task does, for profilers and trace viewers: `plan.taskInfo[i]` describes task `i` of
/// the plan's compiled scheduler graph (the index a trace records).
public struct TaskInfo: Sendable, Hashable {
    /// Which part of a training step a task belongs to.
    public enum Category: String, Sendable, Hashable {
        /// Computes a value of the model (a node not added by `gradients`).
        case forward
        /// Computes a gradient (a node added by `gradients`).
        case backward
        /// Applies a parameter update.
        case update
        /// Anything else (copies, bookkeeping).
        case other
    }

    /// Operation name (`matmul`, `relu_backward`, ...); fused chains join names with `+`.
    public let name: String
    public let category: Category
    /// Graph node ids the task computes (several for a fused chain; the parameter for an update).
    public let nodes: [Int]
    /// Shapes of those nodes, in the same order.
    public let shapes: [[Int]]
    /// Estimated floating-point operations of one execution.
    public let flops: Double
    /// Estimated bytes read and written by one execution.
    public let bytes: Double
}
