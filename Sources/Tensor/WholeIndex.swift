import Kernels

/// `value` as an index in `0..<limit` when it is a whole number in that range, else nil (NaN,
/// infinities, fractions and out-of-range values included).
///
/// Class labels and embedding indices arrive as tensor values and are converted once per row on
/// every run. The generic `Int32(value)` and `value.rounded()` compiled to library calls
/// (`FixedWidthInteger._convert(from:)`, `roundf`): 1.5% of the digits MLP's training step for 64
/// labels. Here Float and Double take their own conversion, one instruction each once specialized.
///
/// ```swift
/// wholeIndex(Float(3), below: 10)    // 3
/// wholeIndex(Float(3.5), below: 10)  // nil
/// ```
@inline(__always)
func wholeIndex<Scalar: KernelFloat>(_ value: Scalar, below limit: Int) -> Int? {
    let d: Double
    if Scalar.self == Float.self {
        d = Double(unsafeBitCast(value, to: Float.self))
    } else if Scalar.self == Double.self {
        d = unsafeBitCast(value, to: Double.self)
    } else {
        d = Double(value)
    }
    guard d >= 0, d < Double(limit) else { return nil }
    let index = Int(d)   // in range, so the truncation cannot trap
    return Double(index) == d ? index : nil
}
