import Kernels
import Testing
import TestSupport

/// Max pooling's kernels against a plain reference (one scalar per window element, written for
/// clarity): every channel count from 1 to 19 (vectors of channels full, partial, and fewer
/// channels than a vector, which read whole vectors where that stays in bounds), padding, overlap
/// and clipped windows, NaNs and infinities, Float and Double, and equal bits for any worker count.
@Suite struct PoolingKernelTests {
    /// The reference: `y` the window maximum (the first NaN if any), `dx` each `dy` added at the
    /// window's first maximum (or first NaN).
    static func reference<T: KernelFloat>(_ x: [T], _ dy: [T], _ s: Pool2DShape) -> (y: [T], dx: [T]) {
        var y = [T](repeating: 0, count: s.batch * s.outputHeight * s.outputWidth * s.channels)
        var dx = [T](repeating: 0, count: x.count)
        for n in 0..<s.batch {
            for i in 0..<s.outputHeight {
                for j in 0..<s.outputWidth {
                    for c in 0..<s.channels {
                        var best = -1
                        for a in (i * s.strideHeight - s.padTop)..<(i * s.strideHeight - s.padTop + s.kernelHeight) {
                            for b in (j * s.strideWidth - s.padLeft)..<(j * s.strideWidth - s.padLeft + s.kernelWidth) {
                                guard a >= 0, a < s.height, b >= 0, b < s.width else { continue }
                                let at = ((n * s.height + a) * s.width + b) * s.channels + c
                                if best >= 0 && x[best].isNaN { continue }
                                if best < 0 || x[at].isNaN || x[at] > x[best] { best = at }
                            }
                        }
                        let out = ((n * s.outputHeight + i) * s.outputWidth + j) * s.channels + c
                        if best >= 0 {
                            y[out] = x[best]
                            dx[best] += dy[out]
                        }
                    }
                }
            }
        }
        return (y, dx)
    }

    static let shapes: [(kernel: (Int, Int), stride: (Int, Int), padding: (Int, Int))] = [
        ((2, 2), (2, 2), (0, 0)), ((3, 3), (1, 2), (1, 1)), ((3, 2), (2, 1), (1, 0)), ((2, 3), (3, 3), (0, 1)),
    ]

    func check<T: KernelFloat>(_: T.Type, channels: Int, special: Bool) throws where T.RawSignificand: FixedWidthInteger {
        var random = TestRandom(seed: UInt64(channels * 31 + (special ? 7 : 0)))
        for (index, p) in Self.shapes.enumerated() {
            let s = Pool2DShape(batch: 2, height: 5 + index, width: 7 - index, channels: channels, kernel: p.kernel,
                                stride: p.stride, padding: p.padding)
            // Values from a small set, so ties are common.
            var x: [T] = (0..<(s.batch * s.height * s.width * channels)).map { _ in T(Int.random(in: -3...3, using: &random)) }
            if special {
                for _ in 0..<Swift.max(1, x.count / 9) {
                    x[Int.random(in: 0..<x.count, using: &random)] = [T.nan, T.infinity, -T.infinity].randomElement(using: &random)!
                }
            }
            let dy: [T] = random.floats(s.batch * s.outputHeight * s.outputWidth * channels)
            let expected = Self.reference(x, dy, s)
            for loop in [SerialLoop()] + workerLoops {
                var y = [T](repeating: 7, count: expected.y.count), dx = [T](repeating: 7, count: x.count)
                Pooling.maxForward(x, shape: s, into: &y, loop: loop)
                Pooling.maxBackward(x, gradient: dy, shape: s, into: &dx, loop: loop)
                let same = zip(y, expected.y).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
                #expect(same, "forward, \(T.self), \(channels) channels, \(s), \(loop)")
                #expect(dx == expected.dx, "backward, \(T.self), \(channels) channels, \(s), \(loop)")
            }
        }
    }

    @Test(arguments: Array(1...19))
    func matchesTheReference(channels: Int) throws {
        try check(Float.self, channels: channels, special: false)
        try check(Double.self, channels: channels, special: false)
        try check(Float.self, channels: channels, special: true)
        try check(Double.self, channels: channels, special: true)
    }
}
