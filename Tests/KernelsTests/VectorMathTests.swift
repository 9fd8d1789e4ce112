import Foundation
import Testing
import Kernels

/// Maximum relative errors of the vectorized Float functions against Double libm over more than
/// 10^6 inputs: every 4096th bit pattern (all signs and exponents: denormals, ±0, ±inf, NaNs),
/// plus 10^6 evenly spaced points over the range where each function is not saturated.
struct VectorMathTests {
    /// Inputs: 2^20 bit patterns covering the whole float line, a dense sweep of [-lo, hi], specials.
    static func inputs(dense range: ClosedRange<Float>) -> [Float] {
        var xs: [Float] = []
        xs.reserveCapacity(2_100_000)
        var bits: UInt32 = 0
        repeat {
            xs.append(Float(bitPattern: bits))
            bits &+= 4096
        } while bits != 0
        let n = 1_000_000
        for i in 0..<n {
            xs.append(range.lowerBound + (range.upperBound - range.lowerBound) * Float(i) / Float(n - 1))
        }
        xs += [0, -0, .infinity, -.infinity, .nan, Float.leastNonzeroMagnitude, -Float.leastNonzeroMagnitude,
               Float.leastNormalMagnitude, Float.greatestFiniteMagnitude, -Float.greatestFiniteMagnitude, 1e-30, -1e-30]
        return xs
    }

    struct ErrorReport { var maxRelative = 0.0, worstInput: Float = 0, failures: [String] = [] }

    /// Compares f(x) with the Double reference: NaN iff the reference is NaN, exact infinities and
    /// signs, relative error for normal results, absolute error ≤ 4·2^-149 (plus the relative bound
    /// times |result|) for denormal or zero ones.
    static func measure(_ op: UnaryOp, _ xs: [Float], _ reference: (Double) -> Double,
                        relativeBound: (Float) -> Double,
                        denormalUlps: (Float) -> Double = { _ in 4 }) -> ErrorReport {
        var ys = [Float](repeating: 0, count: xs.count)
        Elementwise.unary(op, xs, into: &ys, count: xs.count)
        var report = ErrorReport()
        for (x, y) in zip(xs, ys) {
            let r = reference(Double(x))
            func fail(_ why: String) { if report.failures.count < 5 { report.failures.append("\(op)(\(x)) = \(y), want \(r): \(why)") } }
            if r.isNaN { if !y.isNaN { fail("expected NaN") }; continue }
            if y.isNaN { fail("unexpected NaN"); continue }
            let rf = Float(r)   // the correctly rounded float (inf when it overflows)
            if rf.isInfinite { if y != rf { fail("expected infinity") }; continue }
            if abs(r) < Double(Float.leastNormalMagnitude) {
                if abs(Double(y) - r) > denormalUlps(x) * Double(Float.leastNonzeroMagnitude) + relativeBound(x) * abs(r) { fail("denormal range") }
                continue
            }
            let rel = abs(Double(y) - r) / abs(r)
            if rel > report.maxRelative { report.maxRelative = rel; report.worstInput = x }
            if rel > relativeBound(x) { fail("relative error \(rel)") }
        }
        return report
    }

    static func check(_ op: UnaryOp, dense: ClosedRange<Float>, _ reference: @escaping (Double) -> Double,
                      denormalUlps: @escaping (Float) -> Double = { _ in 4 }, bound: @escaping (Float) -> Double) {
        let report = measure(op, inputs(dense: dense), reference, relativeBound: bound, denormalUlps: denormalUlps)
        print("max relative error of \(op): \(report.maxRelative) at x = \(report.worstInput)")
        #expect(report.failures.isEmpty, "\(report.failures)")
    }

    // The bounds asserted here are the ones documented on `KernelFloat` (Sources/Kernels/KernelFloat.swift),
    // at whatever level runs (scripts/test runs this suite at every level).
    @Test func exp() { Self.check(.exp, dense: -104...89, Foundation.exp) { _ in 2.5e-7 } }
    @Test func log() { Self.check(.log, dense: 0...100, Foundation.log) { _ in 2e-7 } }
    @Test func tanh() { Self.check(.tanh, dense: -10...10, Foundation.tanh) { _ in 3e-7 } }
    @Test func sigmoid() { Self.check(.sigmoid, dense: -110...30, ReferenceMath.sigmoid) { _ in 4e-7 } }
    @Test func gelu() {
        // gelu = x·sigmoid(2u): sigmoid's denormal rounding is scaled by |x|.
        Self.check(.gelu, dense: -15...10, ReferenceMath.gelu, denormalUlps: { 4 * max(1, Double(abs($0))) }) { x in
            let x = Double(x)
            return 3e-7 + 2e-7 * abs(1.5957691216057308 * x + 0.07135481627260025 * x * x * x)
        }
    }

    /// The vectorized square root is correctly rounded: bitwise equal to `Float.squareRoot()`
    /// (including ±0, denormals, inf, NaN and negative inputs).
    @Test func sqrtIsCorrectlyRounded() {
        let xs = Self.inputs(dense: 0...1e6)
        var ys = [Float](repeating: 0, count: xs.count)
        Elementwise.unary(.sqrt, xs, into: &ys, count: xs.count)
        var bad: [Float] = []
        for (x, y) in zip(xs, ys) {
            let want = x.squareRoot()
            if !(y.bitPattern == want.bitPattern || (y.isNaN && want.isNaN)) { bad.append(x) }
        }
        #expect(bad.isEmpty, "sqrt differs for \(bad.prefix(5))")
    }

    /// NaN in, NaN out for every operation; relu and max keep NaN.
    @Test func nanPropagates() {
        let ops: [UnaryOp] = [.neg, .abs, .sqrt, .square, .exp, .log, .tanh, .sigmoid, .relu, .gelu, .pow(3)]
        for op in ops {
            var y: [Float] = [0, 0, 0]
            Elementwise.unary(op, [1, .nan, 2], into: &y, count: 3)
            #expect(y[1].isNaN, "\(op)")
        }
    }
}
