#if canImport(Glibc)
import Glibc
#endif
import Kernels

/// Turns the part of a graph that a plan needs into a `PlanProgram`, in five phases, each a function
/// or type of its own:
///
/// 1. prune (`prune`): the nodes the outputs and updates need;
/// 2. fuse (`PlanSteps`): one step (future task) per operation or per fused elementwise group,
///    reshapes as views of their input's buffer;
/// 3. order (`PlanOrder`): each step's dependencies (parameter updates after the reads of their
///    parameter) and a sequential order for liveness;
/// 4. plan buffers (`BufferPlan`): arena offsets by liveness, reusing freed buffers where that adds
///    no ordering;
/// 5. lower (`lower`): storage addresses, one task body per step (`Lowering`), metadata and costs.
struct PlanBuilder<Scalar: TensorScalar> {
    let graph: Graph<Scalar>
    let outputs: [Int]
    let updates: [ParameterUpdate<Scalar>]
    let loop: any ParallelLoop
    /// Whether chains of elementwise operations fuse into one task.
    let fusion: Bool

    struct Built {
        let program: PlanProgram
        let arena: UnsafeMutableRawPointer
        let arenaBytes: Int
        let unplannedBytes: Int
        /// Where each node's value lives (nil for nodes the plan does not need), by node id.
        let storage: [UnsafeMutablePointer<Scalar>?]
        let placeholders: [Int: String]
        let boxes: [ValueBox<Scalar>]
        let structure: PlanStructure
    }

    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func build() throws -> Built {
        let records = graph.records
        let needed = Self.prune(records, outputs: outputs, updates: updates)
        let folded = fusion ? Self.foldedGradients(records, needed: needed, outputs: outputs, updates: updates) : [:]
        let steps = PlanSteps(records, needed: needed, fusion: fusion, folded: Set(folded.keys))
        let absorbable = fusion ? Self.absorbableUpdates(records, needed: needed, outputs: outputs, updates: updates,
                                                         steps: steps, folded: folded) : [:]
        let order = try PlanOrder(records, steps: steps, updates: updates, folded: folded, absorbable: absorbable)
        let buffers = BufferPlan(records, needed: needed, outputs: outputs, steps: steps, order: order)
        return try lower(records, needed: needed, steps: steps, order: order, buffers: buffers, folded: folded)
    }

    /// The gradients whose updates (declared SGD or elementwise rules) run their products
    /// themselves (Note [Updates in the gradient's product]): gradient node id → update index.
    static func foldedGradients(_ records: [Graph<Scalar>.Record], needed: [Bool], outputs: [Int],
                                updates: [ParameterUpdate<Scalar>]) -> [Int: Int] {
        let readers = Self.readers(records, needed: needed, outputs: outputs, updates: updates)
        func root(_ i: Int) -> Int {
            var r = i
            while case .reshape = records[r].operation { r = records[r].inputs[0] }
            return r
        }
        // A product reading an updated parameter would make its update wait for this one (and
        // perhaps this one for it): those stay separate.
        let updated = Set(updates.filter(\.writesParameter).map { root($0.parameter.id) })
        var folded: [Int: Int] = [:]
        for (k, u) in updates.enumerated()
        where ((u.sgdRate != nil || u.applyRange != nil) && u.writesParameter) || u.gradientStorage != nil {
            let g = u.gradient.id, r = records[g]
            guard case .matmul = r.operation, r.shape.count == 2, r.shape == u.parameter.shape, readers[g] == 1,
                  r.inputs.allSatisfy({ !updated.contains(root($0)) }) else { continue }
            folded[g] = k
        }
        return folded
    }

    // Note [Bias updates in the product's step]: a bias gradient taken as a column sum by a
    // product's step (Note [Bias gradients from the product's blocks]) is complete when that step's
    // product is done. When nothing else reads it, the bias's update runs right there, at the end
    // of the step's task, rather than as a task of its own: one task less per layer, on a step
    // whose scheduling cost is of the order of the update itself (a few hundred elements). The
    // update calls its `apply` on the plan's buffer as its own task would, so the bits are the
    // same. The step then waits for every other step that reads the parameter, which is safe
    // only when those come before it (steps are in topological order, so none of them waits for
    // it): `PlanOrder` keeps the update separate otherwise.

    /// Per node id, how many needed nodes, outputs and updates read it.
    static func readers(_ records: [Graph<Scalar>.Record], needed: [Bool], outputs: [Int],
                        updates: [ParameterUpdate<Scalar>]) -> [Int] {
        var readers = [Int](repeating: 0, count: records.count)
        for i in records.indices where needed[i] { for j in records[i].inputs { readers[j] += 1 } }
        for o in outputs { readers[o] += 1 }
        for u in updates { readers[u.gradient.id] += 1 }
        return readers
    }

    /// The updates that may run at the end of the node step computing their gradient (Note [Bias
    /// updates in the product's step]): update index → that step. The gradient is a column sum a
    /// product's step takes (or a reshape of one) that nothing else reads, and the update takes
    /// the plan's buffer (no `gradientStorage`). `PlanOrder` keeps those whose parameter no later
    /// step reads.
    static func absorbableUpdates(_ records: [Graph<Scalar>.Record], needed: [Bool], outputs: [Int],
                                  updates: [ParameterUpdate<Scalar>], steps: PlanSteps<Scalar>,
                                  folded: [Int: Int]) -> [Int: Int] {
        let readers = Self.readers(records, needed: needed, outputs: outputs, updates: updates)
        var absorbable: [Int: Int] = [:]
        for (k, u) in updates.enumerated() where u.gradientStorage == nil && folded[u.gradient.id] == nil {
            var g = u.gradient.id
            var alone = readers[g] == 1
            while alone, case .reshape = records[g].operation {
                g = records[g].inputs[0]
                alone = readers[g] == 1
            }
            guard alone, steps.isColumnSum[g], steps.stepOf[g] >= 0 else { continue }
            absorbable[k] = steps.stepOf[g]
        }
        return absorbable
    }
}

/// An unsafe pointer that task closures may capture.
///
/// - Note: `@unchecked Sendable` because the memory it points to is only touched by tasks the task
///   graph orders (writers before readers; reuse only after every reader: Note [Buffer reuse under parallel execution] in BufferPlan.swift).
struct Address<Scalar>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Scalar>
    init(_ pointer: UnsafeMutablePointer<Scalar>) { self.pointer = pointer }
}

/// A value's storage and shape, as lowering sees it (always contiguous row-major).
struct Operand<Scalar> {
    let address: UnsafeMutablePointer<Scalar>
    let shape: [Int]
    var count: Int { shape.reduce(1, *) }
    var pointer: Address<Scalar> { Address(address) }
}

extension PlanBuilder {
    /// Bytes of physical memory (Int.max when the system does not say).
    static var physicalMemoryBytes: Int {
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return Int.max }
        return pages.multipliedReportingOverflow(by: size).overflow ? Int.max : pages * size
    }
}
