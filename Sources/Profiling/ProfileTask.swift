import Scheduler

/// What one task of a graph is, independent of any run: its operation and what it costs.
///
/// A `Profile` holds one `ProfileTask` per graph task (indexed like the compiled graph) and any
/// number of measured `ProfileEvent`s that refer to it by index.
///
///     let matmul = ProfileTask(name: "matmul", category: .forward, shape: "64x784 * 784x128",
///                              flops: 2 * 64 * 784 * 128, arguments: ["node": "7"])
public struct ProfileTask: Sendable, Hashable {
    /// The operation, e.g. "matmul": rows of the operation table group by it.
    public var name: String
    public var category: ProfileCategory
    /// A short text for the task's shapes, shown in the trace, the graph and tooltips.
    public var shape: String?
    /// Floating-point operations of one execution, where known (gives GFLOP/s).
    public var flops: Double?
    /// Bytes read and written by one execution, where known.
    public var bytes: Double?
    /// Any other facts worth showing (e.g. a node id), written as trace event args.
    public var arguments: [String: String]

    public init(name: String, category: ProfileCategory = .other, shape: String? = nil,
                flops: Double? = nil, bytes: Double? = nil, arguments: [String: String] = [:]) {
        self.name = name
        self.category = category
        self.shape = shape
        self.flops = flops
        self.bytes = bytes
        self.arguments = arguments
    }
}
