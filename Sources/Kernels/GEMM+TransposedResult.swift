import CKernels

extension GEMM {
    // Note [Narrow products of a transposed A]: a classifier's last weight gradient, dW = Hᵀ·dZ
    // (m hidden units by n classes, k rows of the batch), has a B narrower than the tile's 16
    // columns: each tile computes 16 columns for 10, and each of its k steps gathers 6 values of
    // H's column. Its transpose, dWᵀ = dZᵀ·H, puts the 10 classes on the rows (a 6-row and a
    // 4-row tile, nothing padded) and reads H's rows in place as whole panels. So such a product
    // computes Cᵀ into scratch and transposes it into C. Each element's sum is the same (the
    // same products in the same order; a multiply commutes), and with beta 0 so is the update
    // (`alpha·acc`): the bits are those of the direct path, which both products must take (k not
    // blocked). Calls of both alternated in one process (one Zen 3 core, medians): the digits
    // MLP's 256×10×32, 3.2-5.2 µs against 4.4-7.7; 64×10×32 1.7 against 2.6; 128×1×100 2.3
    // against 6.2. Where the transpose would take the packed path (1024×10×64, 1024×10×256:
    // 8-10% faster; 300×3×200: twice as slow), both stay on the direct path.

    /// The micro-kernel for `Cᵀ = op(B)ᵀ·op(A)ᵀ` when `C = alpha·Aᵀ·B` computes faster that way
    /// (Note [Narrow products of a transposed A]): Float, A transposed and B not, beta 0, B
    /// narrower than two vectors, at least 64 rows (the fewest measured), and both the product
    /// and its transpose on the small-product path; nil otherwise.
    @inline(__always)
    static func transposedResultKernel<T: KernelFloat>(
        m: Int, n: Int, k: Int, a: Operand<T>, b: Operand<T>, beta: T, kernel: MicroKernel<T>, cache: CacheSizes
    ) -> MicroKernel<T>? {
        guard T.self == Float.self, a.transposed, !b.transposed, beta == 0, m >= 64,
              let table = kernel.level.builtTable?.pointee, n < 2 * Int(table.float_lanes),
              directSuits(T.self, m: m, n: n, k: k, a: a, nr: kernel.nr, cache: cache),
              let turned = MicroKernel<T>.best(m: n, n: m, level: kernel.level, cache: cache),
              directSuits(T.self, m: n, n: m, k: k, a: Operand(base: b.base, ld: b.ld, transposed: true), nr: turned.nr,
                          cache: cache)
        else { return nil }
        return turned
    }

    /// `C = alpha·op(A)·op(B)` as the transpose of `op(B)ᵀ·op(A)ᵀ` on `kernel` (see
    /// `transposedResultKernel`), the epilogue on all of C once it is done.
    static func transposedResultProduct<T: KernelFloat>(
        m: Int, n: Int, k: Int, alpha: T, a: Operand<T>, b: Operand<T>, c: UnsafeMutablePointer<T>, ldc: Int,
        loop: any ParallelLoop, kernel: MicroKernel<T>, cache: CacheSizes, epilogue: Epilogue?
    ) {
        withScratch(T.self, count: n * m) { transposed in
            directProduct(m: n, n: m, k: k, alpha: alpha, a: Operand(base: b.base, ld: b.ld, transposed: true),
                          b: Operand(base: a.base, ld: a.ld, transposed: false), beta: 0, c: transposed, ldc: m,
                          loop: loop, kernel: kernel, cache: cache, epilogue: nil)
            kernel.level.builtTable!.pointee.transpose32(UnsafeRawPointer(transposed), m, UnsafeMutableRawPointer(c), ldc, m, n)
        }
        epilogue?(0..<m, 0..<n)
    }
}
