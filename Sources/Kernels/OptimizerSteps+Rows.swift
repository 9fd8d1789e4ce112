import CKernels

extension OptimizerSteps {
    // Note [Optimizer steps on blocks of rows]: an optimizer's update may run in the write-back of
    // its gradient's product, block by block as the product finishes them (Note [Updates in the
    // gradient's product] in Tensor). On several workers such a product hands out column chunks,
    // so a block is narrower than the parameter's rows, and the update ran once per row of the
    // block: through the plan's closure, the optimizer's dispatch and the step's constants (Adam's
    // bias corrections), each paid for 16-128 elements. The block forms compute the constants once
    // and call the kernel row after row. Every element sees the operations of the contiguous
    // entry points (the kernels' results never depend on an element's position): the same bits.
    // The MLP step (784-1024-1024-10) with Adam through `OptimizerState`'s hooks, two plans
    // alternated step by step in one process (2-vCPU Zen 3, new/old medians of the per-step
    // ratios, 150 steps): 2 workers batch 256 0.874 and 0.886, batch 64 0.824 and 0.829 (two
    // plans of the same form: 1.015); 1 worker (whole rows, unchanged) 1.000.

    /// Elements `columns` of rows `rows` of row-major arrays that share one layout (the parameter,
    /// its gradient and its optimizer state): element (r, j) at `r · rowLength + j`.
    public struct RowBlock: Sendable, Equatable {
        public let rows: Range<Int>
        public let columns: Range<Int>
        public let rowLength: Int

        /// `columns` must lie within `0..<rowLength`, `rows` start at 0 or later.
        public init(rows: Range<Int>, columns: Range<Int>, rowLength: Int) {
            precondition(rows.lowerBound >= 0 && columns.lowerBound >= 0 && columns.upperBound <= rowLength,
                         "OptimizerSteps.RowBlock: rows \(rows), columns \(columns) outside rows of \(rowLength)")
            self.rows = rows
            self.columns = columns
            self.rowLength = rowLength
        }

        /// One past the last element the block touches (0 when it is empty): arrays must be at
        /// least this long.
        public var end: Int {
            rows.isEmpty || columns.isEmpty ? 0 : (rows.upperBound - 1) * rowLength + columns.upperBound
        }

        /// Calls `body` with each row's first element (its offset in the arrays) and the row's
        /// element count, row after row; not at all when the block is empty.
        @inline(__always)
        public func forEachRow(_ body: (_ offset: Int, _ count: Int) -> Void) {
            guard !columns.isEmpty else { return }
            for r in rows { body(r * rowLength + columns.lowerBound, columns.count) }
        }
    }

    /// `sgd` on a block of rows of `p` and `g` (Note [Optimizer steps on blocks of rows]).
    public static func sgd(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>, block: RowBlock,
        learningRate: Float, weightDecay: Float = 0
    ) {
        let kernel = currentKernels.pointee.sgd!
        block.forEachRow { offset, count in kernel(p + offset, g + offset, count, -learningRate, weightDecay) }
    }

    /// `momentum` on a block of rows of `p`, `g` and `velocity` (Note [Optimizer steps on blocks
    /// of rows]).
    public static func momentum(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        velocity: UnsafeMutablePointer<Float>, block: RowBlock,
        learningRate: Float, momentum: Float, nesterov: Bool = false, weightDecay: Float = 0
    ) {
        let kernel = currentKernels.pointee.momentum!
        block.forEachRow { offset, count in
            kernel(p + offset, g + offset, velocity + offset, count, -learningRate, momentum, nesterov ? 1 : 0, weightDecay)
        }
    }

    /// `adam` on a block of rows of `p`, `g`, `m` and `v`, its bias corrections computed once
    /// (Note [Optimizer steps on blocks of rows]). `step` counts from 1.
    public static func adam(
        parameters p: UnsafeMutablePointer<Float>, gradients g: UnsafePointer<Float>,
        firstMoment m: UnsafeMutablePointer<Float>, secondMoment v: UnsafeMutablePointer<Float>, block: RowBlock,
        step: Int, learningRate: Float, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8,
        weightDecay: Float = 0, decoupledWeightDecay: Bool = false
    ) {
        precondition(step >= 1, "OptimizerSteps.adam: step counts from 1, got \(step)")
        var args = adamArguments(step: step, learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                 weightDecay: weightDecay, decoupledWeightDecay: decoupledWeightDecay)
        let kernel = currentKernels.pointee.adam!
        block.forEachRow { offset, count in kernel(p + offset, g + offset, m + offset, v + offset, count, &args) }
    }
}
