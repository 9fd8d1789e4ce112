import Foundation
import Testing
import Kernels
import TestSupport

struct SoftmaxTests {
    /// Double reference softmax of one row.
    static func softmax(_ row: ArraySlice<Float>) -> [Double] {
        let m = Double(row.max()!)
        let e = row.map { Foundation.exp(Double($0) - m) }
        let s = e.reduce(0, +)
        return e.map { $0 / s }
    }

    /// Relative error bound of p_j: rounding x_j - max costs |x_j - max|·eps/2 relative in exp,
    /// exp itself ≤ 2 eps (the bound documented on KernelFloat), the row sum ≤ cols·eps, the division eps/2.
    static func relativeTolerance(_ row: ArraySlice<Float>, _ j: Int, cols: Int) -> Double {
        let eps = Double(Float.ulpOfOne)
        return eps * (abs(Double(row[row.startIndex + j]) - Double(row.max()!)) + Double(cols) + 4)
    }

    @Test(arguments: [1, 7, 17, 63, 255, 257, 1000])
    func forwardAndLogForward(cols: Int) {
        let rows = 5
        var rng = TestRandom(seed: UInt64(cols))
        var x: [Float] = rng.floats(rows * cols, in: -20...20)
        x[0] = 80   // large values must not overflow
        var y = [Float](repeating: 0, count: rows * cols), ly = y
        Softmax.forward(x, into: &y, rows: rows, cols: cols)
        Softmax.logForward(x, into: &ly, rows: rows, cols: cols)
        for r in 0..<rows {
            let row = x[(r * cols) ..< ((r + 1) * cols)]
            let ref = Self.softmax(row)
            for j in 0..<cols {
                let p = ref[j]
                let tol = Self.relativeTolerance(row, j, cols: cols)
                #expect(abs(Double(y[r * cols + j]) - p) <= tol * p + 1e-44, "softmax \(r),\(j)")
                if p > 1e-30 {
                    #expect(abs(Double(ly[r * cols + j]) - Foundation.log(p)) <= 1e-6 * max(1, abs(Foundation.log(p))) + tol)
                }
            }
        }
    }

    @Test func backwardMatchesJacobian() {
        let rows = 3, cols = 17
        var rng = TestRandom(seed: 21)
        let x: [Double] = rng.floats(rows * cols, in: -3...3), dy: [Double] = rng.floats(rows * cols)
        var y = [Double](repeating: 0, count: rows * cols), dx = y, ly = y, ldx = y
        Softmax.forward(x, into: &y, rows: rows, cols: cols)
        Softmax.backward(output: y, gradient: dy, into: &dx, rows: rows, cols: cols)
        Softmax.logForward(x, into: &ly, rows: rows, cols: cols)
        Softmax.logBackward(output: ly, gradient: dy, into: &ldx, rows: rows, cols: cols)
        for r in 0..<rows {
            for i in 0..<cols {
                var want = 0.0, wantLog = 0.0
                for j in 0..<cols {
                    let yi = y[r * cols + i], yj = y[r * cols + j]
                    want += dy[r * cols + j] * yj * ((i == j ? 1 : 0) - yi)          // ∂y_j/∂x_i = y_j(δ_ij - y_i)
                    wantLog += dy[r * cols + j] * ((i == j ? 1 : 0) - yi)             // ∂ly_j/∂x_i = δ_ij - y_i
                }
                #expect(abs(dx[r * cols + i] - want) <= 1e-12)
                #expect(abs(ldx[r * cols + i] - wantLog) <= 1e-12)
            }
        }
    }

    @Test func crossEntropyForwardAndGradient() throws {
        for (rows, cols) in [(1, 1), (7, 10), (63, 17), (32, 1000)] {
            var rng = TestRandom(seed: UInt64(rows * cols))
            let x: [Float] = rng.floats(rows * cols, in: -10...10)
            let labels = (0..<rows).map { Int32(($0 * 7) % cols) }
            var probs = [Float](repeating: 0, count: rows * cols), grad = probs
            let loss = try Softmax.crossEntropy(logits: x, labels: labels, rows: rows, cols: cols, probabilities: &probs)
            try Softmax.crossEntropyGradient(logits: x, labels: labels, rows: rows, cols: cols, scale: 2, into: &grad)
            var refLoss = 0.0
            for r in 0..<rows {
                let p = Self.softmax(x[(r * cols) ..< ((r + 1) * cols)])
                refLoss -= Foundation.log(p[Int(labels[r])])
                for j in 0..<cols {
                    let g = 2 * (p[j] - (j == Int(labels[r]) ? 1 : 0)) / Double(rows)
                    #expect(abs(Double(grad[r * cols + j]) - g) <= 1e-6 * (2 / Double(rows)))
                    let tol = Self.relativeTolerance(x[(r * cols) ..< ((r + 1) * cols)], j, cols: cols)
                    #expect(abs(Double(probs[r * cols + j]) - p[j]) <= tol * p[j] + 1e-44)
                }
            }
            refLoss /= Double(rows)
            #expect(abs(Double(loss) - refLoss) <= 1e-5 * max(1, refLoss), "\(rows)×\(cols): \(loss) vs \(refLoss)")
        }
    }

    /// Rows of fewer than 32 classes run a row per vector lane in C: bit for bit what the row at a
    /// time gives (the softmax of `Softmax.forward`, which makes the row calls; the loss from the
    /// row's max, its exponentials summed in order and the log kernel), across the edges of a
    /// block of lanes, with masked (-1e9), large and NaN logits, at every kernel level.
    @Test(arguments: [1, 2, 10, 31])
    func shortRowsGiveTheRowAtATimeBits(cols: Int) throws {
        for rows in [1, 3, 15, 16, 17, 33] {
            var rng = TestRandom(seed: UInt64(rows * 100 + cols))
            var x: [Float] = rng.floats(rows * cols, in: -30...30)
            x[0] = -1e9
            if rows * cols > 5 { x[5] = 88 }
            if rows > 2 { x[2 * cols] = .nan }
            let labels = (0..<rows).map { Int32(($0 * 5) % cols) }
            var probs = [Float](repeating: 0, count: rows * cols), grad = probs, softmax = probs
            let loss = try Softmax.crossEntropy(logits: x, labels: labels, rows: rows, cols: cols, probabilities: &probs)
            try Softmax.crossEntropyGradient(logits: x, labels: labels, rows: rows, cols: cols, scale: 3, into: &grad)
            Softmax.forward(x, into: &softmax, rows: rows, cols: cols)
            #expect(probs.map(\.bitPattern) == softmax.map(\.bitPattern), "\(rows)x\(cols) probabilities")
            let factor = Float(3) / Float(rows)
            var wantGrad = softmax
            var total: Float = 0
            for r in 0..<rows {
                let row = Array(x[(r * cols)..<((r + 1) * cols)])
                var m = row[0]
                for v in row.dropFirst() { m = (m > v || m != m) ? m : v }   // the fold's max
                var e = [Float](repeating: 0, count: cols)
                Elementwise.unary(.exp, row.map { $0 - m }, into: &e, count: cols)
                var sum = e[0]
                for v in e.dropFirst() { sum += v }
                var logSum: [Float] = [0]
                Elementwise.unary(.log, [sum], into: &logSum, count: 1)
                total += -((row[Int(labels[r])] - m) - logSum[0])
                wantGrad[r * cols + Int(labels[r])] -= 1
                for j in 0..<cols { wantGrad[r * cols + j] = wantGrad[r * cols + j] * factor }
            }
            #expect(grad.map(\.bitPattern) == wantGrad.map(\.bitPattern), "\(rows)x\(cols) gradient")
            let want = total / Float(rows)
            #expect(loss.bitPattern == want.bitPattern || (loss.isNaN && want.isNaN), "\(rows)x\(cols): \(loss) vs \(want)")
        }
    }

    @Test func badLabelsThrow() {
        #expect(throws: KernelError.self) {
            _ = try Softmax.crossEntropy(logits: [Float](repeating: 0, count: 6), labels: [0, 3], rows: 2, cols: 3)
        }
        var g = [Float](repeating: 0, count: 6)
        #expect(throws: KernelError.self) {
            try Softmax.crossEntropyGradient(logits: [Float](repeating: 0, count: 6), labels: [-1, 0], rows: 2, cols: 3, into: &g)
        }
    }

    @Test func nanRowStaysNaN() throws {
        var x: [Float] = [1, 2, 3, 4, .nan, 6]
        var y = [Float](repeating: 0, count: 6)
        Softmax.forward(x, into: &y, rows: 2, cols: 3)
        #expect(y[0...2].allSatisfy { !$0.isNaN } && y[3...5].allSatisfy { $0.isNaN })
        x[4] = 5
        let loss = try Softmax.crossEntropy(logits: [1, .nan, 3], labels: [0], rows: 1, cols: 3)
        #expect(loss.isNaN)
    }

    @Test func sameBitsForAnyWorkerCount() throws {
        let rows = 512, cols = 100
        var rng = TestRandom(seed: 31)
        let x: [Float] = rng.floats(rows * cols, in: -5...5)
        let labels = (0..<rows).map { Int32($0 % cols) }
        func run(_ loop: any ParallelLoop) throws -> ([Float], [Float], Float) {
            var y = [Float](repeating: 0, count: rows * cols), g = y
            Softmax.logForward(x, into: &y, rows: rows, cols: cols, loop: loop)
            try Softmax.crossEntropyGradient(logits: x, labels: labels, rows: rows, cols: cols, into: &g, loop: loop)
            let loss = try Softmax.crossEntropy(logits: x, labels: labels, rows: rows, cols: cols, loop: loop)
            return (y, g, loss)
        }
        let serial = try run(SerialLoop())
        for loop in workerLoops {
            let p = try run(loop)
            #expect(p.0 == serial.0 && p.1 == serial.1 && p.2 == serial.2)
        }
    }
}
