/// The sizes of a 2-D pooling over NHWC images: input `[batch, height, width, channels]`, a
/// `kernelHeight × kernelWidth` window moved by the strides over the input padded by `padTop`
/// rows above and below and `padLeft` columns left and right, giving
/// `[batch, outputHeight, outputWidth, channels]` with
/// `outputHeight = (height + 2·padTop - kernelHeight) / strideHeight + 1` (likewise the width).
public struct Pool2DShape: Sendable, Hashable {
    public var batch, height, width, channels: Int
    public var kernelHeight, kernelWidth, strideHeight, strideWidth, padTop, padLeft: Int

    public init(batch: Int, height: Int, width: Int, channels: Int, kernel: (Int, Int), stride: (Int, Int),
                padding: (Int, Int)) {
        self.batch = batch; self.height = height; self.width = width; self.channels = channels
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        (padTop, padLeft) = padding
    }

    public var outputHeight: Int { (height + 2 * padTop - kernelHeight) / strideHeight + 1 }
    public var outputWidth: Int { (width + 2 * padLeft - kernelWidth) / strideWidth + 1 }
}

/// Max and average pooling over NHWC images, forward and backward.
///
/// NHWC keeps a pixel's channels contiguous, so every window position is a vector operation over
/// the channels. The forward passes split over output rows; the backward passes scatter into the
/// input gradient and split over (image, block of 16 channels), each piece visiting windows in
/// output order, so every input element receives its contributions in a fixed order: results are
/// bitwise equal for any worker count. Padding is never read: a max ignores it, an average counts
/// it as zeros (it divides by the whole window, PyTorch's default `count_include_pad`).
///
/// ```swift
/// // 2×2 max pooling with stride 2 of 8 images of 28×28×16
/// let s = Pool2DShape(batch: 8, height: 28, width: 28, channels: 16, kernel: (2, 2), stride: (2, 2), padding: (0, 0))
/// Pooling.maxForward(x, shape: s, into: y)          // y: 8×14×14×16
/// Pooling.maxBackward(x, gradient: dy, shape: s, into: dx)
/// ```
public enum Pooling {
    /// `y[n][i][j][c]` = the maximum of the window's in-bounds elements (NaN if one is NaN).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func maxForward<T: KernelFloat>(
        _ x: UnsafePointer<T>, shape s: Pool2DShape, into y: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let w = T.Vector.scalarCount
        let inputEnd = x + s.batch * s.height * s.width * s.channels
        forOutputRows(s, loop) { n, i in
            let up = i * s.strideHeight - s.padTop
            let a0 = Swift.max(0, up), a1 = Swift.min(s.height, up + s.kernelHeight)
            let rowStart = y + (n * s.outputHeight + i) * s.outputWidth * s.channels
            let rowEnd = rowStart + s.outputWidth * s.channels
            for j in 0..<s.outputWidth {
                let left = j * s.strideWidth - s.padLeft
                let b0 = Swift.max(0, left), b1 = Swift.min(s.width, left + s.kernelWidth)
                let out = rowStart + j * s.channels
                guard a0 < a1, b0 < b1 else { continue }
                let last = x + ((n * s.height + a1 - 1) * s.width + b1 - 1) * s.channels
                // Vectors of channels, the last one partial when the channels are not a multiple of
                // the width (LeNet's 6: all of them). A partial vector is read and written whole when
                // that stays inside the input and inside this output row (the extra lanes belong to
                // the next pixel, which is written after), so no lane needs a data-dependent branch.
                var q = 0
                while q < s.channels {
                    let lanes = Swift.min(w, s.channels - q)
                    let wideRead = lanes == w || last + q + w <= inputEnd
                    var m = lane(x + ((n * s.height + a0) * s.width + b0) * s.channels + q, lanes, wide: wideRead)
                    for a in a0..<a1 {
                        for b in (a == a0 ? b0 + 1 : b0)..<b1 {
                            let v = lane(x + ((n * s.height + a) * s.width + b) * s.channels + q, lanes, wide: wideRead)
                            m = T.maximum(v, m)  // v if larger or NaN: the first NaN stays
                        }
                    }
                    if lanes == w || out + q + w <= rowEnd {
                        UnsafeMutableRawPointer(out + q).storeBytes(of: m, as: T.Vector.self)
                    } else {
                        for l in 0..<lanes { out[q + l] = m[l] }
                    }
                    q += lanes
                }
            }
        }
    }

    /// `dx` = each `dy` element added at the position of its window's maximum (the first one in
    /// row-major window order at ties, the first NaN if any), zero elsewhere.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func maxBackward<T: KernelFloat>(
        _ x: UnsafePointer<T>, gradient dy: UnsafePointer<T>, shape s: Pool2DShape, into dx: UnsafeMutablePointer<T>,
        loop: any ParallelLoop = SerialLoop()
    ) {
        let w = T.Vector.scalarCount
        let inputEnd = x + s.batch * s.height * s.width * s.channels
        // The offset of each position of the whole (unclipped) window from its top-left corner,
        // indexed by the position's number in row-major window order.
        let area = s.kernelHeight * s.kernelWidth
        withUnsafeTemporaryAllocation(of: Int.self, capacity: Swift.max(1, area)) { buffer in
            let offsets = buffer.baseAddress!
            for k in 0..<area { offsets[k] = ((k / s.kernelWidth) * s.width + k % s.kernelWidth) * s.channels }
            forImageChannelBlocks(s, dx, loop) { n, channels in
                for i in 0..<s.outputHeight {
                    let up = i * s.strideHeight - s.padTop
                    let a0 = Swift.max(0, up), a1 = Swift.min(s.height, up + s.kernelHeight)
                    for j in 0..<s.outputWidth {
                        let left = j * s.strideWidth - s.padLeft
                        let b0 = Swift.max(0, left), b1 = Swift.min(s.width, left + s.kernelWidth)
                        guard a0 < a1, b0 < b1 else { continue }
                        let g = dy + ((n * s.outputHeight + i) * s.outputWidth + j) * s.channels
                        let corner = ((n * s.height + up) * s.width + left) * s.channels
                        var q = channels.lowerBound
                        while q < channels.upperBound {
                            let lanes = Swift.min(w, channels.upperBound - q)
                            let (position, bad) = windowArgmax(x, s, inputEnd, n: n, rows: a0..<a1, columns: b0..<b1,
                                                               corner: (up, left), channel: q, lanes: lanes)
                            for l in 0..<lanes {
                                let c = q + l
                                let at: Int
                                if bad[l] == 0 {
                                    at = corner + offsets[integer(position[l])] + c
                                } else {
                                    at = windowMaximum(x, s, n: n, rows: a0..<a1, columns: b0..<b1, channel: c)
                                }
                                dx[at] += g[c]
                            }
                            q += lanes
                        }
                    }
                }
            }
        }
    }

    /// For the channels `channel..<channel + lanes` of one window (its in-bounds `rows` and
    /// `columns`; `corner` its unclipped top-left): the number, in row-major order over the whole
    /// window, of each channel's first maximum, and a vector that is nonzero in the lanes that met a
    /// NaN or an infinity (where `v - m` cannot decide: the caller redoes those in scalar code).
    /// Running maximum and position are updated with lane selections, no branch per element (on
    /// random data a comparison is a coin flip). Fewer channels than a vector are read as a whole
    /// vector where that stays inside the input; the extra lanes mean nothing.
    @inline(__always)
    static func windowArgmax<T: KernelFloat>(
        _ x: UnsafePointer<T>, _ s: Pool2DShape, _ inputEnd: UnsafePointer<T>, n: Int, rows: Range<Int>,
        columns: Range<Int>, corner: (Int, Int), channel q: Int, lanes: Int
    ) -> (position: T.Vector, bad: T.Vector) {
        let w = T.Vector.scalarCount
        let (up, left) = corner
        let (a0, a1, b0, b1) = (rows.lowerBound, rows.upperBound, columns.lowerBound, columns.upperBound)
        let last = x + ((n * s.height + a1 - 1) * s.width + b1 - 1) * s.channels
        let wide = lanes == w || last + q + w <= inputEnd
        var m = lane(x + ((n * s.height + a0) * s.width + b0) * s.channels + q, lanes, wide: wide)
        var position = T.Vector(repeating: T((a0 - up) * s.kernelWidth + b0 - left)), bad = m - m
        for a in a0..<a1 {
            let rowNumber = (a - up) * s.kernelWidth - left
            for b in (a == a0 ? b0 + 1 : b0)..<b1 {
                let v = lane(x + ((n * s.height + a) * s.width + b) * s.channels + q, lanes, wide: wide)
                let k = T.Vector(repeating: T(rowNumber + b))
                position += T.reluGradient(v - m, k - position)
                m = T.maximum(m, v)
                bad += v - v
            }
        }
        return (position, bad)
    }

    /// The `lanes` elements at `p` as a vector: read whole when `wide` (the other lanes hold
    /// whatever follows `p`), else element by element with the other lanes 0.
    @inline(__always) static func lane<T: KernelFloat>(_ p: UnsafePointer<T>, _ lanes: Int, wide: Bool) -> T.Vector {
        wide ? load(p) : loadPartial(p, lanes)
    }

    /// The index of a window's first maximum in row-major window order, or of its first NaN.
    static func windowMaximum<T: KernelFloat>(_ x: UnsafePointer<T>, _ s: Pool2DShape, n: Int, rows: Range<Int>,
                                              columns: Range<Int>, channel: Int) -> Int {
        var best = -1, m = T.zero
        for a in rows {
            for b in columns {
                let at = ((n * s.height + a) * s.width + b) * s.channels + channel
                if x[at].isNaN { return at }
                if best < 0 || x[at] > m { best = at; m = x[at] }
            }
        }
        return best
    }

    /// A small whole number held in a `T` (a window position, in 0 ..< 2^significandBitCount), as
    /// an `Int`: adding 2^significandBitCount puts it in the significand's bits, read without the
    /// checked conversion's range tests (max-pool backward on LeNet's first layer: 0.37 -> 0.32 ms).
    @inline(__always) static func integer<T: KernelFloat>(_ v: T) -> Int {
        let magic = T(sign: .plus, exponent: T.Exponent(T.significandBitCount), significand: 1)
        return Int(truncatingIfNeeded: (v + magic).significandBitPattern)
    }

    @inline(__always) static func load<T: KernelFloat>(_ p: UnsafePointer<T>) -> T.Vector {
        UnsafeRawPointer(p).loadUnaligned(as: T.Vector.self)
    }

    /// The first `count` (< one vector) elements at `p`, the other lanes 0.
    @inline(__always) static func loadPartial<T: KernelFloat>(_ p: UnsafePointer<T>, _ count: Int) -> T.Vector {
        var v = T.Vector()
        for j in 0..<count { v[j] = p[j] }
        return v
    }

    /// `y[n][i][j][c]` = the sum of the window's in-bounds elements divided by `kernelHeight·kernelWidth`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func averageForward<T: KernelFloat>(
        _ x: UnsafePointer<T>, shape s: Pool2DShape, into y: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) {
        let area = T(s.kernelHeight * s.kernelWidth)
        forOutputRows(s, loop) { n, i in
            for j in 0..<s.outputWidth {
                let out = y + ((n * s.outputHeight + i) * s.outputWidth + j) * s.channels
                out.update(repeating: 0, count: s.channels)
                forWindow(s, i, j) { a, b in
                    let px = x + ((n * s.height + a) * s.width + b) * s.channels
                    for c in 0..<s.channels { out[c] += px[c] }
                }
                for c in 0..<s.channels { out[c] /= area }
            }
        }
    }

    /// `dx` = each `dy` element divided by the window area, added to every in-bounds element of its window.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func averageBackward<T: KernelFloat>(
        gradient dy: UnsafePointer<T>, shape s: Pool2DShape, into dx: UnsafeMutablePointer<T>,
        loop: any ParallelLoop = SerialLoop()
    ) {
        let area = T(s.kernelHeight * s.kernelWidth)
        forImageChannelBlocks(s, dx, loop) { n, channels in
            for i in 0..<s.outputHeight {
                for j in 0..<s.outputWidth {
                    let g = dy + ((n * s.outputHeight + i) * s.outputWidth + j) * s.channels
                    forWindow(s, i, j) { a, b in
                        let px = dx + ((n * s.height + a) * s.width + b) * s.channels
                        for c in channels { px[c] += g[c] / area }
                    }
                }
            }
        }
    }

    // MARK: - Loops

    /// Calls `body(a, b)` for the in-bounds input positions of output `(i, j)`'s window, row-major.
    @inline(__always)
    static func forWindow(_ s: Pool2DShape, _ i: Int, _ j: Int, _ body: (Int, Int) -> Void) {
        let top = i * s.strideHeight - s.padTop, left = j * s.strideWidth - s.padLeft
        for a in Swift.max(0, top)..<Swift.min(s.height, top + s.kernelHeight) {
            for b in Swift.max(0, left)..<Swift.min(s.width, left + s.kernelWidth) { body(a, b) }
        }
    }

    /// Calls `body(n, i)` for every output row, split over `loop` by rows.
    @inline(__always)
    static func forOutputRows(_ s: Pool2DShape, _ loop: any ParallelLoop, _ body: (Int, Int) -> Void) {
        let rows = s.batch * s.outputHeight
        let perRow = Swift.max(1, s.outputWidth * s.channels * s.kernelHeight * s.kernelWidth)
        let grain = Swift.max(1, chunk / perRow)
        splitting(loop, 0..<rows, when: loop.concurrency > 1 && rows > grain, grain: grain) { range in
            for r in range { body(r / s.outputHeight, r % s.outputHeight) }
        }
    }

    /// Zeroes `dx`, then calls `body(n, channels)` for every image and block of 16 channels (the
    /// pieces the backward passes split over: they write disjoint parts of `dx`).
    @inline(__always)
    static func forImageChannelBlocks<T>(_ s: Pool2DShape, _ dx: UnsafeMutablePointer<T>, _ loop: any ParallelLoop,
                                         _ body: (Int, Range<Int>) -> Void) where T: KernelFloat {
        let blocks = (s.channels + 15) / 16, items = s.batch * blocks
        let perItem = Swift.max(1, s.outputHeight * s.outputWidth * Swift.min(16, s.channels) * s.kernelHeight * s.kernelWidth)
        let grain = Swift.max(1, chunk / perItem)
        splitting(loop, 0..<items, when: loop.concurrency > 1 && items > grain, grain: grain) { range in
            for item in range {
                let n = item / blocks, c0 = (item % blocks) * 16
                let channels = c0..<Swift.min(s.channels, c0 + 16)
                if blocks == 1 {
                    (dx + n * s.height * s.width * s.channels).update(repeating: 0, count: s.height * s.width * s.channels)
                } else {
                    for p in 0..<(s.height * s.width) {
                        (dx + (n * s.height * s.width + p) * s.channels + c0).update(repeating: 0, count: channels.count)
                    }
                }
                body(n, channels)
            }
        }
    }

    /// Work per piece handed to a worker (window element visits).
    static var chunk: Int { 1 << 15 }
}
