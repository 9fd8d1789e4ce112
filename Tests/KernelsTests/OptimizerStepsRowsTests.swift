import Testing
import Kernels
import TestSupport

/// The block forms of the optimizer steps (Note [Optimizer steps on blocks of rows]) against the
/// contiguous entry points run row by row: the same bits in the block, and nothing written
/// outside it (neither the parameter nor the optimizer's state).
struct OptimizerStepsRowsTests {
    /// Rows `rows` of a block of `columns` columns starting at `column`, in arrays of 9 rows of
    /// `width`.
    static let blocks: [(rows: Range<Int>, columns: Int, column: Int, width: Int)] = [
        (0..<1, 1, 0, 1), (2..<5, 7, 2, 13), (1..<6, 16, 16, 64), (0..<9, 45, 3, 50), (3..<3, 8, 0, 16), (4..<6, 0, 5, 20),
    ]

    enum Rule: CaseIterable { case sgd, sgdDecay, momentum, nesterov, adam, adamw }

    @Test(arguments: 0..<blocks.count)
    func blocksAreTheContiguousStepsRowByRow(block: Int) {
        let (rows, columns, column, width) = Self.blocks[block]
        let shape = OptimizerSteps.RowBlock(rows: rows, columns: column..<(column + columns), rowLength: width)
        let count = 9 * width
        var rng = TestRandom(seed: UInt64(block + 11))
        let p0: [Float] = rng.floats(count), g: [Float] = rng.floats(count)
        let m0: [Float] = rng.floats(count, in: -0.1...0.1), v0: [Float] = rng.floats(count, in: 0...0.01)
        for rule in Rule.allCases {
            var (pe, me, ve) = (p0, m0, v0), (pg, mg, vg) = (p0, m0, v0)
            g.withUnsafeBufferPointer { g in
                // Expected: the contiguous entry points, one call per row of the block.
                for r in rows where columns > 0 {
                    let start = r * width + column, range = start..<(start + columns)
                    pe.withUnsafeMutableBufferPointer { p in
                        me.withUnsafeMutableBufferPointer { m in
                            ve.withUnsafeMutableBufferPointer { v in
                                Self.contiguous(rule, UnsafeMutableBufferPointer(rebasing: p[range]),
                                                UnsafeBufferPointer(rebasing: g[range]),
                                                UnsafeMutableBufferPointer(rebasing: m[range]),
                                                UnsafeMutableBufferPointer(rebasing: v[range]))
                            }
                        }
                    }
                }
                pg.withUnsafeMutableBufferPointer { p in
                    mg.withUnsafeMutableBufferPointer { m in
                        vg.withUnsafeMutableBufferPointer { v in
                            Self.block(rule, p.baseAddress!, g.baseAddress!, m.baseAddress!, v.baseAddress!, shape)
                        }
                    }
                }
            }
            let same = pe.map(\.bitPattern) == pg.map(\.bitPattern) && me.map(\.bitPattern) == mg.map(\.bitPattern)
                && ve.map(\.bitPattern) == vg.map(\.bitPattern)
            #expect(same, "\(rule), block \(block)")
            if !rows.isEmpty && columns > 0 {
                let changed = pg != p0   // (not inside #expect: it would print the arrays)
                #expect(changed, "\(rule), block \(block): the block form changed nothing")
            }
        }
    }

    static func contiguous(_ rule: Rule, _ p: UnsafeMutableBufferPointer<Float>, _ g: UnsafeBufferPointer<Float>,
                           _ m: UnsafeMutableBufferPointer<Float>, _ v: UnsafeMutableBufferPointer<Float>) {
        switch rule {
        case .sgd: OptimizerSteps.sgd(parameters: p, gradients: g, learningRate: 0.1)
        case .sgdDecay: OptimizerSteps.sgd(parameters: p, gradients: g, learningRate: 0.1, weightDecay: 0.01)
        case .momentum: OptimizerSteps.momentum(parameters: p, gradients: g, velocity: m, learningRate: 0.1, momentum: 0.9)
        case .nesterov:
            OptimizerSteps.momentum(parameters: p, gradients: g, velocity: m, learningRate: 0.1, momentum: 0.9,
                                    nesterov: true, weightDecay: 0.02)
        case .adam:
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: m, secondMoment: v, step: 3, learningRate: 0.01,
                                weightDecay: 0.01)
        case .adamw:
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: m, secondMoment: v, step: 7, learningRate: 0.01,
                                weightDecay: 0.1, decoupledWeightDecay: true)
        }
    }

    static func block(_ rule: Rule, _ p: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>,
                      _ m: UnsafeMutablePointer<Float>, _ v: UnsafeMutablePointer<Float>, _ b: OptimizerSteps.RowBlock) {
        switch rule {
        case .sgd: OptimizerSteps.sgd(parameters: p, gradients: g, block: b, learningRate: 0.1)
        case .sgdDecay: OptimizerSteps.sgd(parameters: p, gradients: g, block: b, learningRate: 0.1, weightDecay: 0.01)
        case .momentum: OptimizerSteps.momentum(parameters: p, gradients: g, velocity: m, block: b, learningRate: 0.1, momentum: 0.9)
        case .nesterov:
            OptimizerSteps.momentum(parameters: p, gradients: g, velocity: m, block: b, learningRate: 0.1, momentum: 0.9,
                                    nesterov: true, weightDecay: 0.02)
        case .adam:
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: m, secondMoment: v, block: b, step: 3,
                                learningRate: 0.01, weightDecay: 0.01)
        case .adamw:
            OptimizerSteps.adam(parameters: p, gradients: g, firstMoment: m, secondMoment: v, block: b, step: 7,
                                learningRate: 0.01, weightDecay: 0.1, decoupledWeightDecay: true)
        }
    }

    @Test func blockEnds() {
        #expect(OptimizerSteps.RowBlock(rows: 2..<5, columns: 3..<7, rowLength: 10).end == 47)
        #expect(OptimizerSteps.RowBlock(rows: 2..<2, columns: 3..<7, rowLength: 10).end == 0)
        #expect(OptimizerSteps.RowBlock(rows: 0..<4, columns: 0..<0, rowLength: 10).end == 0)
    }
}
