/// Vectorized `Float` elementary functions on `SIMD8<Float>` (one AVX2 register), built from
/// Cody–Waite range reduction and short polynomials (Cephes coefficients) evaluated with fused
/// multiply-adds. No table lookups, no branches: special values are fixed up with lane masks.
///
/// Maximum relative error against Double libm, measured by `KernelsTests/VectorMathTests` over a
/// sweep of more than 10^6 inputs (uniform in the bit pattern over all finite floats, plus a dense
/// sweep of the interesting range and ±0, ±inf, NaN, denormals), counting only lanes whose exact
/// result is a normal float (denormal results are checked to an absolute error of 4·2^-149 plus
/// the relative bound times |result|):
///
/// | function | measured max  | bound asserted by the tests                                 |
/// |----------|---------------|-------------------------------------------------------------|
/// | exp      | 1.2e-7 (1 ulp)| 2.5e-7                                                      |
/// | log      | 7.9e-8        | 2e-7                                                        |
/// | tanh     | 1.4e-7        | 3e-7                                                        |
/// | sigmoid  | 2.1e-7        | 4e-7                                                        |
/// | gelu     | 1.3e-5 (x≈-10)| 3e-7 + 2e-7·|2u|, 2u = 1.596x + 0.0714x³ (1e-6 at x = -2)       |
///
/// GELU's error grows in the negative tail because the float rounding of its argument 2u (about
/// 1 ulp of |2u|) becomes a relative error of about |2u| ulp in `e^{2u}`; it only matters where
/// |gelu(x)| < 1e-6, i.e. x < -4.5.
///
/// Everything here uses the concrete `SIMD8<Float>`/`SIMD8<Int32>` operations, which compile to
/// single AVX2 instructions (`vcmpps`, `vblendvps`, `vfmadd…ps`, `vpslld`); `clamped` and
/// `pointwiseMin/Max` are avoided because they stay out-of-line calls.
///
/// NaN inputs give NaN; `exp(-inf) = 0`, `exp(inf) = inf`, `log(0) = -inf`, `log(x<0) = NaN`,
/// `tanh(±inf) = ±1`, `sigmoid(-inf) = 0`, `gelu(-inf) = 0`.
enum VectorMath {
    typealias V = SIMD8<Float>
    typealias I = SIMD8<Int32>

    @inline(__always) static func bits(_ v: V) -> I { unsafeBitCast(v, to: I.self) }
    @inline(__always) static func float(_ i: I) -> V { unsafeBitCast(i, to: V.self) }

    /// `2^n` for `n` in -126...127 (normal range), built from the exponent bits.
    @inline(__always) static func pow2(_ n: I) -> V { float((n &+ 127) &<< 23) }

    /// `e^x`: n = round(x·log2 e), r = x - n·ln2 (two-part ln2, exact), e^r = 1 + r + r²·P(r)
    /// with P of degree 5 (Cephes expf) on |r| ≤ ln2/2, then scaled by 2^n in two halves so
    /// results down to the denormal range (x ≥ -103.9) are formed without intermediate underflow.
    @inline(__always) static func exp(_ x: V) -> V {
        // Clamp (and zero NaN lanes) so the integer tricks below stay in range; the special
        // lanes are fixed at the end.
        let xc = x.replacing(with: V(repeating: -104), where: x .< V(repeating: -104))
            .replacing(with: V(repeating: 89), where: x .> V(repeating: 89))
            .replacing(with: V(), where: x .!= x)
        // Adding 1.5·2^23 rounds to the nearest integer (ties to even) and leaves it in the low
        // mantissa bits, which gives n both as a float and as an integer without conversions.
        let magic = V(repeating: 12582912)
        let t = xc * V(repeating: 1.44269504088896341) + magic
        let n = t - magic
        let ni = bits(t) &- bits(magic)
        var r = xc.addingProduct(n, V(repeating: -0.693359375))
        r = r.addingProduct(n, V(repeating: 2.12194440e-4))
        let r2 = r * r
        var p = V(repeating: 1.3981999507e-3).addingProduct(V(repeating: 1.9875691500e-4), r)
        p = V(repeating: 8.3334519073e-3).addingProduct(p, r)
        p = V(repeating: 4.1665795894e-2).addingProduct(p, r)
        p = V(repeating: 1.6666665459e-1).addingProduct(p, r)
        p = V(repeating: 5.0000001201e-1).addingProduct(p, r)
        let er = (r + 1).addingProduct(p, r2)
        let n1 = ni &>> 1
        let n2 = ni &- n1
        var y = er * pow2(n1) * pow2(n2)
        y.replace(with: V(repeating: .infinity), where: x .> V(repeating: 88.72283935546875))
        y.replace(with: V(), where: x .< V(repeating: -103.972084045410))
        y.replace(with: x, where: x .!= x)
        return y
    }

    /// `log x`: x = m·2^e with m in [√½, √2), log x = e·ln2 + log1p(f), f = m - 1, as
    /// f - f²/2 + f³·P(f) with P of degree 8 (Cephes logf); denormal inputs are scaled by 2^23 first.
    @inline(__always) static func log(_ x: V) -> V {
        let tiny = x .< V(repeating: Float.leastNormalMagnitude)
        let xs = x.replacing(with: x * V(repeating: 8388608), where: tiny)
        let b = bits(xs)
        var e = (b &>> 23) &- 126
        e.replace(with: e &- 23, where: tiny)
        var m = float((b & I(repeating: 0x007f_ffff)) | I(repeating: 0x3f00_0000))  // [0.5, 1)
        let small = m .< V(repeating: 0.707106781186547524)
        e.replace(with: e &- 1, where: small)
        m = m.replacing(with: m + m, where: small) - 1
        let f = m
        let z = f * f
        var p = V(repeating: 7.0376836292e-2)
        p = V(repeating: -1.1514610310e-1).addingProduct(p, f)
        p = V(repeating: 1.1676998740e-1).addingProduct(p, f)
        p = V(repeating: -1.2420140846e-1).addingProduct(p, f)
        p = V(repeating: 1.4249322787e-1).addingProduct(p, f)
        p = V(repeating: -1.6668057665e-1).addingProduct(p, f)
        p = V(repeating: 2.0000714765e-1).addingProduct(p, f)
        p = V(repeating: -2.4999993993e-1).addingProduct(p, f)
        p = V(repeating: 3.3333331174e-1).addingProduct(p, f)
        let ef = float(e &+ I(repeating: 0x4B40_0000)) - V(repeating: 12582912)
        var y = f * z * p
        y = y.addingProduct(ef, V(repeating: -2.12194440e-4))
        y = y.addingProduct(z, V(repeating: -0.5))
        var r = f + y
        r = r.addingProduct(ef, V(repeating: 0.693359375))
        r.replace(with: V(repeating: .infinity), where: x .== V(repeating: .infinity))
        r.replace(with: V(repeating: -.infinity), where: x .== V())
        r.replace(with: V(repeating: .nan), where: x .< V())
        r.replace(with: x, where: x .!= x)
        return r
    }

    /// `tanh x`: x + x³·P(x²) for |x| < 0.625, else sign(x)·(1 - 2/(e^{2|x|} + 1)).
    @inline(__always) static func tanh(_ x: V) -> V {
        let a = abs(x)
        let z = x * x
        var p = V(repeating: -5.70498872745e-3)
        p = V(repeating: 2.06390887954e-2).addingProduct(p, z)
        p = V(repeating: -5.37397155531e-2).addingProduct(p, z)
        p = V(repeating: 1.33314422036e-1).addingProduct(p, z)
        p = V(repeating: -3.33332819422e-1).addingProduct(p, z)
        let small = x.addingProduct(x * z, p)
        let e = exp(a + a)
        var big = 1 - 2 / (e + 1)
        big.replace(with: -big, where: x .< V())
        var r = big.replacing(with: small, where: a .< V(repeating: 0.625))
        r.replace(with: x, where: x .!= x)
        return r
    }

    /// `1/(1+e^-x)` as `s = 1/(1+e^{-|x|})`, giving `s` for x ≥ 0 and `e^{-|x|}·s` for x < 0, so
    /// results for large negative x keep full relative accuracy (down to the denormal range).
    @inline(__always) static func sigmoid(_ x: V) -> V {
        let e = exp(-abs(x))
        let s = 1 / (1 + e)
        var r = s.replacing(with: e * s, where: x .< V())
        r.replace(with: x, where: x .!= x)
        return r
    }

    /// GELU (tanh form) as `x · sigmoid(2u)`, `u = √(2/π)(x + 0.044715 x³)`: equal to
    /// `0.5x(1 + tanh u)` without its cancellation for negative x.
    @inline(__always) static func gelu(_ x: V) -> V {
        // 2u = x·(A + B·x²): three roundings, the fewest for this polynomial.
        let u2 = x * V(repeating: 1.5957691216057308).addingProduct(V(repeating: 0.07135481627260025), x * x)
        var r = x * sigmoid(u2)
        r.replace(with: V(), where: x .== V(repeating: -.infinity))
        return r
    }

    /// `√x`, correctly rounded (bitwise equal to `Float.squareRoot()`; checked on every one of the
    /// 2^32 bit patterns once, and on a 2·10^6 sweep by the tests). The standard library's
    /// `squareRoot()` on vectors is 8 scalar calls (C `sqrtf` with errno), which no vector
    /// instruction replaces, hence: a bit-trick estimate of 1/√x, three Newton steps, then
    /// Markstein's correction `y + (x - y²)·(1/(2√x))` with the residual computed exactly by an FMA.
    /// Inputs below 2^-64 or above 2^64 are scaled by 2^±64 so that 1/x and the residual stay normal.
    @inline(__always) static func sqrt(_ x: V) -> V {
        let tiny = x .< V(repeating: 0x1p-64)
        let huge = x .> V(repeating: 0x1p64)
        let xs = x.replacing(with: x * V(repeating: 0x1p64), where: tiny)
            .replacing(with: x * V(repeating: 0x1p-64), where: huge)
        var r = float(I(repeating: 0x5f37_5a86) &- (bits(xs) &>> 1))
        let hx = V(repeating: 0.5) * xs
        r = r * (V(repeating: 1.5) - hx * r * r)
        r = r * (V(repeating: 1.5) - hx * r * r)
        r = r * (V(repeating: 1.5) - hx * r * r)
        var y = xs * r
        let residual = xs.addingProduct(-y, y)
        y = y.addingProduct(residual, V(repeating: 0.5) * r)
        y.replace(with: y * V(repeating: 0x1p-32), where: tiny)
        y.replace(with: y * V(repeating: 0x1p32), where: huge)
        y.replace(with: x, where: (x .== V()) .| (x .== V(repeating: .infinity)))
        y.replace(with: V(repeating: .nan), where: (x .< V()) .| (x .!= x))
        return y
    }

    @inline(__always) static func abs(_ x: V) -> V { float(bits(x) & I(repeating: 0x7fff_ffff)) }
}
