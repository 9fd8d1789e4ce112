import CKernels

/// The sizes of a 2-D convolution over NHWC images: input `[batch, height, width, inputChannels]`,
/// filter `[kernelHeight, kernelWidth, inputChannels / groups, outputChannels]` (HWIO), output
/// `[batch, outputHeight, outputWidth, outputChannels]` with
/// `outputHeight = (height + 2·padTop - dilationHeight·(kernelHeight - 1) - 1) / strideHeight + 1`
/// (likewise the width). Group `g` convolves input channels `g·Cin/groups ..< (g+1)·Cin/groups` into
/// output channels `g·Cout/groups ..< (g+1)·Cout/groups`.
public struct Conv2DShape: Sendable, Hashable {
    public var batch, height, width, inputChannels, outputChannels, kernelHeight, kernelWidth: Int
    public var strideHeight, strideWidth, padTop, padLeft, dilationHeight, dilationWidth, groups: Int

    public init(batch: Int, height: Int, width: Int, inputChannels: Int, outputChannels: Int, kernel: (Int, Int),
                stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1) {
        self.batch = batch; self.height = height; self.width = width
        self.inputChannels = inputChannels; self.outputChannels = outputChannels
        (kernelHeight, kernelWidth) = kernel
        (strideHeight, strideWidth) = stride
        (padTop, padLeft) = padding
        (dilationHeight, dilationWidth) = dilation
        self.groups = groups
    }

    public var outputHeight: Int { (height + 2 * padTop - dilationHeight * (kernelHeight - 1) - 1) / strideHeight + 1 }
    public var outputWidth: Int { (width + 2 * padLeft - dilationWidth * (kernelWidth - 1) - 1) / strideWidth + 1 }
    /// Rows of the patch matrix: one per output pixel.
    public var patchRows: Int { batch * outputHeight * outputWidth }
    /// Columns of one group's patch matrix (rows of its filter): `kernelHeight · kernelWidth · Cin/groups`.
    public var patchSize: Int { kernelHeight * kernelWidth * (inputChannels / groups) }

    /// Throws a `KernelError` naming `conv2d` unless the sizes describe a convolution.
    func validate() throws {
        guard [batch, height, width, inputChannels, outputChannels].allSatisfy({ $0 >= 0 }) else {
            throw KernelError("conv2d", "negative size in \(self)")
        }
        guard kernelHeight >= 1, kernelWidth >= 1, strideHeight >= 1, strideWidth >= 1, dilationHeight >= 1,
              dilationWidth >= 1, padTop >= 0, padLeft >= 0 else {
            throw KernelError("conv2d", "kernel, stride and dilation must be positive and padding not negative in \(self)")
        }
        guard groups >= 1, inputChannels % groups == 0, outputChannels % groups == 0 else {
            throw KernelError("conv2d", "\(groups) groups do not divide \(inputChannels) input and \(outputChannels) output channels")
        }
        guard height + 2 * padTop >= dilationHeight * (kernelHeight - 1) + 1,
              width + 2 * padLeft >= dilationWidth * (kernelWidth - 1) + 1 else {
            throw KernelError("conv2d", "the kernel does not fit the padded input in \(self)")
        }
    }

    /// A 1×1 convolution with stride 1, no padding and one group is a plain product of the
    /// `[N·H·W, Cin]` input with the `[Cin, Cout]` filter: no patches needed.
    var isPointwise: Bool {
        kernelHeight == 1 && kernelWidth == 1 && strideHeight == 1 && strideWidth == 1 && padTop == 0 && padLeft == 0
            && groups == 1
    }
}

/// 2-D convolution of NHWC images (stride, padding, dilation, groups) and its two gradients, as
/// GEMMs over patches on the GEMM micro-kernels.
///
/// The patch matrix (one row per output pixel, `kernelHeight · kernelWidth · Cin/groups` columns
/// in filter order) is never materialized whole:
/// - forward, one group, several input channels: no patch matrix at all; a micro-kernel tile reads
///   a run of an output row's pixels straight from the image (`GEMM.MicroKernel.segmented`, a
///   segment per kernel row); only pixels whose windows reach into the padding are gathered.
///   Output rows split over workers;
/// - forward and filter gradient with one input channel (stride and dilation 1), Float: direct
///   level kernels on the zero-padded image (`conv1_forward`, `conv1_filter`), images split over
///   workers (the filter gradient's in fixed chunks);
/// - otherwise blocks of `blockRows` rows are gathered (im2col) into a pooled scratch buffer and
///   multiplied at once, so the working set stays in cache:
///   - forward: `y_block = patches_block · W_g` for each group, blocks split over workers;
///   - input gradient: `dpatches_block = dy_block · W_gᵀ` (micro-kernel tiles on a transposed
///     filter packed once, with one group), then scattered back (col2im), images split over workers
///     (an image's blocks in order, so overlapping windows add in a fixed order);
///   - filter gradient: `dW_g = Σ_blocks patches_blockᵀ · dy_block`, blocks grouped into a fixed
///     number of consecutive chunks (by the shapes only), each chunk's sum in its own scratch, the
///     chunks' sums added in order.
/// Every partition depends on the shapes alone and the tiles' results do not depend on the worker
/// count, so all three are bitwise equal for any number of workers. The sizes are checked once
/// (`KernelError` naming `conv2d`); the GEMMs inside then get valid arguments by construction. A pointwise convolution
/// (1×1, stride 1, no padding, one group) is one GEMM on the input in place.
///
/// ```swift
/// let s = Conv2DShape(batch: 8, height: 28, width: 28, inputChannels: 1, outputChannels: 16,
///                     kernel: (3, 3), padding: (1, 1))
/// try Convolution.forward(x, filter: w, shape: s, into: y, loop: executor)
/// ```
public enum Convolution {
    /// `y = conv(x, filter)` (see the type).
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func forward<T: KernelFloat>(
        _ x: UnsafePointer<T>, filter: UnsafePointer<T>, shape s: Conv2DShape, into y: UnsafeMutablePointer<T>,
        loop: any ParallelLoop = SerialLoop()
    ) throws {
        try s.validate()
        let cout = s.outputChannels, coutG = cout / s.groups, k = s.patchSize
        if s.patchRows == 0 || cout == 0 { return }
        if s.isPointwise {
            try GEMM.multiply(m: s.patchRows, n: cout, k: s.inputChannels, a: x, lda: s.inputChannels, b: filter, ldb: cout,
                              c: y, ldc: cout, loop: loop)
            return
        }
        if readsPatchesInPlace(s) {
            forwardInPlace(x, filter: filter, shape: s, into: y, loop: loop)
            return
        }
        if singleChannelRuns(s) && T.self == Float.self {
            singleChannelForward(floats(x), filter: floats(filter), shape: s, into: floats(y), loop: loop)
            return
        }
        let rowsPerBlock = blockRows(s), blocks = (s.patchRows + rowsPerBlock - 1) / rowsPerBlock
        let split = loop.concurrency > 1 && blocks > 1
        splitting(loop, 0..<blocks, when: split, grain: 1) { range in
            withScratch(T.self, count: rowsPerBlock * k + (singleChannelRuns(s) ? cout * rowsPerBlock : 0)) { patches in
                for b in range {
                    let rows = (b * rowsPerBlock)..<Swift.min(s.patchRows, (b + 1) * rowsPerBlock)
                    if singleChannelRuns(s) {
                        // One input channel: the transposed patch matrix is gathered with whole runs
                        // of input rows (see `im2colTransposed`), and GEMM reads it transposed.
                        // yᵀ = Wᵀ · patchesᵀ: the few output channels are the GEMM's rows and the
                        // block's pixels its columns (full micro-tiles), then transposed into y.
                        im2colTransposed(x, s, rows: rows, into: patches)
                        let t = patches + rowsPerBlock * k
                        try? GEMM.multiply(transposeA: true, m: cout, n: rows.count, k: k, a: filter, lda: cout,
                                           b: patches, ldb: rows.count, c: t, ldc: rows.count,
                                           loop: split ? SerialLoop() : loop)
                        let out = y + rows.lowerBound * cout
                        for o in 0..<cout {
                            let line = t + o * rows.count
                            for r in 0..<rows.count { out[r * cout + o] = line[r] }
                        }
                        continue
                    }
                    for g in 0..<s.groups {
                        im2col(x, s, group: g, rows: rows, into: patches)
                        try? GEMM.multiply(m: rows.count, n: coutG, k: k, a: patches, lda: k, b: filter + g * coutG, ldb: cout,
                                           c: y + rows.lowerBound * cout + g * coutG, ldc: cout,
                                           loop: split ? SerialLoop() : loop)
                    }
                }
            }
        }
    }

    /// Whether `forward` reads the patches straight from the image (`forwardInPlace`): one group,
    /// no dilation along the width, more than one input channel (one channel has its own path,
    /// see `singleChannelRuns`).
    static func readsPatchesInPlace(_ s: Conv2DShape) -> Bool {
        s.groups == 1 && s.dilationWidth == 1 && s.inputChannels > 1
    }

    /// The forward pass without a patch matrix: for an output pixel whose window lies inside the
    /// image, its patch row is `kernelHeight` runs of `kernelWidth · Cin` input elements, one per
    /// kernel row, and consecutive pixels of an output row start `strideWidth · Cin` apart. So a
    /// micro-kernel tile reads a run of such pixels in place (`MicroKernel.segmented`: a segment
    /// per kernel row). Pixels whose window reaches into the padding are gathered (`im2col`) and
    /// multiplied by the same tiles, so every output element sees the same operations, in the same
    /// order, either way. Split over output rows.
    static func forwardInPlace<T: KernelFloat>(
        _ x: UnsafePointer<T>, filter: UnsafePointer<T>, shape s: Conv2DShape, into y: UnsafeMutablePointer<T>,
        loop: any ParallelLoop
    ) {
        let cin = s.inputChannels, cout = s.outputChannels, k = s.patchSize, ow = s.outputWidth, oh = s.outputHeight
        let segment = s.kernelWidth * cin, step = s.strideWidth * cin
        let jump = s.dilationHeight * s.width * cin - segment
        let kernel = GEMM.MicroKernel<T>.best(m: ow, n: cout, level: .current, cache: .default)!
        let mr = kernel.mr, nr = kernel.nr, panels = (cout + nr - 1) / nr
        // Output columns whose windows lie inside the image, and output rows likewise.
        let first = (s.padLeft + s.strideWidth - 1) / s.strideWidth
        let lastLeft = s.width - s.kernelWidth + s.padLeft
        let last = lastLeft < 0 ? -1 : Swift.min(ow - 1, lastLeft / s.strideWidth)
        let span = s.dilationHeight * (s.kernelHeight - 1)
        let top = (s.padTop + s.strideHeight - 1) / s.strideHeight
        let bottomTop = s.height - 1 - span + s.padTop
        let bottom = bottomTop < 0 ? -1 : Swift.min(oh - 1, bottomTop / s.strideHeight)
        // The filter's panels of nr output channels: in place when they are whole, else packed
        // once with zero padding.
        let inPlace = cout % nr == 0
        withScratch(T.self, count: inPlace ? 0 : panels * k * nr) { packed in
            if !inPlace {
                GEMM.packB(Operand(base: filter, ld: cout, transposed: false), row: 0, rows: k, col: 0, cols: cout,
                           panels: 0..<panels, nr: nr, into: packed)
            }
            let bStride = inPlace ? cout : nr
            @inline(__always) func panel(_ q: Int) -> UnsafePointer<T> {
                inPlace ? filter + q * nr : UnsafePointer(packed) + q * k * nr
            }
            let rows = s.batch * oh, perRow = ow * cout * k
            let split = loop.concurrency > 1 && rows > 1 && rows * perRow > 1 << 20
            splitting(loop, 0..<rows, when: split, grain: Swift.max(1, (1 << 18) / Swift.max(1, perRow))) { range in
                withScratch(T.self, count: ow * k) { patches in
                    // Gathered pixels `pixels` of output row `row` (im2col), then the same tiles.
                    func gathered(_ row: Int, _ pixels: Range<Int>) {
                        guard !pixels.isEmpty else { return }
                        let r0 = row * ow + pixels.lowerBound
                        im2col(x, s, group: 0, rows: r0..<(r0 + pixels.count), into: patches)
                        var t = 0
                        while t < pixels.count {
                            let count = Swift.min(mr, pixels.count - t)
                            // Every panel in one call (Note [Tile runs in one call]).
                            kernel.strided(k: k, a: patches + t * k, ars: k, acs: 1, aRows: count, b: panel(0),
                                           bStride: bStride, alpha: 1, beta: 0, c: y + (r0 + t) * cout,
                                           ldc: cout, rows: count, cols: cout)
                            t += count
                        }
                    }
                    for row in range {
                        let n = row / oh, i = row % oh
                        guard i >= top && i <= bottom && first <= last else {
                            gathered(row, 0..<ow)
                            continue
                        }
                        gathered(row, 0..<first)
                        let line = x + ((n * s.height + i * s.strideHeight - s.padTop) * s.width - s.padLeft) * cin
                        var j = first
                        while j <= last {
                            let count = Swift.min(mr, last + 1 - j)
                            kernel.segmented(k: k, a: line + j * step, ars: step, acs: 1, aRows: count,
                                             segment: segment, jump: jump, b: panel(0), bStride: bStride,
                                             alpha: 1, beta: 0, c: y + (row * ow + j) * cout, ldc: cout,
                                             rows: count, cols: cout)
                            j += count
                        }
                        gathered(row, (last + 1)..<ow)
                    }
                }
            }
        }
    }

    /// `dx` = the gradient of `sum(conv(x, filter) · dy)` with respect to `x`.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backwardInput<T: KernelFloat>(
        gradient dy: UnsafePointer<T>, filter: UnsafePointer<T>, shape s: Conv2DShape, into dx: UnsafeMutablePointer<T>,
        loop: any ParallelLoop = SerialLoop()
    ) throws {
        try s.validate()
        let cout = s.outputChannels, coutG = cout / s.groups, k = s.patchSize
        if s.isPointwise {
            try GEMM.multiply(transposeB: true, m: s.patchRows, n: s.inputChannels, k: cout, a: dy, lda: cout,
                              b: filter, ldb: cout, c: dx, ldc: s.inputChannels, loop: loop)
            return
        }
        let image = s.height * s.width * s.inputChannels
        let perImage = s.outputHeight * s.outputWidth
        let rowsPerBlock = blockRows(s)
        let split = loop.concurrency > 1 && s.batch > 1
        if s.groups == 1 && s.patchRows > 0 && cout > 0 && (split || loop.concurrency <= 1) {
            backwardInputByTiles(gradient: dy, filter: filter, shape: s, into: dx, loop: loop)
            return
        }
        dx.update(repeating: 0, count: s.batch * image)
        if s.patchRows == 0 || cout == 0 { return }
        splitting(loop, 0..<s.batch, when: split, grain: 1) { images in
            withScratch(T.self, count: rowsPerBlock * k) { patches in
                for n in images {
                    var start = n * perImage
                    while start < (n + 1) * perImage {
                        let rows = start..<Swift.min((n + 1) * perImage, start + rowsPerBlock)
                        for g in 0..<s.groups {
                            try? GEMM.multiply(transposeB: true, m: rows.count, n: k, k: coutG,
                                               a: dy + rows.lowerBound * cout + g * coutG, lda: cout,
                                               b: filter + g * coutG, ldb: cout, c: patches, ldc: k,
                                               loop: split ? SerialLoop() : loop)
                            col2im(patches, s, group: g, rows: rows, into: dx)
                        }
                        start = rows.upperBound
                    }
                }
            }
        }
    }

    /// The input gradient with one group, image by image (each image's part of dx zeroed by the
    /// worker that fills it): the filter, transposed, is packed once
    /// into the micro-kernel's column panels; then for each block of a few micro-tiles of output
    /// pixels, the tiles write the block's patch gradients (`dy_block · Wᵀ`, dy read in place) into
    /// a buffer that stays in L1, and `col2im` adds them into dx. The tiles and their order are
    /// those `GEMM.multiply` runs on the same product, so the bits are the same as multiplying
    /// through it, without its per-call costs.
    static func backwardInputByTiles<T: KernelFloat>(
        gradient dy: UnsafePointer<T>, filter: UnsafePointer<T>, shape s: Conv2DShape, into dx: UnsafeMutablePointer<T>,
        loop: any ParallelLoop
    ) {
        let cout = s.outputChannels, k = s.patchSize, perImage = s.outputHeight * s.outputWidth
        let image = s.height * s.width * s.inputChannels
        let kernel = GEMM.MicroKernel<T>.best(m: perImage, n: k, level: .current, cache: .default)!
        let mr = kernel.mr, nr = kernel.nr, panels = (k + nr - 1) / nr
        let rowsPerBlock = 2 * mr
        withScratch(T.self, count: panels * cout * nr) { packed in
            // op(B) = filterᵀ: row o, column p at filter[p·cout + o].
            GEMM.packB(Operand(base: filter, ld: cout, transposed: true), row: 0, rows: cout, col: 0, cols: k,
                       panels: 0..<panels, nr: nr, into: packed)
            splitting(loop, 0..<s.batch, when: loop.concurrency > 1 && s.batch > 1, grain: 1) { images in
                withScratch(T.self, count: rowsPerBlock * k) { patches in
                    for n in images {
                        (dx + n * image).update(repeating: 0, count: image)
                        var start = n * perImage
                        while start < (n + 1) * perImage {
                            let rows = start..<Swift.min((n + 1) * perImage, start + rowsPerBlock)
                            var t = 0
                            while t < rows.count {
                                let count = Swift.min(mr, rows.count - t)
                                // Every packed panel in one call (Note [Tile runs in one call]).
                                kernel.strided(k: cout, a: dy + (rows.lowerBound + t) * cout, ars: cout, acs: 1, aRows: count,
                                               b: UnsafePointer(packed), bStride: nr, alpha: 1, beta: 0,
                                               c: patches + t * k, ldc: k, rows: count, cols: k)
                                t += count
                            }
                            col2im(patches, s, group: 0, rows: rows, into: dx)
                            start = rows.upperBound
                        }
                    }
                }
            }
        }
    }

    /// Elements of scratch `backwardFilter` needs for `s` (the chunks' partial sums).
    public static func filterScratchCount(_ s: Conv2DShape) -> Int {
        let chunks = filterChunks(s)
        if singleChannelRuns(s) && !s.isPointwise { return chunks * s.patchSize * s.outputChannels }
        return chunks > 1 ? chunks * s.patchSize * s.outputChannels : 0
    }

    /// `dW` = the gradient of `sum(conv(x, filter) · dy)` with respect to the filter. `scratch` holds
    /// `filterScratchCount(s)` elements.
    @_specialize(where T == Float)
    @_specialize(where T == Double)
    public static func backwardFilter<T: KernelFloat>(
        _ x: UnsafePointer<T>, gradient dy: UnsafePointer<T>, shape s: Conv2DShape, into dW: UnsafeMutablePointer<T>,
        scratch: UnsafeMutablePointer<T>, loop: any ParallelLoop = SerialLoop()
    ) throws {
        try s.validate()
        let cout = s.outputChannels, coutG = cout / s.groups, k = s.patchSize
        let size = k * cout
        if s.patchRows == 0 {
            dW.update(repeating: 0, count: size)
            return
        }
        if s.isPointwise {
            try GEMM.multiply(transposeA: true, m: s.inputChannels, n: cout, k: s.patchRows, a: x, lda: s.inputChannels,
                              b: dy, ldb: cout, c: dW, ldc: cout, loop: loop)
            return
        }
        if singleChannelRuns(s) && T.self == Float.self {
            singleChannelFilter(floats(x), gradient: floats(dy), shape: s, into: floats(dW), scratch: floats(scratch), loop: loop)
            return
        }
        let rowsPerBlock = blockRows(s), blocks = (s.patchRows + rowsPerBlock - 1) / rowsPerBlock
        let chunks = filterChunks(s)
        let split = loop.concurrency > 1 && chunks > 1
        splitting(loop, 0..<chunks, when: split, grain: 1) { range in
            withScratch(T.self, count: rowsPerBlock * k) { patches in
                for c in range {
                    let sum = chunks > 1 ? scratch + c * size : dW
                    for b in (c * blocks / chunks)..<((c + 1) * blocks / chunks) {
                        let rows = (b * rowsPerBlock)..<Swift.min(s.patchRows, (b + 1) * rowsPerBlock)
                        if singleChannelRuns(s) {
                            // dWᵀ = dyᵀ · patches: the few output channels are the GEMM's rows; the
                            // chunk's sum is kept transposed ([cout, patchSize]) in its scratch.
                            im2colTransposed(x, s, rows: rows, into: patches)
                            try? GEMM.multiply(transposeA: true, transposeB: true, m: cout, n: k, k: rows.count,
                                               a: dy + rows.lowerBound * cout, lda: cout, b: patches, ldb: rows.count,
                                               beta: b == c * blocks / chunks ? 0 : 1, c: scratch + c * size, ldc: k,
                                               loop: split ? SerialLoop() : loop)
                            continue
                        }
                        for g in 0..<s.groups {
                            im2col(x, s, group: g, rows: rows, into: patches)
                            try? GEMM.multiply(transposeA: true, m: k, n: coutG, k: rows.count, a: patches, lda: k,
                                               b: dy + rows.lowerBound * cout + g * coutG, ldb: cout,
                                               beta: b == c * blocks / chunks ? 0 : 1, c: sum + g * coutG, ldc: cout,
                                               loop: split ? SerialLoop() : loop)
                        }
                    }
                }
            }
        }
        if singleChannelRuns(s) {
            // The chunks' transposed sums added in order, then transposed into dW ([patchSize, cout]).
            for c in 1..<Swift.max(1, chunks) {
                Elementwise.binary(.add, UnsafePointer(scratch), UnsafePointer(scratch + c * size), into: scratch, count: size, loop: loop)
            }
            for o in 0..<cout { for p in 0..<k { dW[p * cout + o] = scratch[o * k + p] } }
            return
        }
        if chunks > 1 {
            dW.update(from: scratch, count: size)
            for c in 1..<chunks {
                Elementwise.binary(.add, UnsafePointer(dW), UnsafePointer(scratch + c * size), into: dW, count: size, loop: loop)
            }
        }
    }

    // MARK: - One input channel (Float)

    /// Image `n` of `x`, zero-padded, into `padded` (`(height + 2·padTop) × (width + 2·padLeft)`,
    /// followed by `CK_MAX_LANES` zeros that the direct kernels may read).
    static func pad(_ x: UnsafePointer<Float>, _ s: Conv2DShape, image n: Int, into padded: UnsafeMutablePointer<Float>) {
        let ph = s.height + 2 * s.padTop, pw = s.width + 2 * s.padLeft
        padded.update(repeating: 0, count: ph * pw + Int(CK_MAX_LANES))
        for r in 0..<s.height {
            (padded + (r + s.padTop) * pw + s.padLeft).update(from: x + (n * s.height + r) * s.width, count: s.width)
        }
    }

    /// Forward pass of a one-channel convolution (stride and dilation 1) straight from the padded
    /// image, no patch matrix (the level's `conv1_forward`): the same operations per output as the
    /// patches path, so the same bits. Split over images.
    static func singleChannelForward(_ x: UnsafePointer<Float>, filter: UnsafePointer<Float>, shape s: Conv2DShape,
                                     into y: UnsafeMutablePointer<Float>, loop: any ParallelLoop) {
        let cout = s.outputChannels, taps = s.patchSize, cout8 = (cout + 7) / 8 * 8
        let ph = s.height + 2 * s.padTop, pw = s.width + 2 * s.padLeft
        let kernel = currentKernels.pointee.conv1_forward!
        withScratch(Float.self, count: taps * cout8) { w8 in
            for t in 0..<taps {
                (w8 + t * cout8).update(from: filter + t * cout, count: cout)
                (w8 + t * cout8 + cout).update(repeating: 0, count: cout8 - cout)
            }
            let perImage = s.outputHeight * s.outputWidth * cout * taps
            let split = loop.concurrency > 1 && s.batch > 1 && s.batch * perImage > 1 << 20
            splitting(loop, 0..<s.batch, when: split, grain: Swift.max(1, (1 << 18) / Swift.max(1, perImage))) { images in
                withScratch(Float.self, count: ph * pw + Int(CK_MAX_LANES)) { padded in
                    for n in images {
                        pad(x, s, image: n, into: padded)
                        kernel(padded, pw, w8, s.kernelHeight, s.kernelWidth, cout,
                               y + n * s.outputHeight * s.outputWidth * cout, s.outputHeight, s.outputWidth)
                    }
                }
            }
        }
    }

    /// Filter gradient of a one-channel convolution (stride and dilation 1) from the padded image
    /// and the output gradient with channels first (the level's `conv1_filter`), image by image.
    /// The images are cut into `filterChunks(s)` consecutive chunks (by the shapes alone), each
    /// chunk's sum in its own part of `scratch`, the chunks added in order: the same bits for any
    /// worker count.
    static func singleChannelFilter(_ x: UnsafePointer<Float>, gradient dy: UnsafePointer<Float>, shape s: Conv2DShape,
                                    into dW: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                    loop: any ParallelLoop) {
        let cout = s.outputChannels, size = s.patchSize * cout, plane = s.outputHeight * s.outputWidth
        let ph = s.height + 2 * s.padTop, pw = s.width + 2 * s.padLeft
        let chunks = filterChunks(s)
        let kernel = currentKernels.pointee.conv1_filter!, transpose = currentKernels.pointee.transpose32!
        splitting(loop, 0..<chunks, when: loop.concurrency > 1 && chunks > 1, grain: 1) { range in
            withScratch(Float.self, count: ph * pw + plane * cout + 2 * Int(CK_MAX_LANES)) { buffer in
                let padded = buffer, channelsFirst = buffer + ph * pw + Int(CK_MAX_LANES)
                (channelsFirst + plane * cout).update(repeating: 0, count: Int(CK_MAX_LANES))
                for c in range {
                    let sum = scratch + c * size
                    sum.update(repeating: 0, count: size)
                    for n in (c * s.batch / chunks)..<((c + 1) * s.batch / chunks) {
                        pad(x, s, image: n, into: padded)
                        // channelsFirst[o][pixel] = dy[n][pixel][o]
                        transpose(dy + n * plane * cout, cout, channelsFirst, plane, cout, plane)
                        kernel(padded, pw, channelsFirst, s.kernelHeight, s.kernelWidth, cout, sum, s.outputHeight,
                               s.outputWidth)
                    }
                }
            }
        }
        dW.update(from: scratch, count: size)
        for c in 1..<Swift.max(1, chunks) {
            Elementwise.binary(.add, UnsafePointer(dW), UnsafePointer(scratch + c * size), into: dW, count: size, loop: loop)
        }
    }

    // MARK: - Patches

    /// Rows of the patch matrix per block: about 32 Ki elements (in L2), a multiple of 6 (the AVX2
    /// micro-tile's rows); fixed by the shapes alone, not by the CPU's kernel level, so blocks (and
    /// the filter gradient's sums) are the same on every machine.
    static func blockRows(_ s: Conv2DShape) -> Int {
        let tile = 6
        return Swift.max(tile, Swift.min(1020, (1 << 15) / Swift.max(1, s.patchSize) / tile * tile))
    }

    /// How many partial sums the filter gradient keeps: up to 16 (so up to 16 workers share it),
    /// fewer when there are few blocks or the filter is large (their scratch stays under 8 MiB of
    /// Float; a large filter's GEMM splits over workers on its own). Fixed by the shapes alone.
    static func filterChunks(_ s: Conv2DShape) -> Int {
        let blocks = (s.patchRows + blockRows(s) - 1) / blockRows(s)
        let byMemory = (1 << 21) / Swift.max(1, s.patchSize * s.outputChannels)
        return Swift.max(1, Swift.min(16, blocks, byMemory))
    }

    /// Gathers rows `rows` of group `g`'s patch matrix into `p` (`rows.count × patchSize`, row-major):
    /// for each kernel position in row-major order, the group's `Cin/groups` channels of the input
    /// pixel under it, or zeros where it lies in the padding. With one group and no dilation a
    /// kernel row's taps are one contiguous run of the input, copied at once.
    @inline(__always)
    static func im2col<T: KernelFloat>(_ x: UnsafePointer<T>, _ s: Conv2DShape, group g: Int, rows: Range<Int>,
                                       into p: UnsafeMutablePointer<T>) {
        let cg = s.inputChannels / s.groups, cin = s.inputChannels, kw = s.kernelWidth, dw = s.dilationWidth
        let runs = s.groups == 1 && dw == 1, rowLength = kw * cg
        if runs && MemoryLayout<T>.stride == 4 {
            im2colRuns(x, s, rows: rows, into: p)
            return
        }
        let source = x + g * cg
        var dst = p
        forKernelRows(s, rows) { inside, pixel, lo, hi in
            if !inside {
                fill(dst, rowLength)
            } else if runs {
                // Taps lo..<hi are in the image: input pixels pixel + lo ..< pixel + hi, contiguous.
                fill(dst, lo &* cg)
                copy(source + (pixel &+ lo) &* cin, dst + lo &* cg, (hi &- lo) &* cg)
                fill(dst + hi &* cg, (kw &- hi) &* cg)
            } else {
                fill(dst, lo &* cg)
                for t in lo..<hi { copy(source + (pixel &+ t &* dw) &* cin, dst + t &* cg, cg) }
                fill(dst + hi &* cg, (kw &- hi) &* cg)
            }
            dst += rowLength
        }
    }

    /// `im2col` for one group and no dilation, 4-byte elements: the block's rows taken in segments
    /// of one output row; for each kernel row, the segment's pixels whose taps all lie inside the
    /// image read runs of `kernelWidth · Cin` elements at a fixed step (`strideWidth · Cin`), copied
    /// by one call of the level's `copy_runs`; pixels at the left and right edges and kernel rows in
    /// the padding are written one run at a time as in `im2col`.
    static func im2colRuns<T: KernelFloat>(_ x: UnsafePointer<T>, _ s: Conv2DShape, rows: Range<Int>,
                                           into p: UnsafeMutablePointer<T>) {
        let cin = s.inputChannels, kw = s.kernelWidth, rowLength = kw * cin, patch = s.patchSize
        let oh = s.outputHeight, ow = s.outputWidth, width = s.width, sw = s.strideWidth
        // Output columns whose taps all lie inside the image: 0 <= j·sw - padLeft and
        // j·sw - padLeft + kw <= width.
        let first = (s.padLeft + sw - 1) / sw
        let last = width - kw + s.padLeft < 0 ? -1 : (width - kw + s.padLeft) / sw
        let copyRuns = currentKernels.pointee.copy_runs!
        var r = rows.lowerBound
        while r < rows.upperBound {
            let n = r / (oh * ow), i = r / ow % oh, j0 = r % ow
            let j1 = Swift.min(ow, j0 + rows.upperBound - r)
            let inner0 = Swift.min(j1, Swift.max(j0, first)), inner1 = Swift.max(inner0, Swift.min(j1, last + 1))
            let segment = p + (r - rows.lowerBound) * patch
            for a in 0..<s.kernelHeight {
                let ih = i * s.strideHeight - s.padTop + a * s.dilationHeight
                let dst = segment + a * rowLength
                guard ih >= 0 && ih < s.height else {
                    for j in j0..<j1 { fill(dst + (j - j0) * patch, rowLength) }
                    continue
                }
                let line = x + (n * s.height + ih) * width * cin
                // Edge pixels: the taps inside the image, zeros for the rest.
                func edge(_ j: Int) {
                    let left = j * sw - s.padLeft
                    let lo = Swift.min(kw, Swift.max(0, -left)), hi = Swift.max(lo, Swift.min(kw, width - left))
                    let d = dst + (j - j0) * patch
                    fill(d, lo * cin)
                    copy(line + (left + lo) * cin, d + lo * cin, (hi - lo) * cin)
                    fill(d + hi * cin, (kw - hi) * cin)
                }
                for j in j0..<inner0 { edge(j) }
                for j in inner1..<j1 { edge(j) }
                if inner0 < inner1 {
                    copyRuns(line + (inner0 * sw - s.padLeft) * cin, sw * cin, dst + (inner0 - j0) * patch, patch,
                             inner1 - inner0, rowLength)
                }
            }
            r += j1 - j0
        }
    }

    /// Whether the input has one channel (one group, stride and dilation 1): then, for a kernel
    /// position, consecutive output pixels of an output row read consecutive input pixels, so the
    /// TRANSPOSED patch matrix is gathered with whole runs of input rows instead of one short run
    /// per pixel and kernel row (a grayscale image model's first layer).
    static func singleChannelRuns(_ s: Conv2DShape) -> Bool {
        s.inputChannels == 1 && s.groups == 1 && s.strideHeight == 1 && s.strideWidth == 1
            && s.dilationHeight == 1 && s.dilationWidth == 1
    }

    /// Gathers the transpose of rows `rows` of the patch matrix into `p` (`patchSize × rows.count`,
    /// row-major): `p[t][r]` = the input pixel under kernel position `t` for output pixel `r`, or 0
    /// in the padding. For each output row the pixels of the block cover and each kernel position,
    /// that is one run of an input row (zeros where it leaves the image). Needs `singleChannelRuns`.
    static func im2colTransposed<T: KernelFloat>(_ x: UnsafePointer<T>, _ s: Conv2DShape, rows: Range<Int>,
                                                 into p: UnsafeMutablePointer<T>) {
        let ow = s.outputWidth, oh = s.outputHeight, width = s.width, height = s.height
        let kh = s.kernelHeight, kw = s.kernelWidth, ld = rows.count
        var r = rows.lowerBound
        while r < rows.upperBound {
            let n = r / (oh * ow), i = r % (oh * ow) / ow, j0 = r % ow
            let j1 = Swift.min(ow, j0 + rows.upperBound - r)          // this output row's pixels in the block
            let column = r - rows.lowerBound, count = j1 - j0
            for a in 0..<kh {
                let ih = i + a - s.padTop
                for b in 0..<kw {
                    let dst = p + (a * kw + b) * ld + column
                    guard ih >= 0 && ih < height else { fill(dst, count); continue }
                    // Output column j reads input column j + b - padLeft; inside for lo..<hi.
                    let shift = b - s.padLeft
                    let lo = Swift.min(j1, Swift.max(j0, -shift)), hi = Swift.max(lo, Swift.min(j1, width - shift))
                    fill(dst, lo - j0)
                    let source = x + (n * height + ih) * width + shift
                    (dst + (lo - j0)).update(from: source + lo, count: hi - lo)
                    fill(dst + (hi - j0), j1 - hi)
                }
            }
            r += count
        }
    }

    /// Adds rows `rows` of group `g`'s patch-gradient matrix `p` into `dx` where the patches came from
    /// (the adjoint of `im2col`), in row order and kernel-position order.
    @inline(__always)
    static func col2im<T: KernelFloat>(_ p: UnsafePointer<T>, _ s: Conv2DShape, group g: Int, rows: Range<Int>,
                                       into dx: UnsafeMutablePointer<T>) {
        let cg = s.inputChannels / s.groups, cin = s.inputChannels, dw = s.dilationWidth, rowLength = s.kernelWidth * cg
        let target = dx + g * cg
        var src = p
        let runs = s.groups == 1 && dw == 1
        forKernelRows(s, rows) { inside, pixel, lo, hi in
            if inside && runs {
                // Taps lo..<hi: one contiguous run of input pixels (as in `im2col`), added at once.
                add(src + lo &* cg, into: target + (pixel &+ lo) &* cin, (hi &- lo) &* cg)
            } else if inside {
                for t in lo..<hi {
                    let d = target + (pixel &+ t &* dw) &* cin, from = src + t &* cg
                    for c in 0..<cg { d[c] += from[c] }
                }
            }
            src += rowLength
        }
    }

    /// `count` elements from `source` to `destination`: a plain loop for short runs (often 1 to
    /// 16 elements), the C library's copy for longer ones (a kernel row of several channels).
    @inline(__always)
    static func copy<T>(_ source: UnsafePointer<T>, _ destination: UnsafeMutablePointer<T>, _ count: Int) {
        if count >= 16 {
            destination.update(from: source, count: count)
            return
        }
        var c = 0
        while c < count { destination[c] = source[c]; c &+= 1 }
    }

    /// `destination[i] += source[i]` for `i < count` (the two do not overlap): the level's vector
    /// kernel for Float runs of a vector or more, else a plain loop.
    @inline(__always)
    static func add<T: KernelFloat>(_ source: UnsafePointer<T>, into destination: UnsafeMutablePointer<T>, _ count: Int) {
        if T.self == Float.self && count >= 8 {
            Elementwise.binaryRun(AddOp.self, UnsafePointer(destination), 1, source, 1, destination, count)
            return
        }
        var c = 0
        while c < count { destination[c] += source[c]; c &+= 1 }
    }

    /// `count` zeros at `destination` (a plain loop, for the same reason).
    @inline(__always)
    static func fill<T: KernelFloat>(_ destination: UnsafeMutablePointer<T>, _ count: Int) {
        var c = 0
        while c < count { destination[c] = 0; c &+= 1 }
    }

    /// Calls `body(inside, pixel, lo, hi)` for each patch row in `rows` and each kernel row in order:
    /// `inside` says whether the kernel row lies in the image (not in the padding rows); `pixel` is
    /// the index `(n·H + ih)·W + left` of the input position under kernel column 0 (it may lie left of
    /// the image), and kernel columns `lo..<hi` fall inside the image.
    @inline(__always)
    static func forKernelRows(_ s: Conv2DShape, _ rows: Range<Int>, _ body: (Bool, Int, Int, Int) -> Void) {
        if rows.isEmpty { return }
        let ow = s.outputWidth, oh = s.outputHeight, height = s.height, width = s.width
        let sh = s.strideHeight, sw = s.strideWidth, dh = s.dilationHeight, dw = s.dilationWidth
        let kh = s.kernelHeight, kw = s.kernelWidth
        // The first row's image and output position; later rows step through them.
        var n = rows.lowerBound / (oh * ow), i = rows.lowerBound % (oh * ow) / ow, j = rows.lowerBound % ow
        for _ in rows {
            let top = i &* sh &- s.padTop, left = j &* sw &- s.padLeft
            // Columns t with 0 <= left + t·dw < width.
            let lo = left >= 0 ? 0 : (dw &- 1 &- left) / dw
            let hi = Swift.max(lo, Swift.min(kw, width &- left <= 0 ? 0 : (width &- left &- 1) / dw &+ 1))
            let base = n &* height
            for a in 0..<kh {
                let ih = top &+ a &* dh
                body(ih >= 0 && ih < height, (base &+ ih) &* width &+ left, lo, hi)
            }
            j &+= 1
            if j == ow { j = 0; i &+= 1; if i == oh { i = 0; n &+= 1 } }
        }
    }
}
