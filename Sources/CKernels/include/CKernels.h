// CKernels: the innermost loops of the Kernels module, compiled once per CPU level.
//
// Swift has no per-function target attribute, and a package that passes `-march` to the compiler
// cannot be a versioned dependency (SwiftPM refuses products with unsafe flags). So the loops that
// need vector code generation (the GEMM micro-kernels, the transcendental maps, the fused
// multiply-add loops) live here, written once (kernels_template.h) and compiled per level with
// per-function `target` attributes; `ck_table_for(level)` hands out one level's function table,
// `ck_best_level()` says what this CPU and its OS support (cpuid and XGETBV on x86-64). Everything
// else (blocking, packing, threading, the choice of level) stays in Swift.
//
// Arithmetic is exact as written: floating-point contraction is off, and a fused multiply-add
// appears only where a kernel calls one (on levels with FMA; the x86-64 baseline uses a multiply
// and an add instead). So one level gives the same bits on every call, independent of position
// in the array or of how the work was split; different levels may differ in the last bits.
#ifndef CKERNELS_H
#define CKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// The most Float lanes of any level (what kernels that read whole vectors past an array's end
/// may read there).
#define CK_MAX_LANES 16

/// CPU levels. Values are stable (Swift's `KernelLevel` raw values mirror them).
enum {
    CK_LEVEL_BASELINE = 0,  ///< Portable vectors: SSE2 on x86-64 (no FMA), NEON on aarch64 (FMA).
    CK_LEVEL_AVX2 = 1,      ///< x86-64 AVX2 + FMA (x86-64-v3), 256-bit vectors.
    CK_LEVEL_AVX512 = 2,    ///< x86-64 AVX-512 F/DQ/BW/VL (x86-64-v4), 512-bit vectors, 32 registers.
    CK_LEVEL_COUNT = 3
};

/// The unary maps with a kernel of their own, indexes into `ck_table.unary`.
enum {
    CK_UNARY_EXP = 0, CK_UNARY_LOG, CK_UNARY_TANH, CK_UNARY_SIGMOID, CK_UNARY_GELU, CK_UNARY_SQRT,
    CK_UNARY_NEG, CK_UNARY_ABS, CK_UNARY_SQUARE, CK_UNARY_RELU,
    CK_UNARY_COUNT
};

/// The derivatives of unary maps, indexes into `ck_table.gradient` (which saved value each one
/// takes, input or output, is documented on Swift's `UnaryGradient`).
enum {
    CK_GRADIENT_RELU = 0, CK_GRADIENT_ABS, CK_GRADIENT_SQRT, CK_GRADIENT_SQUARE, CK_GRADIENT_EXP,
    CK_GRADIENT_LOG, CK_GRADIENT_TANH, CK_GRADIENT_SIGMOID, CK_GRADIENT_GELU,
    CK_GRADIENT_COUNT
};

/// Binary operations, indexes into `ck_table.binary` and `ck_table.fold`. max and min propagate
/// NaN (`max(a, b) = a > b || a is NaN ? a : b`), as Swift's `BinaryOp` documents.
enum {
    CK_BINARY_ADD = 0, CK_BINARY_SUB, CK_BINARY_MUL, CK_BINARY_DIV, CK_BINARY_MAX, CK_BINARY_MIN,
    CK_BINARY_COUNT
};

/// GEMM register tile: `acc (mr × nr) = Σ_{p<k} A[r][p] · B[p][j]` in order of p (one multiply-add
/// per term), then `C = alpha·acc + beta·C` on the `rows × cols` corner (rows ≤ mr, cols ≤ nr).
/// A's element (r, p) is at `a[r·ars + p·acs + (p / seg)·jump]`: columns in segments of `seg`, each
/// segment `jump` further on (seg = k: plain strides; a convolution's kernel rows are segments of
/// one input row each); rows r ≥ arows read row arows-1 (results dropped). B's row p is at
/// `b + p·bstride` (nr contiguous values). When beta = 0, C is not read. The packed form ignores
/// ars, acs, arows, seg, jump and bstride (see `sgemm_packed`). Runs of tiles in one call: the
/// packed form takes rows > mr as a column of tiles (A's next panel k·mr values on, C mr rows
/// down), the strided form cols > nr as a row of tiles (C nr columns on; B's next panel nr
/// columns on, or k·nr values on when bstride = nr: packed panels).
typedef void (*ck_sgemm_tile)(long k, const float *a, long ars, long acs, long arows, long seg, long jump,
                              const float *b, long bstride, float *c, long ldc, long rows, long cols,
                              float alpha, float beta);
typedef void (*ck_dgemm_tile)(long k, const double *a, long ars, long acs, long arows, long seg, long jump,
                              const double *b, long bstride, double *c, long ldc, long rows, long cols,
                              double alpha, double beta);

/// Adam / AdamW constants for one step (see OptimizerSteps.adam in Swift).
typedef struct ck_adam_args {
    float neg_step;      ///< -learningRate / (1 - beta1^step)
    float inv_sqrt_bc2;  ///< 1 / sqrt(1 - beta2^step)
    float epsilon;
    float one_minus_b1, b2, one_minus_b2;
    float l2;            ///< weight decay added to the gradient (Adam), 0 for AdamW
    float shrink;        ///< 1 - learningRate·weightDecay (AdamW), 1 for Adam
} ck_adam_args;

/// One level's kernels.
typedef struct ck_table {
    int level;
    const char *name;
    /// Float elements per vector register at this level.
    int float_lanes;
    /// 1 when multiply-adds are fused (one rounding), 0 when they are a multiply and an add.
    int fused_multiply_add;

    /// Float GEMM tile: mr rows by nr columns; `sgemm_packed` reads a packed A panel
    /// (ars = 1, acs = mr, arows = mr) and a packed B panel (bstride = nr) and ignores those
    /// arguments; `sgemm_strided` takes any strides.
    int sgemm_mr, sgemm_nr;
    ck_sgemm_tile sgemm_packed, sgemm_strided;
    int dgemm_mr, dgemm_nr;
    ck_dgemm_tile dgemm_packed, dgemm_strided;
    /// Narrow tiles for products with few columns (a convolution's 16 output channels, a
    /// classifier's 10 classes): one vector wide and twice as tall as the tiles above, the same
    /// number of accumulators. Each C element sees the same operations in the same order as in
    /// the wide tile, so the two give the same bits.
    int sgemm_narrow_mr, sgemm_narrow_nr;
    ck_sgemm_tile sgemm_narrow_packed, sgemm_narrow_strided;
    int dgemm_narrow_mr, dgemm_narrow_nr;
    ck_dgemm_tile dgemm_narrow_packed, dgemm_narrow_strided;
    /// The share of L1, in percent, that an mr×kc micro-panel of A and a kc×nr micro-panel of B
    /// may take together when GEMM chooses its depth kc (see GEMM.MicroKernel in Swift).
    int gemm_l1_percent;
    /// Float products of at least this many rows (0: none) take a deeper kc, from L2 rather than
    /// L1: the kc×nr micro-panel of B an eighth of L2 (see GEMM.MicroKernel in Swift).
    int gemm_deep_rows;
    /// A whole sgemm tile (sgemm_mr × sgemm_nr) from a packed A panel and B read in place (row p at
    /// `b + p·bs`), each row of B also stored to `bcopy + p·sgemm_nr`: the first tile of a panel
    /// packs it while computing. The same operations as `sgemm_packed`, so the same bits.
    void (*sgemm_packed_copy_b)(long k, const float *a, const float *b, long bs, float *bcopy, float *c, long ldc,
                                float alpha, float beta);
    /// A whole sgemm tile from op(A) read in place (row r, column p at `a + r·ars + p·acs`) and a
    /// packed B panel, each value of A also stored to `acopy + p·sgemm_mr + r`: the first tile of
    /// a row panel packs it while computing. The same operations as `sgemm_packed`.
    void (*sgemm_packed_copy_a)(long k, const float *a, long ars, long acs, float *acopy, const float *b, float *c,
                                long ldc, float alpha, float beta);
    /// Float products of rows by rows, `C = alpha·A·Bᵀ + beta·C` for an m × n block with A's m
    /// rows and B's n rows both contiguous along k (lda, ldb apart), nothing packed: tiles of
    /// sgemm_dot_rows × sgemm_dot_cols dot products, vectorized along k. Summation order: lane
    /// l of a dot product adds the terms p ≡ l (mod float_lanes) in order, one multiply-add each,
    /// then the lanes are added in a fixed tree; then C's update as in the tiles above. With
    /// `bcopy` (room for sgemm_dot_cols · k floats, aligned to a vector) B's rows are read from a
    /// copy there, for B whose rows are not vector-aligned (the same bits). NULL on the baseline.
    int sgemm_dot_rows, sgemm_dot_cols;
    void (*sgemm_dot)(long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                      long m, long n, float alpha, float beta, float *bcopy);

    /// `out[i] = f(x[i])` for i < n (out may equal x). Error bounds: Sources/Kernels/KernelFloat.swift.
    void (*unary[CK_UNARY_COUNT])(const float *x, float *out, long n);
    /// `out[i] = a[i·sa] op b[i·sb]` for i < n, where (sa, sb) is (1, 1), (1, 0) or (0, 1)
    /// (contiguous, or one operand broadcast). `out` may equal a contiguous input.
    void (*binary[CK_BINARY_COUNT])(const float *a, long sa, const float *b, long sb, float *out, long n);
    /// Folds n ≥ 1 contiguous values with add, max or min (indexes CK_BINARY_ADD, _MAX, _MIN; the
    /// others are NULL) in the fixed order of Swift's `Reduction`, the same on every level:
    /// for n ≥ 32, element i < n - n mod 32 goes to 8-lane accumulator (i / 8) mod 4, lane i mod 8;
    /// the accumulators combine as (a0 op a1) op (a2 op a3); lanes fold pairwise (lane l with
    /// lane l + 4, then + 2, then + 1); the remaining elements follow one by one. For n < 32:
    /// x[0] op x[1] op ... in order.
    float (*fold[CK_BINARY_COUNT])(const float *x, long n);
    /// `out[r] = fold(x + r·n, n)` for r < rows: the same folds over consecutive runs.
    void (*fold_rows[CK_BINARY_COUNT])(const float *x, long rows, long n, float *out);
    /// `out[j] = x[0][j] op x[1][j] op ... op x[rows-1][j]` for j < n, rows `rs` apart, in row
    /// order (rows ≥ 1; add, max, min as `fold`): the column sums of a bias gradient.
    void (*fold_columns[CK_BINARY_COUNT])(const float *x, long rs, long rows, long n, float *out);
    /// Transposing copy of 4-byte elements: `dst[r·dst_stride + c] = src[c·src_stride + r]` for
    /// r < rows, c < cols (8×8 blocks transposed in registers; values are only moved).
    void (*transpose32)(const void *src, long src_stride, void *dst, long dst_stride, long rows, long cols);
    /// Runs of 4-byte elements: `dst[i·dst_step + j] = src[i·src_step + j]` for i < count,
    /// j < length (the runs of one call do not overlap the source; values are only moved). The
    /// patch gathering of convolutions: one call per output row and kernel row.
    void (*copy_runs)(const void *src, long src_step, void *dst, long dst_step, long count, long length);
    /// GEMM packing of Float panels: `dst[p·width + r] = src[r·rs + p·cs]` for r < n, p < depth,
    /// and 0 for n ≤ r < width (A panels: r a row, width mr; B panels: r a column, width nr).
    /// Vector copies when rs = 1, register transposes when cs = 1; values are only moved.
    void (*pack)(const float *src, long rs, long cs, long n, long depth, float *dst, long width);
    /// `out[i] = exp(x[i] - shift)`; returns nothing (sums stay in Swift, in their fixed order).
    void (*exp_shifted)(const float *x, float shift, float *out, long n);
    /// Softmax of `rows` rows of `n` values: `y = exp(x - max) / Σ exp(x - max)` per row, by the same
    /// calls (fold max, exp_shifted, fold add, divide) a row at a time; `y` may alias `x`.
    void (*softmax_rows)(const float *x, float *y, long rows, long n);
    /// Cross-entropy of `rows` rows of `n` < 32 logits against `labels`: `losses[r] = -((x[label] -
    /// max) - log Σ exp(x - max))`, and the softmax into `probs` unless it is NULL; the bits of the
    /// row-at-a-time calls `Softmax.crossEntropy` makes (folds of fewer than 32 values run in order).
    void (*xent_short_rows)(const float *x, const int *labels, long rows, long n, float *losses, float *probs);
    /// The gradient of those rows, `g = (softmax(x) - onehot(label)) · factor`, with the bits of the
    /// row-at-a-time calls `Softmax.crossEntropyGradient` makes.
    void (*xent_gradient_short_rows)(const float *x, const int *labels, long rows, long n, float factor, float *g);
    /// `dx[i] = dy[i] · f'(…)` from the saved `value` (input or output of f); dx may equal dy.
    void (*gradient[CK_GRADIENT_COUNT])(const float *value, const float *dy, float *dx, long n);
    /// `y[i] = y[i] + s·x[i]` (fused where the level has FMA).
    /// A convolution of one input channel, stride 1, no dilation, on one zero-padded image `x`
    /// (rows `pw` apart; `CK_MAX_LANES` floats past its end are read, their values unused):
    /// `y[(i·ow + j)·cout + o] = Σ_{a<kh, b<kw} x[(i+a)·pw + j+b] · w8[(a·kw + b)·cout8 + o]`,
    /// one multiply-add per term in (a, b) order from zero, where `w8` holds the filter with its
    /// `cout` columns zero-padded to `cout8`, the next multiple of 8.
    void (*conv1_forward)(const float *x, long pw, const float *w8, long kh, long kw, long cout,
                          float *y, long oh, long ow);
    /// Its filter gradient for one image, added to `dw`: `dw[(a·kw + b)·cout + o] +=
    /// Σ_{i<oh, j<ow} x[(i+a)·pw + j+b] · dyt[o·oh·ow + i·ow + j]` (`dyt`: the output gradient with
    /// channels first; `CK_MAX_LANES` floats past its end are read, multiplied by zero). The sum
    /// runs in vectors over j (each row's vectors in order, row after row), its lanes added
    /// pairwise at the end: a fixed order for given sizes and level. Values read past the end of
    /// a row are multiplied by zero, so they must be finite.
    void (*conv1_filter)(const float *x, long pw, const float *dyt, long kh, long kw, long cout,
                         float *dw, long oh, long ow);
    void (*saxpy)(const float *x, float s, float *y, long n);
    void (*daxpy)(const double *x, double s, double *y, long n);

    /// Optimizer steps on n parameters (see OptimizerSteps in Swift for the formulas).
    void (*sgd)(float *p, const float *g, long n, float neg_lr, float weight_decay);
    void (*momentum)(float *p, const float *g, float *velocity, long n, float neg_lr, float momentum,
                     int nesterov, float weight_decay);
    void (*adam)(float *p, const float *g, float *m, float *v, long n, const ck_adam_args *args);
} ck_table;

/// The best level this CPU and OS support (checked once: cpuid feature bits, and XGETBV for the
/// register state the OS saves: YMM for AVX2, opmask and ZMM for AVX-512).
int ck_best_level(void);

/// `level`'s table, or NULL when the level is not built for this architecture or the CPU/OS
/// does not support it.
const ck_table *ck_table_for(int level);

/// `level`'s table whether or not this CPU can run it (to describe it: tile sizes, FMA), or NULL
/// when the level is not built for this architecture. Never call its functions unless
/// `ck_table_for(level)` is not NULL.
const ck_table *ck_table_built(int level);

/// Copies `count` rows of `width` floats, row `rows[k]` of `src` (rows `width` apart) to row k of
/// `dst`, prefetching the rows a few ahead: the rows of a shuffled batch are scattered over a
/// data set larger than the caches, so each row's start would otherwise wait for memory. At most
/// the first 4 KiB of a row are prefetched (the hardware prefetcher follows a long row by itself),
/// so very wide rows do not flood the caches.
static inline void ck_gather_rows(const float *src, long width, const long *rows, long count, float *dst) {
    enum { AHEAD = 4 };
    long ahead = width < 1024 ? width : 1024;
    for (long k = 0; k < count && k < AHEAD; k++)
        for (long j = 0; j < ahead; j += 16) __builtin_prefetch(src + rows[k] * width + j, 0, 3);
    for (long k = 0; k < count; k++) {
        if (k + AHEAD < count) {
            const float *next = src + rows[k + AHEAD] * width;
            for (long j = 0; j < ahead; j += 16) __builtin_prefetch(next + j, 0, 3);
        }
        __builtin_memcpy(dst + k * width, src + rows[k] * width, (unsigned long)width * sizeof(float));
    }
}

/// Prefetches (for reading, into L2) the cache lines at `p`, `p + stride`, ... (`count` lines,
/// `stride` bytes apart): a GEMM asks for the next panel's rows of an unpacked B, and for the next
/// row block of a transposed A, while the current tiles compute (Note [Prefetching the next
/// panel]).
/// A pause for spin-wait loops (the x86 `pause` hint; `yield` on ARM).
static inline void ck_spin_pause(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

static inline void ck_prefetch_lines(const void *p, long stride, long count) {
    const char *q = (const char *)p;
    for (long i = 0; i < count; i++) __builtin_prefetch(q + i * stride, 0, 2);
}

#ifdef __cplusplus
}
#endif

#endif
