/// An optimizer step for one parameter, run inside a plan: as soon as the parameter's gradient is
/// ready, and after every task of the same run that reads the parameter, the plan calls `apply` with
/// the parameter's storage (to update in place) and its gradient. Updates of late layers thus overlap
/// backprop through early ones.
///
/// `apply` runs on a worker thread, once per run; state it keeps (momentum, Adam moments, a step
/// counter) belongs to the closure's owner, which must not touch it while a run is in flight.
///
/// ```swift
/// let lr: Float = 0.1
/// let sgd = ParameterUpdate(parameter: w, gradient: grads[0]) { p, g in
///     for i in p.indices { p[i] -= lr * g[i] }
/// }
/// let plan = try Plan(outputs: [loss], updates: [sgd], executor: executor)
/// ```
public struct ParameterUpdate<Scalar: TensorScalar> {
    /// The closure type: `(parameter storage, gradient)`; both have the parameter's element count.
    public typealias Apply = @Sendable (_ parameter: UnsafeMutableBufferPointer<Scalar>, _ gradient: UnsafeBufferPointer<Scalar>) -> Void

    public var parameter: Node<Scalar>
    public var gradient: Node<Scalar>
    /// Task name in traces (default `update <parameter name>`).
    public var name: String?
    public var apply: Apply
    /// Scheduling rank (default 0): this task and every task it waits for run before ready tasks
    /// that lead only to tasks of lower rank; the critical path decides among equals. A
    /// data-parallel trainer ranks the hooks that hand gradients to communication by the order
    /// it sends them, so the first gradients to send are computed first.
    public var priority: Int = 0
    /// Whether `apply` writes the parameter (default true): the task then waits for every task of
    /// the run that reads the parameter. A hook that only reads the gradient (to copy it, e.g. for
    /// a reduction across processes, and update the parameter after the run) sets false: it runs
    /// as soon as the gradient exists, and must not write the parameter.
    public var writesParameter: Bool = true

    public init(parameter: Node<Scalar>, gradient: Node<Scalar>, name: String? = nil, _ apply: @escaping Apply) {
        self.parameter = parameter
        self.gradient = gradient
        self.name = name
        self.apply = apply
    }
}
