import Kernels

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

    /// Set when `apply` is plain SGD, `p ← p − rate·g` with one multiply-add per element (as
    /// `OptimizerSteps.sgd` without weight decay computes it): the learning rate, read when the
    /// update runs. A plan that sees the rule may fold the step into the product that computes the
    /// gradient (Note [Updates in the gradient's product]); nil (the default) for any other rule.
    public var sgdRate: (@Sendable () -> Scalar)?

    /// The closure type of `applyRange`: `(parameter, gradient, range)`, both pointers to the
    /// whole arrays; it updates elements `range` only.
    public typealias RangeApply = @Sendable (_ parameter: UnsafeMutablePointer<Scalar>, _ gradient: UnsafePointer<Scalar>,
                                             _ range: Range<Int>) -> Void

    /// Set when `apply` is elementwise (momentum, Adam, SGD with weight decay: element i's new value
    /// and optimizer state depend on element i alone, so updating a range on its own gives the
    /// same result as updating everything): the same step on a range of elements. A plan that sees
    /// it may run the update on each block of the gradient as the gradient's product finishes the
    /// block, while it is in cache (Note [Updates in the gradient's product]); nil by default.
    public var applyRange: RangeApply?

    /// The closure type of `applyBlock`: `(parameter, gradient, rows, columns, rowLength)`, both
    /// pointers to the whole arrays, row-major with rows of `rowLength` elements; it updates
    /// elements `columns` of rows `rows` only.
    public typealias BlockApply = @Sendable (_ parameter: UnsafeMutablePointer<Scalar>, _ gradient: UnsafePointer<Scalar>,
                                             _ rows: Range<Int>, _ columns: Range<Int>, _ rowLength: Int) -> Void

    /// Optional beside `applyRange` (and ignored without it): the same step on a block of rows of
    /// a two-dimensional parameter, as `applyRange` on each row's part would do it. A product split
    /// into column chunks over several workers finishes blocks narrower than the parameter's rows;
    /// with this hook the plan updates such a block in one call instead of one call per row, which
    /// lets the rule do its per-call work (the step's constants, its dispatch) once (Note
    /// [Optimizer steps on blocks of rows]). nil by default: the plan calls `applyRange` per row.
    public var applyBlock: BlockApply?

    /// Memory of the parameter's element count where the update wants its gradient (nil by
    /// default: the plan's own buffer). When the gradient is a two-dimensional `matmul` that
    /// nothing else reads, the update's task runs the product straight into this memory, scaled by
    /// `gradientScale`, and then calls `apply` with it as the gradient: a hook that hands gradients
    /// to a reduction across processes gets them where the reduction reads them, with no copy
    /// (Note [Gradients into the update's memory]). Otherwise `apply` gets the plan's buffer,
    /// unscaled, as usual; it can tell the two apart by the gradient's address. The memory must
    /// stay valid while the plan exists, and nothing else may touch it during a run.
    public var gradientStorage: UnsafeMutablePointer<Scalar>?

    /// The factor the product into `gradientStorage` applies (GEMM's alpha; 1 when nil), read when
    /// the update's task runs: e.g. this process's share of a batch split across processes.
    public var gradientScale: (@Sendable () -> Scalar)?

    public init(parameter: Node<Scalar>, gradient: Node<Scalar>, name: String? = nil, _ apply: @escaping Apply) {
        self.parameter = parameter
        self.gradient = gradient
        self.name = name
        self.apply = apply
    }

    /// Plain SGD, `p ← p − rate()·g` (one fused multiply-add per element where the CPU has FMA),
    /// declared as such so that a plan may fold it into the gradient's product.
    ///
    /// ```swift
    /// let step = ParameterUpdate.sgd(parameter: w, gradient: grads[0]) { 0.01 }
    /// ```
    public static func sgd(parameter: Node<Scalar>, gradient: Node<Scalar>, name: String? = nil,
                           learningRate: @escaping @Sendable () -> Scalar) -> ParameterUpdate {
        var update = ParameterUpdate(parameter: parameter, gradient: gradient, name: name) { p, g in
            let rate = learningRate()
            Scalar.sgdStep(p, g, rate: rate)
        }
        update.sgdRate = learningRate
        return update
    }
}

// Note [Updates in the gradient's product]: when a parameter's gradient is a two-dimensional
// `matmul` that nothing else reads (not an output, no other node or update), the product reads
// no parameter that the plan updates, and the update declares its rule, the plan gives the
// gradient no task and the update's task runs the product itself. It waits for what the product
// reads and for every reader of the parameter, as the separate update did.
// - Plain SGD (`sgdRate`): the product runs with `alpha = −rate` and `beta = 1` straight into the
//   parameter, so GEMM's write-back computes `p + (−rate)·acc` while each tile is in registers and
//   the gradient is never stored. When the product sums k in one block (k within the kernel's
//   `kc`, e.g. a batch of up to a few hundred rows), each element gets `p + (−rate)·g` in one
//   multiply-add, as the separate step did, so the bits are the same; with several k blocks the
//   blocks' sums are added to the parameter one by one (the same every run and worker count, not
//   the same bits as the separate step).
// - An elementwise rule (`applyRange`): the product writes the gradient into a buffer of the task's
//   own and its epilogue (Note [GEMM epilogues]) updates each finished block's elements while the
//   block is in cache: the same bits as the separate update.
//
// Note [Gradients into the update's memory]: an update with `gradientStorage` folds the same way
// (whatever its rule, and whether or not it writes the parameter): the product runs with
// `alpha = gradientScale()` and `beta = 0` into that memory, then `apply` runs once on it. When
// the product sums k in one block, each element is `alpha·acc`, one rounding, as a hook scaling
// the plan's gradient would compute; with several k blocks the scaled block sums are added one by
// one (the same every run and worker count). A data-parallel trainer lays its gradient buckets out
// this way, so the product writes the bucket the all-reduce sends.

extension TensorScalar {
    /// `p[i] ← p[i] − rate·g[i]` with one rounding per element where the CPU has FMA.
    static func sgdStep(_ p: UnsafeMutableBufferPointer<Self>, _ g: UnsafeBufferPointer<Self>, rate: Self) {
        if p.isEmpty { return }
        if Self.self == Float.self {
            let pf = UnsafeMutableRawPointer(p.baseAddress!).assumingMemoryBound(to: Float.self)
            let gf = UnsafeRawPointer(g.baseAddress!).assumingMemoryBound(to: Float.self)
            OptimizerSteps.sgd(parameters: UnsafeMutableBufferPointer(start: pf, count: p.count),
                               gradients: UnsafeBufferPointer(start: gf, count: g.count),
                               learningRate: rate as! Float)
            return
        }
        let negative = -rate
        for i in 0..<p.count { p[i] = p[i].addingProduct(negative, g[i]) }
    }
}
