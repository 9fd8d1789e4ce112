/// Dropout with a counter-based random mask: whether element `i` is kept at training step `step`
/// is a pure function of `(seed, step, i)`, so the mask is the same for any worker count and any
/// split of the work, the backward pass reproduces it without storing it, and a run can be
/// replayed from the seed and the step alone. A part of a larger array (a data-parallel rank's
/// rows of a global batch) passes its first element's index as `offset` and gets the masks the
/// whole array would have there.
///
/// The draw (SplitMix64's finalizer `mix`, constant `γ = 0x9E3779B97F4A7C15`):
///
///     base = mix(seed ⊕ mix(step + γ))
///     u_i  = (mix(base + (offset + i)·γ) >> 11) · 2⁻⁵³          (uniform in [0, 1))
///     out_i = u_i < rate ? 0 : x_i · (1 / (1 - rate))
///
/// ```swift
/// // 10% dropout of 4096 activations at step 17
/// Dropout.apply(x, count: 4096, rate: 0.1, seed: 42, step: 17, into: y)
/// ```
public enum Dropout {
    /// `out[i] = keeps(offset + i) ? x[i] / (1 - rate) : 0` for `i < count` (`0 <= rate < 1`,
    /// `offset >= 0`). `out` may alias `x`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func apply<T: KernelFloat>(
        _ x: UnsafePointer<T>, count: Int, rate: Double, seed: UInt64, step: UInt64, offset: Int = 0,
        into out: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        // The draws for element i of this part are those of element offset + i of the whole.
        let base = streamBase(seed: seed, step: step) &+ UInt64(truncatingIfNeeded: offset) &* gamma
        let scale = T(1 / (1 - rate))
        // Compare the 53-bit draw as an integer: u < rate ⇔ bits < rate · 2⁵³ (rounded up).
        let threshold = UInt64((rate * 0x1p53).rounded(.up))
        let pieces = (count + chunk - 1) / chunk
        splitting(loop, 0..<pieces, when: loop.concurrency > 1 && pieces > 1, grain: 1) { range in
            for i in range.lowerBound * chunk ..< Swift.min(count, range.upperBound * chunk) {
                let bits = mix(base &+ UInt64(i) &* gamma) >> 11
                out[i] = bits < threshold ? 0 : x[i] * scale
            }
        }
    }

    /// Whether element `index` is kept at `step` (the mask `apply` uses).
    public static func keeps(index: Int, rate: Double, seed: UInt64, step: UInt64) -> Bool {
        let bits = mix(streamBase(seed: seed, step: step) &+ UInt64(index) &* gamma) >> 11
        return Double(bits) * 0x1p-53 >= rate
    }

    static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

    @inline(__always) static func streamBase(seed: UInt64, step: UInt64) -> UInt64 {
        mix(seed ^ mix(step &+ gamma))
    }

    /// SplitMix64's output function: a bijection on 64-bit words that scatters nearby inputs.
    @inline(__always) static func mix(_ x: UInt64) -> UInt64 {
        var z = x
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Elements per piece of work handed to a worker.
    static var chunk: Int { 1 << 15 }
}
