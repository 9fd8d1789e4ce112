import Testing
import Kernels
import DispatchLoop
import TestSupport

/// Column sums a product takes from its finished blocks (Note [Column sums from the product's
/// blocks]): the sums of C and of an array the epilogue writes, on every path (small, packed with
/// one and several k blocks, column groups and chunks, dot products, narrow B, transposed
/// result, empty k), within the summation error bound of the exact sums, and the same bits for
/// every worker count at every level.
@Suite struct GEMMColumnSumTests {
    struct Case: CustomStringConvertible {
        var ta = false, tb = false
        var m: Int, n: Int, k: Int
        var alpha: Float = 1, beta: Float = 0
        var description: String { "\(ta ? "Aᵀ" : "A")·\(tb ? "Bᵀ" : "B") \(m)×\(n)×\(k) alpha \(alpha) beta \(beta)" }
    }

    static let cases: [Case] = [
        Case(m: 1, n: 1, k: 1), Case(m: 7, n: 5, k: 3), Case(m: 37, n: 130, k: 21, beta: 1),
        Case(ta: true, m: 64, n: 256, k: 32),                   // a weight gradient's shape (small path)
        Case(m: 250, n: 256, k: 64), Case(ta: true, m: 300, n: 64, k: 100),  // small paths that may split
        Case(m: 256, n: 1024, k: 300), Case(m: 200, n: 300, k: 700, alpha: 0.5), Case(m: 33, n: 2100, k: 40),
        Case(m: 40, n: 800, k: 900), Case(m: 200, n: 1100, k: 120),
        Case(tb: true, m: 30, n: 77, k: 530), Case(tb: true, m: 64, n: 100, k: 1024),   // dot products
        Case(m: 32, n: 10, k: 256), Case(m: 64, n: 9, k: 1024, beta: 2),              // narrow B
        Case(ta: true, m: 256, n: 10, k: 32), Case(ta: true, m: 300, n: 7, k: 20),    // transposed result
        Case(m: 9, n: 13, k: 0, beta: 3), Case(m: 9, n: 13, k: 4, alpha: 0, beta: 1), Case(m: 0, n: 6, k: 4),
    ]

    @Test(arguments: 0..<cases.count)
    func sumsOfTheResultAndOfTheEpiloguesOutput(index: Int) throws {
        let cs = Self.cases[index], m = cs.m, n = cs.n, k = cs.k
        var rng = TestRandom(seed: UInt64(31 + index))
        let a: [Float] = rng.floats(m * k), b: [Float] = rng.floats(k * n), c0: [Float] = rng.floats(m * n)
        for level in KernelLevel.supported {
            var first: (c: [Float], sums: [Float])? = nil
            for loop in [SerialLoop()] + workerLoops {
                let run = try Self.run(cs, a: a, b: b, c0: c0, loop: loop, level: level)
                guard let reference = first else {
                    first = run
                    Self.expectNearExact(cs, run, level: level)
                    continue
                }
                #expect(run.c == reference.c && run.sums == reference.sums,
                        "\(cs) at \(level): \(loop.concurrency) workers give other bits than one")
            }
        }
    }

    /// A row stride shorter than C's rows is refused with an error naming gemm.
    @Test func shortRowStrideIsAnError() throws {
        var c = [Float](repeating: 0, count: 12), sums = [Float](repeating: 0, count: 4)
        let a = [Float](repeating: 1, count: 6), b = [Float](repeating: 1, count: 8)
        c.withUnsafeMutableBufferPointer { cp in
            sums.withUnsafeMutableBufferPointer { sp in
                let sum = GEMM.ColumnSum(of: UnsafePointer(cp.baseAddress!), rowStride: 3, into: sp.baseAddress!)
                #expect(throws: KernelError.self) {
                    try GEMM.multiply(m: 3, n: 4, k: 2, a: a, lda: 2, b: b, ldb: 4, c: cp.baseAddress!, ldc: 4,
                                      columnSums: [sum])
                }
            }
        }
    }

    /// C, then C's column sums followed by those of `relu(C) + 1` (written by the epilogue into an
    /// array of its own, rows `n + 3` apart).
    static func run(_ cs: Case, a: [Float], b: [Float], c0: [Float], loop: any ParallelLoop,
                    level: KernelLevel) throws -> (c: [Float], sums: [Float]) {
        let m = cs.m, n = cs.n, k = cs.k, ld = n + 3
        var c = c0, act = [Float](repeating: .nan, count: m * ld), sums = [Float](repeating: .nan, count: 2 * n)
        try c.withUnsafeMutableBufferPointer { cp in
            try act.withUnsafeMutableBufferPointer { ap in
                try sums.withUnsafeMutableBufferPointer { sp in
                    let out = Int(bitPattern: cp.baseAddress!), activated = Int(bitPattern: ap.baseAddress!)
                    let columnSums = [
                        GEMM.ColumnSum(of: UnsafePointer(cp.baseAddress!), rowStride: n, into: sp.baseAddress!),
                        GEMM.ColumnSum(of: UnsafePointer(ap.baseAddress!), rowStride: ld, into: sp.baseAddress! + n),
                    ]
                    try GEMM.multiply(transposeA: cs.ta, transposeB: cs.tb, m: m, n: n, k: k, alpha: cs.alpha,
                                      a: a, lda: cs.ta ? m : k, b: b, ldb: cs.tb ? k : n, beta: cs.beta,
                                      c: cp.baseAddress!, ldc: n, loop: loop, level: level,
                                      epilogue: { rows, columns in
                                          let y = UnsafePointer<Float>(bitPattern: out)!
                                          let z = UnsafeMutablePointer<Float>(bitPattern: activated)!
                                          for i in rows { for j in columns { z[i * ld + j] = Swift.max(0, y[i * n + j]) + 1 } }
                                      },
                                      columnSums: columnSums)
                }
            }
        }
        return (c, sums)
    }

    /// The sums against exact (Double) sums of the same values: within m roundings of the sum of
    /// magnitudes, and the epilogue's array as `relu(C) + 1`.
    static func expectNearExact(_ cs: Case, _ run: (c: [Float], sums: [Float]), level: KernelLevel) {
        let m = cs.m, n = cs.n
        for j in 0..<n {
            var exact = 0.0, magnitude = 0.0, exactAct = 0.0, magnitudeAct = 0.0
            for i in 0..<m {
                let x = Double(run.c[i * n + j]), y = Double(Swift.max(0, run.c[i * n + j]) + 1)
                exact += x; magnitude += abs(x); exactAct += y; magnitudeAct += abs(y)
            }
            let eps = Double(Float.ulpOfOne)
            #expect(abs(Double(run.sums[j]) - exact) <= Double(m) * eps * magnitude + 1e-30,
                    "\(cs) at \(level): column \(j) sums to \(run.sums[j]), exactly \(exact)")
            #expect(abs(Double(run.sums[n + j]) - exactAct) <= Double(m) * eps * magnitudeAct + 1e-30,
                    "\(cs) at \(level): column \(j) of the epilogue's array sums to \(run.sums[n + j]), exactly \(exactAct)")
        }
    }
}
