extension GEMM {
    /// A column sum that a product takes from its finished blocks: `destination[j]` becomes the
    /// sum over the product's `m` rows of `source[i·rowStride + j]`, where `source` is laid out
    /// like C (C itself, or an array an epilogue writes block by block, such as an activation's
    /// gradient). A layer's bias gradient is the column sum of its output's gradient: taken from
    /// the blocks while they are in cache, it costs no second pass over the gradient
    /// (Note [Column sums from the product's blocks]).
    public struct ColumnSum<T: KernelFloat>: @unchecked Sendable {
        /// The summed array: `m` rows of at least `n` values, `rowStride` apart.
        public var source: UnsafePointer<T>
        /// Distance in elements between consecutive rows of `source` (at least `n`).
        public var rowStride: Int
        /// Where the `n` sums go (written once, when the product is done).
        public var destination: UnsafeMutablePointer<T>

        public init(of source: UnsafePointer<T>, rowStride: Int, into destination: UnsafeMutablePointer<T>) {
            self.source = source
            self.rowStride = rowStride
            self.destination = destination
        }
    }

    // Note [Column sums from the product's blocks]: the epilogue's blocks (Note [GEMM epilogues])
    // may depend on the worker count, but their row bounds never fall inside a chunk of rows
    // fixed by the product alone: every block starts at a multiple of the tile's height `mr` on
    // the packed path and on a small-product path that may split (more than 2^20 multiply-adds),
    // of the row block on the dot-product path, and of the epilogue's run of tiles on a small
    // product never split (the same run for any worker count); where C is computed whole (a
    // transposed result, k = 0) one chunk covers it. Each chunk's sums are therefore taken by one
    // block, in one order: `((x₀ + x₁) + x₂) + …` down the chunk's rows (held in vector
    // registers, a vector of columns at a time); when the product is done, the chunks' sums are
    // added in chunk order. The sums are the same bits for every worker count. They are those of
    // `Reduction`'s column sum (rows in one sequence) when C has a single chunk, and differ from
    // them in rounding otherwise.

    /// The rows of the chunks column sums are taken in (Note [Column sums from the product's
    /// blocks]): a multiple of which every epilogue block of this product starts at. Follows the
    /// choice of path in `product`.
    static func columnSumChunk<T: KernelFloat>(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                               a: Operand<T>, b: Operand<T>, beta: T,
                                               kernel: MicroKernel<T>, cache: CacheSizes) -> Int {
        let level = kernel.level, mr = kernel.mr
        if dotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, k: k, level: level, cache: cache)
            || narrowDotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                              level: level, cache: cache) {
            return dotRowBlock(m: m, k: k, tileRows: Int(level.builtTable!.pointee.sgemm_dot_rows), cache: cache)
        }
        if transposedResultKernel(m: m, n: n, k: k, a: a, b: b, beta: beta, kernel: kernel, cache: cache) != nil {
            return m
        }
        if directSuits(T.self, m: m, n: n, k: k, a: a, nr: kernel.nr, cache: cache),
           !directMaySplit(m: m, n: n, k: k, mr: mr) {
            return Swift.min(m, roundUp(directEpilogueRows(T.self, n: n, cache: cache), mr))
        }
        return mr
    }

    /// Runs `body` with `epilogue` extended to take `sums`' chunk sums from each finished block in
    /// chunks of `chunk` rows, then adds the chunks' sums in chunk order into the destinations
    /// (the first chunk's go there directly; the others' to scratch).
    static func withColumnSums<T: KernelFloat>(
        _ sums: [ColumnSum<T>], m: Int, n: Int, chunk: Int, epilogue: Epilogue?, _ body: (Epilogue?) -> Void
    ) {
        if sums.isEmpty { body(epilogue); return }
        let chunks = (m + chunk - 1) / chunk
        withScratch(T.self, count: sums.count * (chunks - 1) * n) { scratch in
            let partials = ScratchAddress(pointer: scratch)
            body { rows, columns in
                epilogue?(rows, columns)
                precondition(rows.lowerBound % chunk == 0 && (rows.upperBound % chunk == 0 || rows.upperBound == m),
                             "gemm: an epilogue block's rows \(rows) cut a column-sum chunk of \(chunk) rows")
                for (s, sum) in sums.enumerated() {
                    var r = rows.lowerBound
                    while r < rows.upperBound {
                        let end = Swift.min(r + chunk, rows.upperBound), c = r / chunk
                        let into = c == 0 ? sum.destination : partials.pointer + (s * (chunks - 1) + c - 1) * n
                        sumRows(sum.source + r * sum.rowStride + columns.lowerBound, rowStride: sum.rowStride,
                                rows: end - r, columns: columns.count, into: into + columns.lowerBound)
                        r = end
                    }
                }
            }
            for (s, sum) in sums.enumerated() {
                for c in 1..<Swift.max(1, chunks) {
                    Elementwise.binaryRun(AddOp.self, UnsafePointer(sum.destination), 1,
                                          UnsafePointer(scratch + (s * (chunks - 1) + c - 1) * n), 1, sum.destination, n)
                }
            }
        }
    }

    /// `into[j] = ((x[0][j] + x[1][j]) + x[2][j]) + …` over `rows` rows `rowStride` apart, for
    /// `columns` columns: Float through the level's column-fold kernel (vectors of columns held in
    /// registers down the rows); Double, used by gradient checks, column by column in the same order.
    @inline(__always)
    static func sumRows<T: KernelFloat>(_ x: UnsafePointer<T>, rowStride: Int, rows: Int, columns: Int,
                                        into: UnsafeMutablePointer<T>) {
        if T.self == Float.self {
            AddOp.op.floatFoldColumns(floats(x), rowStride, rows, columns, floats(into))
            return
        }
        for j in 0..<columns {
            var acc = x[j]
            for r in 1..<Swift.max(1, rows) { acc += x[r * rowStride + j] }
            into[j] = acc
        }
    }
}

/// Scratch memory's address, for the epilogues that fill it from several workers at once (each
/// writes elements of its own).
private struct ScratchAddress<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
}
