import Testing
import Kernels
import TestSupport

/// The block forms (`binaryRows`, `unaryRows`, `unaryGradientRows`) against the contiguous entry
/// points run row by row: the same bits, for blocks cut out of wider rows (a product's epilogue
/// on a column chunk), rows repeated by a stride of 0, and in place.
struct ElementwiseRowsTests {
    /// Rows × columns of the block, cut at `column` out of rows `width` long.
    static let blocks: [(rows: Int, columns: Int, column: Int, width: Int)] = [
        (1, 1, 0, 1), (3, 7, 2, 13), (5, 16, 16, 64), (7, 45, 3, 50), (2, 128, 0, 128), (4, 33, 31, 70),
    ]

    @Test(arguments: 0..<blocks.count)
    func binaryRowsAreTheContiguousKernelRowByRow(block: Int) {
        check(Float.self, block: block)
        check(Double.self, block: block)
    }

    func check<T: KernelFloat>(_ type: T.Type, block: Int) where T.RawSignificand: FixedWidthInteger {
        let (rows, columns, column, width) = Self.blocks[block]
        var rng = TestRandom(seed: UInt64(block + 1))
        let a: [T] = rng.floats(rows * width), b: [T] = rng.floats(rows * width, in: 0.5...2)
        let row: [T] = rng.floats(width, in: 0.5...2)
        for op in [BinaryOp.add, .sub, .mul, .div, .max, .min] {
            // (a's stride, b's stride): whole blocks, a row down the block on either side, or both.
            for (sa, sb) in [(width, width), (width, 0), (0, width), (0, 0)] {
                let pa = sa == 0 ? row : a, pb = sb == 0 ? row : b
                var expected = [T](repeating: 7, count: rows * width), got = expected
                pa.withUnsafeBufferPointer { pa in
                    pb.withUnsafeBufferPointer { pb in
                        let pa = pa.baseAddress! + column, pb = pb.baseAddress! + column
                        expected.withUnsafeMutableBufferPointer { out in
                            for r in 0..<rows {
                                Elementwise.binary(op, pa + r * sa, pb + r * sb, into: out.baseAddress! + r * width + column,
                                                   count: columns)
                            }
                        }
                        got.withUnsafeMutableBufferPointer { out in
                            Elementwise.binaryRows(op, pa, rowStride: sa, pb, rowStride: sb, into: out.baseAddress! + column,
                                                   rowStride: width, rows: rows, columns: columns)
                        }
                    }
                }
                #expect(zip(got, expected).allSatisfy { same($0, $1) },
                        "\(T.self) \(op), strides \(sa), \(sb), block \(rows)×\(columns) at \(column) of \(width)")
            }
        }
    }

    @Test(arguments: 0..<blocks.count)
    func unaryRowsAndGradientsAreTheContiguousKernelsRowByRow(block: Int) {
        checkUnary(Float.self, block: block)
        checkUnary(Double.self, block: block)
    }

    func checkUnary<T: KernelFloat>(_ type: T.Type, block: Int) where T.RawSignificand: FixedWidthInteger {
        let (rows, columns, column, width) = Self.blocks[block]
        var rng = TestRandom(seed: UInt64(100 + block))
        let x: [T] = rng.floats(rows * width, in: 0.1...2), dy: [T] = rng.floats(rows * width)
        let ops: [UnaryOp] = [.neg, .abs, .sqrt, .square, .exp, .log, .tanh, .sigmoid, .relu, .gelu, .pow(1.5)]
        for op in ops {
            var expected = x, got = x
            x.withUnsafeBufferPointer { xp in
                expected.withUnsafeMutableBufferPointer { out in
                    for r in 0..<rows {
                        let off = r * width + column
                        Elementwise.unary(op, xp.baseAddress! + off, into: out.baseAddress! + off, count: columns)
                    }
                }
            }
            // In place: out is x's own copy.
            got.withUnsafeMutableBufferPointer { p in
                Elementwise.unaryRows(op, UnsafePointer(p.baseAddress! + column), rowStride: width, into: p.baseAddress! + column,
                                      rowStride: width, rows: rows, columns: columns)
            }
            #expect(zip(got, expected).allSatisfy { same($0, $1) }, "\(T.self) \(op), block \(rows)×\(columns) at \(column) of \(width)")
        }
        let gradients: [UnaryGradient] = [.relu, .abs, .sqrt, .square, .exp, .log, .tanh, .sigmoid, .gelu, .pow(1.5)]
        for op in gradients {
            var expected = dy, got = dy
            x.withUnsafeBufferPointer { xp in
                dy.withUnsafeBufferPointer { g in
                    expected.withUnsafeMutableBufferPointer { out in
                        for r in 0..<rows {
                            let off = r * width + column
                            Elementwise.unaryGradient(op, value: xp.baseAddress! + off, gradient: g.baseAddress! + off,
                                                      into: out.baseAddress! + off, count: columns)
                        }
                    }
                }
            }
            // dx written over dy, as a fused backward does.
            x.withUnsafeBufferPointer { xp in
                got.withUnsafeMutableBufferPointer { g in
                    Elementwise.unaryGradientRows(op, value: xp.baseAddress! + column, rowStride: width,
                                                  gradient: UnsafePointer(g.baseAddress! + column), rowStride: width,
                                                  into: g.baseAddress! + column, rowStride: width, rows: rows, columns: columns)
                }
            }
            #expect(zip(got, expected).allSatisfy { same($0, $1) }, "\(T.self) \(op)′, block \(rows)×\(columns) at \(column) of \(width)")
        }
    }
}
