import Foundation

/// The element types the kernels run on: `Float` (the fast path) and `Double` (used by gradient
/// checks, where accuracy matters more than speed).
///
/// Each type names the SIMD vector its loops use (`SIMD8<Float>`, `SIMD4<Double>`: one AVX2
/// register) and supplies the vectorized elementary functions. `Float` implements them with
/// polynomial approximations (see `VectorMath.swift` for the measured error bounds); `Double`
/// calls the C library per lane, because its users want accuracy, not throughput.
///
/// ```swift
/// let v = Float.Vector(repeating: 1)
/// let e = Float.exp(v)          // SIMD8<Float>, each lane ≈ 2.7182817
/// ```
public protocol KernelFloat: BinaryFloatingPoint, SIMDScalar, Sendable
where Vector.Scalar == Self {
    /// One SIMD register of this type (256 bits on AVX2).
    associatedtype Vector: SIMD

    /// `e^x` per lane; `exp(-inf) = 0`, `exp(+inf) = +inf`, NaN stays NaN.
    static func exp(_ x: Vector) -> Vector
    /// Natural logarithm per lane; `log(0) = -inf`, `log(x < 0) = NaN`, NaN stays NaN.
    static func log(_ x: Vector) -> Vector
    /// Hyperbolic tangent per lane; `tanh(±inf) = ±1`, NaN stays NaN.
    static func tanh(_ x: Vector) -> Vector
    /// Logistic function `1 / (1 + e^-x)` per lane, accurate for large negative `x` too.
    static func sigmoid(_ x: Vector) -> Vector
    /// GELU in its tanh form, `0.5 x (1 + tanh(√(2/π) (x + 0.044715 x³)))`, per lane.
    static func gelu(_ x: Vector) -> Vector
    /// `x^p` per lane (C library `pow` semantics).
    static func pow(_ x: Vector, _ p: Self) -> Vector
}

extension Float: KernelFloat {
    public typealias Vector = SIMD8<Float>
    @inline(__always) public static func exp(_ x: Vector) -> Vector { VectorMath.exp(x) }
    @inline(__always) public static func log(_ x: Vector) -> Vector { VectorMath.log(x) }
    @inline(__always) public static func tanh(_ x: Vector) -> Vector { VectorMath.tanh(x) }
    @inline(__always) public static func sigmoid(_ x: Vector) -> Vector { VectorMath.sigmoid(x) }
    @inline(__always) public static func gelu(_ x: Vector) -> Vector { VectorMath.gelu(x) }
    public static func pow(_ x: Vector, _ p: Float) -> Vector {
        if p == 2 { return x * x }
        if p == 1 { return x }
        if p == 0.5 { return x.squareRoot() }
        var r = Vector()
        for i in 0..<Vector.scalarCount { r[i] = Foundation.powf(x[i], p) }
        return r
    }
}

extension Double: KernelFloat {
    public typealias Vector = SIMD4<Double>
    @inline(__always) static func perLane(_ x: Vector, _ f: (Double) -> Double) -> Vector {
        Vector(f(x[0]), f(x[1]), f(x[2]), f(x[3]))
    }
    public static func exp(_ x: Vector) -> Vector { perLane(x) { Foundation.exp($0) } }
    public static func log(_ x: Vector) -> Vector { perLane(x) { Foundation.log($0) } }
    public static func tanh(_ x: Vector) -> Vector { perLane(x) { Foundation.tanh($0) } }
    public static func sigmoid(_ x: Vector) -> Vector { perLane(x) { ReferenceMath.sigmoid($0) } }
    public static func gelu(_ x: Vector) -> Vector { perLane(x) { ReferenceMath.gelu($0) } }
    public static func pow(_ x: Vector, _ p: Double) -> Vector {
        if p == 2 { return x * x }
        return perLane(x) { Foundation.pow($0, p) }
    }
}

/// Double-precision scalar definitions of the elementary functions: the reference the `Float`
/// approximations are measured against, and the `Double` implementation.
public enum ReferenceMath {
    /// `1 / (1 + e^-x)`, computed as `e^x / (1 + e^x)` for negative `x` so tiny results stay accurate.
    public static func sigmoid(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
        let e = Foundation.exp(x)
        return e / (1 + e)
    }

    /// GELU (tanh form) written as `x · sigmoid(2u)`, `u = √(2/π)(x + 0.044715x³)`, which equals
    /// `0.5x(1 + tanh u)` but does not cancel for large negative `x`.
    public static func gelu(_ x: Double) -> Double {
        if x.isNaN { return x }
        if x == -.infinity { return 0 }
        if x == .infinity { return x }
        let u = 0.7978845608028654 * (x + 0.044715 * x * x * x)
        return x * sigmoid(2 * u)
    }

    /// Derivative of the tanh-form GELU with respect to its input.
    public static func geluDerivative(_ x: Double) -> Double {
        if x.isNaN { return x }
        let c = 0.7978845608028654
        let u = c * (x + 0.044715 * x * x * x)
        let t = Foundation.tanh(u)
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * c * (1 + 3 * 0.044715 * x * x)
    }
}
