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
    // depend on the worker count, but their row bounds never fall inside a chunk of rows fixed by
    // the path alone: every block starts at a multiple of the tile's height `mr` on the
    // small-product and packed paths, of the row block on the dot-product path (and covers all of
    // C where C is computed whole: a transposed result, k = 0). Each chunk's partial sums are
    // therefore taken by one block, in one order: `((x₀ + x₁) + x₂) + …` down the chunk's rows,
    // into scratch; when the product is done, the chunks' partials are added in chunk order. The
    // sums are the same bits for every worker count. They are not the bits of `Reduction`'s
    // column sum (rows in one sequence) unless C has a single chunk of rows.

    /// The rows of the chunks column sums are taken in (Note [Column sums from the product's
    /// blocks]): a multiple of which every epilogue block of this product starts at.
    static func columnSumChunk<T: KernelFloat>(transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int,
                                               kernel: MicroKernel<T>, cache: CacheSizes) -> Int {
        let level = kernel.level
        if dotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, k: k, level: level, cache: cache)
            || narrowDotSuits(T.self, transposeA: transposeA, transposeB: transposeB, m: m, n: n, k: k,
                              level: level, cache: cache) {
            return dotRowBlock(m: m, k: k, tileRows: Int(level.builtTable!.pointee.sgemm_dot_rows), cache: cache)
        }
        return kernel.mr
    }

    /// Runs `body` with `epilogue` extended to take `sums`' partials from each finished block in
    /// chunks of `chunk` rows, then adds the partials in chunk order into the destinations.
    static func withColumnSums<T: KernelFloat>(
        _ sums: [ColumnSum<T>], m: Int, n: Int, chunk: Int, epilogue: Epilogue?, _ body: (Epilogue?) -> Void
    ) {
        if sums.isEmpty { body(epilogue); return }
        let chunks = (m + chunk - 1) / chunk
        withScratch(T.self, count: sums.count * chunks * n) { scratch in
            let partials = ScratchAddress(pointer: scratch)
            body { rows, columns in
                epilogue?(rows, columns)
                precondition(rows.lowerBound % chunk == 0 && (rows.upperBound % chunk == 0 || rows.upperBound == m),
                             "gemm: an epilogue block's rows \(rows) cut a column-sum chunk of \(chunk) rows")
                let width = columns.count
                for (s, sum) in sums.enumerated() {
                    var r = rows.lowerBound
                    while r < rows.upperBound {
                        let end = Swift.min(r + chunk, rows.upperBound)
                        let partial = partials.pointer + (s * chunks + r / chunk) * n + columns.lowerBound
                        let first = sum.source + r * sum.rowStride + columns.lowerBound
                        partial.update(from: first, count: width)
                        for i in (r + 1)..<end {
                            Elementwise.binaryRun(AddOp.self, UnsafePointer(partial), 1, first + (i - r) * sum.rowStride, 1,
                                                  partial, width)
                        }
                        r = end
                    }
                }
            }
            for (s, sum) in sums.enumerated() {
                let first = scratch + s * chunks * n
                if chunks == 0 { sum.destination.update(repeating: 0, count: n); continue }
                sum.destination.update(from: first, count: n)
                for c in 1..<chunks {
                    Elementwise.binaryRun(AddOp.self, UnsafePointer(sum.destination), 1, UnsafePointer(first + c * n), 1,
                                          sum.destination, n)
                }
            }
        }
    }
}

/// Scratch memory's address, for the epilogues that fill it from several workers at once (each
/// writes elements of its own).
private struct ScratchAddress<T>: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<T>
}
