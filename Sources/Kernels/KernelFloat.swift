import Foundation

/// The element types the kernels run on: `Float` (the fast path) and `Double` (used by gradient
/// checks, where accuracy matters more than speed).
///
/// Each type names the SIMD vector its Swift loops use (`SIMD8<Float>`, `SIMD4<Double>`) and
/// supplies the vectorized elementary functions. `Float` implements them with polynomial
/// approximations in the C kernels of `KernelLevel.current` (array loops call those directly; the
/// per-vector functions here make one call per vector, for occasional use); `Double` calls the C
/// library per lane, because its users want accuracy, not throughput.
///
/// The Float approximations (Cody–Waite range reduction and short polynomials with Cephes
/// coefficients; no tables, no branches) have these maximum relative errors against Double libm,
/// measured by `KernelsTests/VectorMathTests` at every level over more than 10^6 inputs (uniform
/// in the bit pattern over all finite floats, plus a dense sweep of the interesting range and ±0,
/// ±inf, NaN, denormals), counting only lanes whose exact result is a normal float (denormal
/// results are checked to an absolute error of 4·2^-149 plus the relative bound times |result|):
///
/// | function | measured max  | bound asserted by the tests                                 |
/// |----------|---------------|-------------------------------------------------------------|
/// | exp      | 1.2e-7 (1 ulp)| 2.5e-7                                                      |
/// | log      | 7.9e-8        | 2e-7                                                        |
/// | tanh     | 1.4e-7        | 3e-7                                                        |
/// | sigmoid  | 2.1e-7        | 4e-7                                                        |
/// | gelu     | 1.3e-5 (x≈-10)| 3e-7 + 2e-7·|2u|, 2u = 1.596x + 0.0714x³ (1e-6 at x = -2)       |
/// | sqrt     | correctly rounded (the IEEE instruction)                                    |
///
/// GELU's error grows in the negative tail because the float rounding of its argument 2u (about
/// 1 ulp of |2u|) becomes a relative error of about |2u| ulp in `e^{2u}`; it only matters where
/// |gelu(x)| < 1e-6, i.e. x < -4.5. NaN inputs give NaN; `exp(-inf) = 0`, `exp(inf) = inf`,
/// `log(0) = -inf`, `log(x<0) = NaN`, `tanh(±inf) = ±1`, `sigmoid(-inf) = 0`, `gelu(-inf) = 0`.
///
/// ```swift
/// let v = Float.Vector(repeating: 1)
/// let e = Float.exp(v)          // SIMD8<Float>, each lane ≈ 2.7182817
/// ```
public protocol KernelFloat: BinaryFloatingPoint, SIMDScalar, Sendable, Codable
where Vector.Scalar == Self {
    /// The SIMD vector of the Swift loops (256 bits).
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

    // Lane selections. They are requirements, implemented on the concrete vector types, because
    // the standard library's generic SIMD comparisons compile to scalar lane loops while the
    // concrete types' compile to single vector instructions (vcmpps, vblendvps).

    /// Per-lane maximum; NaN if either lane is NaN.
    static func maximum(_ a: Vector, _ b: Vector) -> Vector
    /// Per-lane minimum; NaN if either lane is NaN.
    static func minimum(_ a: Vector, _ b: Vector) -> Vector
    /// `x > 0 ? x : 0` per lane; NaN stays NaN.
    static func relu(_ x: Vector) -> Vector
    /// `|x|` per lane.
    static func magnitude(_ x: Vector) -> Vector
    /// `√x` per lane (IEEE square root: NaN for x < 0).
    static func squareRoot(_ x: Vector) -> Vector
    /// `x > 0 ? dy : 0` per lane; NaN where x is NaN.
    static func reluGradient(_ x: Vector, _ dy: Vector) -> Vector
    /// `dy · sign(x)` per lane (0 at x = 0); NaN where x is NaN.
    static func absGradient(_ x: Vector, _ dy: Vector) -> Vector
}

// The members below implement the requirements documented on `KernelFloat`.

extension Float: KernelFloat {
    public typealias Vector = SIMD8<Float>
    public static func exp(_ x: Vector) -> Vector { FloatKernel.exp.apply(x) }
    public static func log(_ x: Vector) -> Vector { FloatKernel.log.apply(x) }
    public static func tanh(_ x: Vector) -> Vector { FloatKernel.tanh.apply(x) }
    public static func sigmoid(_ x: Vector) -> Vector { FloatKernel.sigmoid.apply(x) }
    public static func gelu(_ x: Vector) -> Vector { FloatKernel.gelu.apply(x) }
    public static func pow(_ x: Vector, _ p: Float) -> Vector {
        if p == 2 { return x * x }
        if p == 1 { return x }
        if p == 0.5 { return squareRoot(x) }
        var r = Vector()
        for i in 0..<Vector.scalarCount { r[i] = Foundation.powf(x[i], p) }
        return r
    }

    @inline(__always) public static func maximum(_ a: Vector, _ b: Vector) -> Vector {
        b.replacing(with: a, where: (a .> b) .| (a .!= a))
    }
    @inline(__always) public static func minimum(_ a: Vector, _ b: Vector) -> Vector {
        b.replacing(with: a, where: (a .< b) .| (a .!= a))
    }
    @inline(__always) public static func relu(_ x: Vector) -> Vector {
        Vector().replacing(with: x, where: (x .> Vector()) .| (x .!= x))
    }
    @inline(__always) public static func magnitude(_ x: Vector) -> Vector {
        x.replacing(with: -x, where: x .< Vector())
    }
    public static func squareRoot(_ x: Vector) -> Vector { FloatKernel.sqrt.apply(x) }
    @inline(__always) public static func reluGradient(_ x: Vector, _ dy: Vector) -> Vector {
        Vector().replacing(with: dy, where: x .> Vector()).replacing(with: x, where: x .!= x)
    }
    @inline(__always) public static func absGradient(_ x: Vector, _ dy: Vector) -> Vector {
        Vector().replacing(with: dy, where: x .> Vector()).replacing(with: -dy, where: x .< Vector())
            .replacing(with: x, where: x .!= x)
    }
}

/// `Double` favours accuracy: transcendental functions call the C library per lane.
/// The lane selections repeat `Float`'s on the concrete `SIMD4<Double>` (see the protocol for why).
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

    @inline(__always) public static func maximum(_ a: Vector, _ b: Vector) -> Vector {
        b.replacing(with: a, where: (a .> b) .| (a .!= a))
    }
    @inline(__always) public static func minimum(_ a: Vector, _ b: Vector) -> Vector {
        b.replacing(with: a, where: (a .< b) .| (a .!= a))
    }
    @inline(__always) public static func relu(_ x: Vector) -> Vector {
        Vector().replacing(with: x, where: (x .> Vector()) .| (x .!= x))
    }
    @inline(__always) public static func magnitude(_ x: Vector) -> Vector {
        x.replacing(with: -x, where: x .< Vector())
    }
    @inline(__always) public static func squareRoot(_ x: Vector) -> Vector { x.squareRoot() }
    @inline(__always) public static func reluGradient(_ x: Vector, _ dy: Vector) -> Vector {
        Vector().replacing(with: dy, where: x .> Vector()).replacing(with: x, where: x .!= x)
    }
    @inline(__always) public static func absGradient(_ x: Vector, _ dy: Vector) -> Vector {
        Vector().replacing(with: dy, where: x .> Vector()).replacing(with: -dy, where: x .< Vector())
            .replacing(with: x, where: x .!= x)
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
