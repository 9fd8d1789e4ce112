import Foundation
import Testing
import Kernels
import TestSupport

/// Scalar reference of each binary op with the kernels' NaN rule for max/min.
func referenceBinary<T: KernelFloat>(_ op: BinaryOp, _ a: T, _ b: T) -> T {
    switch op {
    case .add: return a + b
    case .sub: return a - b
    case .mul: return a * b
    case .div: return a / b
    case .max: return a.isNaN || b.isNaN ? .nan : (a > b ? a : b)
    case .min: return a.isNaN || b.isNaN ? .nan : (a < b ? a : b)
    }
}

/// Same value, treating NaN as equal to NaN.
func same<T: KernelFloat>(_ x: T, _ y: T) -> Bool { x == y || (x.isNaN && y.isNaN) }

/// Reads `shape` through `strides` into a row-major array (the reference for strided kernels).
func gather<T>(_ base: [T], offset: Int = 0, shape: [Int], strides: [Int]) -> [T] {
    let count = shape.reduce(1, *)
    var out: [T] = []
    out.reserveCapacity(count)
    for flat in 0..<count {
        var r = flat, off = offset
        for d in shape.indices.reversed() {
            off += (r % shape[d]) * strides[d]
            r /= shape[d]
        }
        out.append(base[off])
    }
    return out
}

struct ElementwiseTests {
    @Test(arguments: [1, 7, 17, 63, 255, 257, 1000])
    func contiguousBinaryMatchesReference(count: Int) {
        var rng = TestRandom(seed: UInt64(count))
        var a: [Float] = rng.floats(count), b: [Float] = rng.floats(count, in: 0.5...2)
        if count > 3 { a[2] = .nan; b[3] = .nan }
        for op in BinaryOp.allCases {
            var out = [Float](repeating: 0, count: count)
            Elementwise.binary(op, a, b, into: &out, count: count)
            #expect(zip(out, zip(a, b)).allSatisfy { same($0, referenceBinary(op, $1.0, $1.1)) }, "\(op) n=\(count)")
            Elementwise.binary(op, a, scalar: 1.5, into: &out, count: count)
            #expect(zip(out, a).allSatisfy { same($0, referenceBinary(op, $1, 1.5)) }, "\(op) scalar")
            Elementwise.binary(op, a, scalar: 1.5, scalarFirst: true, into: &out, count: count)
            #expect(zip(out, a).allSatisfy { same($0, referenceBinary(op, 1.5, $1)) }, "\(op) scalar first")
        }
    }

    /// Each kind of broadcasting and layout: rows, columns, scalar, both sides, leading dims,
    /// transposed and negatively strided views.
    @Test func broadcastingKinds() throws {
        struct Case { var shape: [Int]; var aShape: [Int]; var bShape: [Int]; var aStrides: [Int]? = nil; var bStrides: [Int]? = nil }
        let cases: [Case] = [
            Case(shape: [63, 17], aShape: [63, 17], bShape: [17]),            // bias over rows
            Case(shape: [63, 17], aShape: [63, 17], bShape: [63, 1]),         // per-row scale
            Case(shape: [7, 255], aShape: [1], bShape: [7, 255]),             // scalar on the left
            Case(shape: [17, 4, 63], aShape: [17, 1, 63], bShape: [1, 4, 1]), // both sides
            Case(shape: [3, 5, 257], aShape: [5, 257], bShape: [3, 1, 1]),    // missing leading dims
            Case(shape: [1000], aShape: [1000], bShape: [1000]),
            Case(shape: [2, 1, 7], aShape: [2, 1, 7], bShape: [7]),
        ]
        var rng = TestRandom(seed: 3)
        for c in cases {
            let aData: [Float] = rng.floats(c.aShape.reduce(1, *)), bData: [Float] = rng.floats(c.bShape.reduce(1, *), in: 0.5...2)
            let sa = try Broadcast.strides(of: c.aShape, to: c.shape), sb = try Broadcast.strides(of: c.bShape, to: c.shape)
            let ra = gather(aData, shape: c.shape, strides: sa), rb = gather(bData, shape: c.shape, strides: sb)
            #expect(try Broadcast.shape(c.aShape, c.bShape) == c.shape)
            for op in BinaryOp.allCases {
                var out = [Float](repeating: 0, count: ra.count)
                try Elementwise.binary(op, shape: c.shape, aData, strides: sa, bData, strides: sb, into: &out)
                #expect(zip(out, zip(ra, rb)).allSatisfy { same($0, referenceBinary(op, $1.0, $1.1)) }, "\(op) \(c.shape)")
            }
        }
    }

    @Test func nonContiguousViews() throws {
        var rng = TestRandom(seed: 4)
        let base: [Float] = rng.floats(63 * 17)
        // a: transpose of a 63×17 matrix (17×63 view), b: the same matrix read backwards.
        let shape = [17, 63]
        let sa = [1, 17]
        let bOffset = 63 * 17 - 1, sb = [-63, -1]
        let ra = gather(base, shape: shape, strides: sa), rb = gather(base, offset: bOffset, shape: shape, strides: sb)
        var out = [Float](repeating: 0, count: 17 * 63)
        try base.withUnsafeBufferPointer { p in
            try Elementwise.binary(.sub, shape: shape, p.baseAddress!, strides: sa, p.baseAddress! + bOffset, strides: sb, into: &out)
        }
        #expect(out == zip(ra, rb).map { $0 - $1 })
    }

    @Test func badShapesThrow() {
        var out = [Float](repeating: 0, count: 4)
        #expect(throws: KernelError.self) {
            try Elementwise.binary(.add, shape: [2, 2], [1, 2, 3, 4], strides: [2], [1, 2, 3, 4], strides: [2, 1], into: &out)
        }
        #expect(throws: KernelError.self) { try Broadcast.shape([2, 3], [4, 3]) }
        #expect(throws: KernelError.self) { try Broadcast.strides(of: [3], to: [4]) }
    }

    @Test func sameBitsForAnyWorkerCount() throws {
        let n = 300_001
        var rng = TestRandom(seed: 5)
        let a: [Float] = rng.floats(n, in: -5...5), b: [Float] = rng.floats(n)
        func run(_ loop: any ParallelLoop) throws -> [[Float]] {
            var results: [[Float]] = []
            var out = [Float](repeating: 0, count: n)
            for op in [UnaryOp.exp, .tanh, .gelu, .sigmoid] {
                Elementwise.unary(op, a, into: &out, count: n, loop: loop)
                results.append(out)
            }
            Elementwise.binary(.mul, a, b, into: &out, count: n, loop: loop)
            results.append(out)
            try Elementwise.binary(.add, shape: [1000, 300], a, strides: [300, 1], b, strides: [0, 1], into: &out, loop: loop)
            results.append(out)
            Elementwise.unaryGradient(.gelu, value: a, gradient: b, into: &out, count: n, loop: loop)
            results.append(out)
            return results
        }
        let serial = try run(SerialLoop())
        for loop in workerLoops { #expect(try run(loop) == serial, "\(loop.concurrency) workers") }
    }

    @Test(arguments: [1, 7, 17, 63, 255, 257, 1000])
    func simpleUnaryOpsExact(count: Int) {
        var rng = TestRandom(seed: UInt64(count) + 100)
        let x: [Float] = rng.floats(count, in: -3...3)
        let ops: [(UnaryOp, (Float) -> Float)] = [
            (.neg, { -$0 }), (.abs, { abs($0) }), (.square, { $0 * $0 }), (.relu, { $0 > 0 ? $0 : 0 }),
            (.sqrt, { $0.squareRoot() }), (.pow(2), { $0 * $0 }), (.pow(0.5), { $0.squareRoot() }),
        ]
        for (op, f) in ops {
            var y = [Float](repeating: 0, count: count)
            Elementwise.unary(op, x, into: &y, count: count)
            #expect(zip(y, x).allSatisfy { same($0, f($1)) }, "\(op)")
        }
        var y = [Float](repeating: 0, count: count)
        Elementwise.unary(.pow(3), x, into: &y, count: count)
        #expect(zip(y, x).allSatisfy { abs(Double($0) - Foundation.pow(Double($1), 3)) <= 1e-6 * max(1, abs(Double($0))) })
    }

    /// Each derivative helper against the derivative of the Double reference function
    /// (central differences for the transcendental ones, exact formulas otherwise).
    @Test func gradientsMatchDerivatives() {
        let count = 257
        var rng = TestRandom(seed: 8)
        let x: [Double] = rng.floats(count, in: -3...3).map { $0 == 0 ? 0.5 : $0 }
        let xPos = x.map { abs($0) + 0.1 }
        let dy: [Double] = rng.floats(count)
        func check(_ g: UnaryGradient, value: [Double], _ derivative: (Int) -> Double, tolerance: Double = 1e-12) {
            var dx = [Double](repeating: 0, count: count)
            Elementwise.unaryGradient(g, value: value, gradient: dy, into: &dx, count: count)
            for i in 0..<count {
                let want = dy[i] * derivative(i)
                #expect(abs(dx[i] - want) <= tolerance * max(1, abs(want)), "\(g) at \(i): \(dx[i]) vs \(want)")
            }
        }
        func numeric(_ f: (Double) -> Double, _ t: Double) -> Double { let h = 1e-6; return (f(t + h) - f(t - h)) / (2 * h) }
        check(.relu, value: x, { x[$0] > 0 ? 1 : 0 })
        check(.abs, value: x, { x[$0] > 0 ? 1 : -1 })
        check(.square, value: x, { 2 * x[$0] })
        check(.sqrt, value: xPos.map { $0.squareRoot() }, { 0.5 / xPos[$0].squareRoot() })
        check(.exp, value: x.map { Foundation.exp($0) }, { Foundation.exp(x[$0]) })
        check(.log, value: xPos, { 1 / xPos[$0] })
        check(.tanh, value: x.map { Foundation.tanh($0) }, { 1 - Foundation.pow(Foundation.tanh(x[$0]), 2) })
        check(.sigmoid, value: x.map { ReferenceMath.sigmoid($0) }, { numeric(ReferenceMath.sigmoid, x[$0]) }, tolerance: 1e-8)
        check(.gelu, value: x, { numeric(ReferenceMath.gelu, x[$0]) }, tolerance: 1e-8)
        check(.gelu, value: x, { ReferenceMath.geluDerivative(x[$0]) }, tolerance: 1e-12)
        check(.pow(3), value: x, { 3 * x[$0] * x[$0] })
    }

    /// One fused multiply-add per element on levels that have FMA, a multiply then an add on the
    /// others (the x86-64 baseline), in every position (whole vectors and the tail alike).
    @Test(arguments: [1, 7, 17, 63, 255, 257, 1000])
    func multiplyAddRoundsAsItsLevelSays(count: Int) {
        var rng = TestRandom(seed: UInt64(count) + 7)
        let x: [Float] = rng.floats(count), y0: [Float] = rng.floats(count)
        var y = y0
        Elementwise.multiplyAdd(x, scale: -0.3, into: &y, count: count)
        let fused = KernelLevel.current.fusesMultiplyAdd
        let want = zip(x, y0).map { x, y0 in fused ? y0.addingProduct(-0.3, x) : y0 + Float(-0.3) * x }
        #expect(y == want, "level \(KernelLevel.current)")
    }

    @Test func reluAndMaxKeepNaN() {
        var y: [Float] = [0, 0]
        Elementwise.unary(.relu, [Float.nan, -1], into: &y, count: 2)
        #expect(y[0].isNaN && y[1] == 0)
        Elementwise.binary(.max, [Float.nan, 1], [1, .nan], into: &y, count: 2)
        #expect(y[0].isNaN && y[1].isNaN)
        Elementwise.binary(.min, [Float.nan, 1], [1, .nan], into: &y, count: 2)
        #expect(y[0].isNaN && y[1].isNaN)
        Elementwise.unaryGradient(.relu, value: [Float.nan, 2], gradient: [1, 1], into: &y, count: 2)
        #expect(y[0].isNaN && y[1] == 1)
    }
}
