// The kernels of one CPU level, written once on the compiler's generic vectors and included by
// each level_*.c file inside a `#pragma clang attribute push(target(...))` region, so every
// function here is compiled for that level's instruction set. The including file defines:
//
//   CK_SUFFIX       name suffix of this level's symbols (baseline, avx2, avx512)
//   CK_LEVEL        its CK_LEVEL_* value
//   CK_LANES        floats per vector (doubles: half as many)
//   CK_FMA          1 when the level has fused multiply-add instructions
//   CK_SMR, CK_SNV  float GEMM tile: CK_SMR rows by CK_SNV vectors (nr = CK_SNV·CK_LANES)
//   CK_DMR, CK_DNV  double GEMM tile, likewise in double vectors
//   CK_GEMM_L1_PERCENT  share of L1 for the A and B micro-panels when choosing kc
//   CK_GEMM_DEEP_ROWS   Float products of at least this many rows take the deep kc (optional; 0)
//
// Not a header of its own: it defines functions and a table, once per including file.

// No C library headers: the kernels need none (copies use __builtin_memcpy), so the file also
// compiles for targets whose system headers are absent (cross-compiling checks).
#include "CKernels.h"

// No contraction: `a * b + c` is a multiply and an add; fused operations are written as FMA(...).
#pragma clang fp contract(off)

#define CK_PASTE2(a, b) a##_##b
#define CK_PASTE(a, b) CK_PASTE2(a, b)
#define CK(name) CK_PASTE(CK_PASTE(ck, name), CK_SUFFIX)
#define CK_INLINE static inline __attribute__((always_inline))
/// Shared between levels' files (see CK_STREAM_SUFFIX), not exported from the library.
#define CK_SHARED __attribute__((visibility("hidden")))
#ifndef CK_GEMM_DEEP_ROWS
#define CK_GEMM_DEEP_ROWS 0
#endif

typedef float VF __attribute__((vector_size(CK_LANES * 4)));
typedef int VI __attribute__((vector_size(CK_LANES * 4)));
typedef float VFu __attribute__((vector_size(CK_LANES * 4), aligned(4)));
#define CK_DLANES (CK_LANES / 2)
typedef double VD __attribute__((vector_size(CK_LANES * 4)));
typedef double VDu __attribute__((vector_size(CK_LANES * 4), aligned(8)));

#if CK_FMA
#define FMA(a, b, c) __builtin_elementwise_fma((a), (b), (c))
#define SFMA(a, b, c) __builtin_fmaf((a), (b), (c))
#define DFMA(a, b, c) __builtin_fma((a), (b), (c))
#else
#define FMA(a, b, c) ((a) * (b) + (c))
#define SFMA(a, b, c) ((a) * (b) + (c))
#define DFMA(a, b, c) ((a) * (b) + (c))
#endif

// MARK: - Vector helpers

CK_INLINE VF ld(const float *p) { return *(const VFu *)p; }
CK_INLINE void st(float *p, VF v) { *(VFu *)p = v; }
CK_INLINE VD ldd(const double *p) { return *(const VDu *)p; }
CK_INLINE void std_(double *p, VD v) { *(VDu *)p = v; }

CK_INLINE VF splat(float s) {
    VF v;
    for (int i = 0; i < CK_LANES; i++) v[i] = s;
    return v;
}
CK_INLINE VD splatd(double s) {
    VD v;
    for (int i = 0; i < CK_DLANES; i++) v[i] = s;
    return v;
}
CK_INLINE VI splati(int s) {
    VI v;
    for (int i = 0; i < CK_LANES; i++) v[i] = s;
    return v;
}
/// `m ? a : b` per lane (m from a comparison: all ones or all zeros).
CK_INLINE VF sel(VI m, VF a, VF b) { return (VF)((m & (VI)a) | (~m & (VI)b)); }
CK_INLINE VF vabs(VF x) { return (VF)((VI)x & splati(0x7fffffff)); }
/// 2^n for n in -126...127, from the exponent bits.
CK_INLINE VF pow2i(VI n) { return (VF)((n + 127) << 23); }

// MARK: - Elementary functions
//
// Cody–Waite range reduction and short polynomials (Cephes coefficients); no tables, no branches:
// special values are fixed with lane masks. Error bounds (measured against double libm by
// Tests/KernelsTests/VectorMathTests on every level) are listed in Sources/Kernels/KernelFloat.swift.

/// e^x: n = round(x·log2 e), r = x - n·ln2 (two-part ln2), e^r = 1 + r + r²·P(r) with P of degree 5,
/// scaled by 2^n in two halves so results down to the denormal range form without underflow.
CK_INLINE VF v_exp(VF x) {
    VI nan = x != x;
    // Lanes below -104 return 0 (the last selects): they compute exp(0) meanwhile, because
    // clamping them to -104 made the final scaling underflow into subnormals, which costs a
    // microcode assist per vector on x86 (a causal mask's -1e9 scores: softmax 2.4x slower).
    VF xc = sel(x < splat(-104.0f), splat(0.0f), x);
    xc = sel(x > splat(89.0f), splat(89.0f), xc);
    xc = sel(nan, splat(0.0f), xc);
    // Adding 1.5·2^23 rounds to the nearest integer and leaves it in the low mantissa bits.
    VF magic = splat(12582912.0f);
    VF t = xc * splat(1.44269504088896341f) + magic;
    VF n = t - magic;
    VI ni = (VI)t - (VI)magic;
    VF r = FMA(n, splat(-0.693359375f), xc);
    r = FMA(n, splat(2.12194440e-4f), r);
    VF r2 = r * r;
    VF p = FMA(splat(1.9875691500e-4f), r, splat(1.3981999507e-3f));
    p = FMA(p, r, splat(8.3334519073e-3f));
    p = FMA(p, r, splat(4.1665795894e-2f));
    p = FMA(p, r, splat(1.6666665459e-1f));
    p = FMA(p, r, splat(5.0000001201e-1f));
    VF er = FMA(p, r2, r + splat(1.0f));
    VI n1 = ni >> 1, n2 = ni - n1;
    VF y = er * pow2i(n1) * pow2i(n2);
    y = sel(x > splat(88.72283935546875f), splat(__builtin_inff()), y);
    y = sel(x < splat(-103.972084045410f), splat(0.0f), y);
    return sel(nan, x, y);
}

/// log x: x = m·2^e, m in [√½, √2), log x = e·ln2 + f - f²/2 + f³·P(f), f = m - 1, P of degree 8;
/// denormal inputs are scaled by 2^23 first.
CK_INLINE VF v_log(VF x) {
    VI tiny = x < splat(1.17549435e-38f);
    VF xs = sel(tiny, x * splat(8388608.0f), x);
    VI b = (VI)xs;
    VI e = (b >> 23) - 126;
    e = e - (tiny & splati(23));
    VF m = (VF)((b & splati(0x007fffff)) | splati(0x3f000000));  // [0.5, 1)
    VI small = m < splat(0.707106781186547524f);
    e = e + small;  // small lanes are -1: e - 1
    VF f = sel(small, m + m, m) - splat(1.0f);
    VF z = f * f;
    VF p = splat(7.0376836292e-2f);
    p = FMA(p, f, splat(-1.1514610310e-1f));
    p = FMA(p, f, splat(1.1676998740e-1f));
    p = FMA(p, f, splat(-1.2420140846e-1f));
    p = FMA(p, f, splat(1.4249322787e-1f));
    p = FMA(p, f, splat(-1.6668057665e-1f));
    p = FMA(p, f, splat(2.0000714765e-1f));
    p = FMA(p, f, splat(-2.4999993993e-1f));
    p = FMA(p, f, splat(3.3333331174e-1f));
    VF ef = (VF)(e + splati(0x4B400000)) - splat(12582912.0f);
    VF y = f * z * p;
    y = FMA(ef, splat(-2.12194440e-4f), y);
    y = FMA(z, splat(-0.5f), y);
    VF r = f + y;
    r = FMA(ef, splat(0.693359375f), r);
    r = sel(x == splat(__builtin_inff()), splat(__builtin_inff()), r);
    r = sel(x == splat(0.0f), splat(-__builtin_inff()), r);
    r = sel(x < splat(0.0f), splat(__builtin_nanf("")), r);
    return sel(x != x, x, r);
}

/// tanh x: x + x³·P(x²) for |x| < 0.625, else sign(x)·(1 - 2/(e^{2|x|} + 1)).
CK_INLINE VF v_tanh(VF x) {
    VF a = vabs(x);
    VF z = x * x;
    VF p = splat(-5.70498872745e-3f);
    p = FMA(p, z, splat(2.06390887954e-2f));
    p = FMA(p, z, splat(-5.37397155531e-2f));
    p = FMA(p, z, splat(1.33314422036e-1f));
    p = FMA(p, z, splat(-3.33332819422e-1f));
    VF small = FMA(x * z, p, x);
    VF e = v_exp(a + a);
    VF big = splat(1.0f) - splat(2.0f) / (e + splat(1.0f));
    big = sel(x < splat(0.0f), -big, big);
    VF r = sel(a < splat(0.625f), small, big);
    return sel(x != x, x, r);
}

/// 1/(1+e^-x) as s = 1/(1+e^{-|x|}): s for x ≥ 0, e^{-|x|}·s for x < 0 (full relative accuracy
/// for large negative x, down to the denormal range).
CK_INLINE VF v_sigmoid(VF x) {
    VF e = v_exp(-vabs(x));
    VF s = splat(1.0f) / (splat(1.0f) + e);
    VF r = sel(x < splat(0.0f), e * s, s);
    return sel(x != x, x, r);
}

/// GELU (tanh form) as x·sigmoid(2u), 2u = x·(A + B·x²): equal to 0.5x(1 + tanh u) without its
/// cancellation for negative x.
CK_INLINE VF v_gelu(VF x) {
    VF u2 = x * FMA(splat(0.07135481627260025f), x * x, splat(1.5957691216057308f));
    VF r = x * v_sigmoid(u2);
    return sel(x == splat(-__builtin_inff()), splat(0.0f), r);
}

/// √x, correctly rounded (the IEEE square-root instruction).
CK_INLINE VF v_sqrt(VF x) { return __builtin_elementwise_sqrt(x); }

/// gelu'(x) · dy, with gelu(x) = x·s, s = sigmoid(2u), u = c(x + 0.044715x³):
/// gelu'(x) = s + x·2s(1-s)·c(1 + 3·0.044715x²).
CK_INLINE VF v_gelu_gradient(VF x, VF dy) {
    VF c = splat(0.7978845608028654f), k = splat(0.044715f);
    VF x2 = x * x;
    VF u2 = splat(2.0f) * c * FMA(x * x2, k, x);
    VF s = v_sigmoid(u2);
    VF du = c * FMA(splat(3.0f) * k, x2, splat(1.0f));
    VF d = s + x * (splat(2.0f) * s * (splat(1.0f) - s)) * du;
    return dy * d;
}

// The cheap maps and the derivatives, as Swift's ElementwiseOps.swift defines them (same
// operations in the same order, so the same bits as those Swift loops had).
CK_INLINE VF v_neg(VF x) { return -x; }
CK_INLINE VF v_abs(VF x) { return sel(x < splat(0.0f), -x, x); }  // -0 stays -0, as in Swift
CK_INLINE VF v_square(VF x) { return x * x; }
CK_INLINE VF v_relu(VF x) { return sel((x > splat(0.0f)) | (x != x), x, splat(0.0f)); }
CK_INLINE VF g_relu(VF x, VF dy) { return sel(x != x, x, sel(x > splat(0.0f), dy, splat(0.0f))); }
CK_INLINE VF g_abs(VF x, VF dy) {
    return sel(x != x, x, sel(x < splat(0.0f), -dy, sel(x > splat(0.0f), dy, splat(0.0f))));
}
CK_INLINE VF g_sqrt(VF y, VF dy) { return dy / (y + y); }
CK_INLINE VF g_square(VF x, VF dy) { return (x + x) * dy; }
CK_INLINE VF g_exp(VF y, VF dy) { return dy * y; }
CK_INLINE VF g_log(VF x, VF dy) { return dy / x; }
CK_INLINE VF g_tanh(VF y, VF dy) { return dy * (splat(1.0f) - y * y); }
CK_INLINE VF g_sigmoid(VF y, VF dy) { return dy * (y * (splat(1.0f) - y)); }

// MARK: - Array loops
//
// Whole vectors first; a tail shorter than a vector is copied into a zero-padded vector and
// computed by the same code, so an element's result never depends on its position.

#define CK_UNARY_LOOP(fname, vfunc)                                                   \
    static void CK(fname)(const float *x, float *out, long n) {                       \
        long i = 0;                                                                   \
        for (; i + CK_LANES <= n; i += CK_LANES) st(out + i, vfunc(ld(x + i)));       \
        if (i < n) {                                                                  \
            float buf[CK_LANES] = {0};                                                \
            __builtin_memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));                      \
            st(buf, vfunc(ld(buf)));                                                  \
            __builtin_memcpy(out + i, buf, (size_t)(n - i) * sizeof(float));                    \
        }                                                                             \
    }

CK_UNARY_LOOP(exp, v_exp)
CK_UNARY_LOOP(log, v_log)
CK_UNARY_LOOP(tanh, v_tanh)
CK_UNARY_LOOP(sigmoid, v_sigmoid)
CK_UNARY_LOOP(gelu, v_gelu)
CK_UNARY_LOOP(sqrt, v_sqrt)
CK_UNARY_LOOP(neg, v_neg)
CK_UNARY_LOOP(abs, v_abs)
CK_UNARY_LOOP(square, v_square)
CK_UNARY_LOOP(relu, v_relu)

static void CK(exp_shifted)(const float *x, float shift, float *out, long n) {
    VF s = splat(shift);
    long i = 0;
    for (; i + CK_LANES <= n; i += CK_LANES) st(out + i, v_exp(ld(x + i) - s));
    if (i < n) {
        float buf[CK_LANES] = {0};
        __builtin_memcpy(buf, x + i, (size_t)(n - i) * sizeof(float));
        st(buf, v_exp(ld(buf) - s));
        __builtin_memcpy(out + i, buf, (size_t)(n - i) * sizeof(float));
    }
}

#define CK_GRADIENT_LOOP(fname, vfunc)                                                \
    static void CK(gradient_##fname)(const float *v, const float *dy, float *dx, long n) { \
        long i = 0;                                                                   \
        for (; i + CK_LANES <= n; i += CK_LANES) st(dx + i, vfunc(ld(v + i), ld(dy + i))); \
        if (i < n) {                                                                  \
            float bv[CK_LANES] = {0}, bg[CK_LANES] = {0};                             \
            __builtin_memcpy(bv, v + i, (size_t)(n - i) * sizeof(float));                       \
            __builtin_memcpy(bg, dy + i, (size_t)(n - i) * sizeof(float));                      \
            st(bv, vfunc(ld(bv), ld(bg)));                                            \
            __builtin_memcpy(dx + i, bv, (size_t)(n - i) * sizeof(float));                      \
        }                                                                             \
    }

CK_GRADIENT_LOOP(relu, g_relu)
CK_GRADIENT_LOOP(abs, g_abs)
CK_GRADIENT_LOOP(sqrt, g_sqrt)
CK_GRADIENT_LOOP(square, g_square)
CK_GRADIENT_LOOP(exp, g_exp)
CK_GRADIENT_LOOP(log, g_log)
CK_GRADIENT_LOOP(tanh, g_tanh)
CK_GRADIENT_LOOP(sigmoid, g_sigmoid)
CK_GRADIENT_LOOP(gelu, v_gelu_gradient)

static void CK(saxpy)(const float *x, float s, float *y, long n) {
    VF vs = splat(s);
    long i = 0;
    for (; i + CK_LANES <= n; i += CK_LANES) st(y + i, FMA(vs, ld(x + i), ld(y + i)));
    for (; i < n; i++) y[i] = SFMA(s, x[i], y[i]);
}

static void CK(daxpy)(const double *x, double s, double *y, long n) {
    VD vs = splatd(s);
    long i = 0;
    for (; i + CK_DLANES <= n; i += CK_DLANES) std_(y + i, FMA(vs, ldd(x + i), ldd(y + i)));
    for (; i < n; i++) y[i] = DFMA(s, x[i], y[i]);
}

// MARK: - Binary operations and folds
//
// These loops stream memory and do little arithmetic. A level may take them from another level
// by defining CK_STREAM_SUFFIX: AVX-512 uses AVX2's (512-bit loads from addresses that are not
// 64-byte aligned always span two cache lines, and compares into mask registers put extra latency
// on the folds' chains: both were 10-20% slower than AVX2 here). Their results are the same bits
// at every level (IEEE operations per element; the folds' order uses 8-lane accumulators always).

#define CK_STREAM_LANES CK_LANES
typedef float VS __attribute__((vector_size(CK_STREAM_LANES * 4)));
typedef int VSI __attribute__((vector_size(CK_STREAM_LANES * 4)));
typedef float VSu __attribute__((vector_size(CK_STREAM_LANES * 4), aligned(4)));
CK_INLINE VS lds(const float *p) { return *(const VSu *)p; }
CK_INLINE void sts(float *p, VS v) { *(VSu *)p = v; }
CK_INLINE VS splats(float s) {
    VS v;
    for (int i = 0; i < CK_STREAM_LANES; i++) v[i] = s;
    return v;
}
/// The folds' 8-lane accumulators, for combining them (two SSE registers on the baseline).
typedef float V8 __attribute__((vector_size(32)));
typedef float V8u __attribute__((vector_size(32), aligned(4)));
#define ld8(p) (*(const V8u *)(p))  // a macro: a V8 function result would warn about the AVX ABI

// Steps ahead that B's panel rows are prefetched (Note [Prefetching cold operands], at `pack`).
#define CK_B_PREFETCH_STEPS 32

// Whether a packed tile also prefetches the next tile's C (Note [Prefetching cold operands]); a
// level may turn it off.
#ifndef CK_PREFETCH_NEXT_C_TILE
#define CK_PREFETCH_NEXT_C_TILE 1
#endif

#ifndef CK_STREAM_SUFFIX
#define CK_STREAM_SUFFIX CK_SUFFIX
#define CK_STREAM(name) CK(name)

#define CK_OP_ADD(a, b) ((a) + (b))
#define CK_OP_SUB(a, b) ((a) - (b))
#define CK_OP_MUL(a, b) ((a) * (b))
#define CK_OP_DIV(a, b) ((a) / (b))
/// `m ? a : b` per lane on any vector type (m from a comparison of two such vectors).
#define CK_SELECT(m, a, b) ((__typeof__(a))(((m) & (__typeof__(m))(a)) | (~(m) & (__typeof__(m))(b))))
#define CK_OP_MAX(a, b) ({ __typeof__(a) a_ = (a), b_ = (b); CK_SELECT((a_ > b_) | (a_ != a_), a_, b_); })
#define CK_OP_MIN(a, b) ({ __typeof__(a) a_ = (a), b_ = (b); CK_SELECT((a_ < b_) | (a_ != a_), a_, b_); })
CK_INLINE float smax(float a, float b) { return (a > b || a != a) ? a : b; }
CK_INLINE float smin(float a, float b) { return (a < b || a != a) ? a : b; }
#define CK_SOP_ADD(a, b) ((a) + (b))
#define CK_SOP_SUB(a, b) ((a) - (b))
#define CK_SOP_MUL(a, b) ((a) * (b))
#define CK_SOP_DIV(a, b) ((a) / (b))
#define CK_SOP_MAX(a, b) smax((a), (b))
#define CK_SOP_MIN(a, b) smin((a), (b))

/// One loop per operation and operand layout (contiguous, b broadcast, a broadcast); the tail is
/// scalar, with the same IEEE operation per element as a vector lane.
#define CK_BINARY(name, VOP, SOP)                                                             \
    CK_SHARED void CK(binary_##name)(const float *a, long sa, const float *b, long sb, float *out, long n) { \
        long i = 0;                                                                           \
        if (sa == 1 && sb == 1) {                                                             \
            for (; i + CK_STREAM_LANES <= n; i += CK_STREAM_LANES) {                                        \
                VS x = lds(a + i), y = lds(b + i);                                              \
                sts(out + i, VOP(x, y));                                                       \
            }                                                                                 \
            for (; i < n; i++) out[i] = SOP(a[i], b[i]);                                      \
        } else if (sa == 1) {                                                                 \
            float s = b[0];                                                                   \
            VS y = splats(s);                                                                  \
            for (; i + CK_STREAM_LANES <= n; i += CK_STREAM_LANES) {                                        \
                VS x = lds(a + i);                                                             \
                sts(out + i, VOP(x, y));                                                       \
            }                                                                                 \
            for (; i < n; i++) out[i] = SOP(a[i], s);                                         \
        } else {                                                                              \
            float s = a[0];                                                                   \
            VS x = splats(s);                                                                  \
            for (; i + CK_STREAM_LANES <= n; i += CK_STREAM_LANES) {                                        \
                VS y = lds(b + i);                                                             \
                sts(out + i, VOP(x, y));                                                       \
            }                                                                                 \
            for (; i < n; i++) out[i] = SOP(s, b[i]);                                         \
        }                                                                                     \
    }

CK_BINARY(add, CK_OP_ADD, CK_SOP_ADD)
CK_BINARY(sub, CK_OP_SUB, CK_SOP_SUB)
CK_BINARY(mul, CK_OP_MUL, CK_SOP_MUL)
CK_BINARY(div, CK_OP_DIV, CK_SOP_DIV)
CK_BINARY(max, CK_OP_MAX, CK_SOP_MAX)
CK_BINARY(min, CK_OP_MIN, CK_SOP_MIN)

/// The fixed order of the header, with native vectors: the four 8-lane accumulators are
/// 32 / CK_STREAM_LANES vectors (8 SSE or 4 AVX registers) that, stored one after another,
/// lay out accumulator 0's lanes, then 1's, 2's, 3's — so each lane sees the same operations on
/// every level. The pairwise lane folds only read lanes that feed lane 0.
/// `FAST` is the loop's operation: for max and min, the plain compare-select (the x86 max/min
/// instruction, 2-cycle latency) instead of the NaN-propagating `VOP`, whose extra compare and
/// blend sit on the accumulators' dependency chain; it agrees with `VOP` when no input is NaN,
/// and NaN inputs are flagged on the side (`CHECK_NAN`) and send the run to the exact loop.
#define CK_FOLD(name, VOP, FAST, SOP, CHECK_NAN)                                              \
    CK_INLINE float CK(fold_body_##name)(const float *x, long n, int exact, int *saw_nan) {   \
        enum { NV = 32 / CK_STREAM_LANES };                                                   \
        float result;                                                                         \
        long i;                                                                               \
        if (n >= 32) {                                                                        \
            VS acc[NV];                                                                       \
            VSI nan = {0};                                                                    \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {                 \
                acc[v] = lds(x + v * CK_STREAM_LANES);                                        \
                if (CHECK_NAN && !exact) nan |= acc[v] != acc[v];                             \
            }                                                                                 \
            for (i = 32; i + 32 <= n; i += 32) {                                              \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) {             \
                    VS y = lds(x + i + v * CK_STREAM_LANES);                                  \
                    if (CHECK_NAN && !exact) {                                                \
                        nan |= y != y;                                                        \
                        acc[v] = FAST(acc[v], y);                                             \
                    } else {                                                                  \
                        acc[v] = VOP(acc[v], y);                                              \
                    }                                                                         \
                }                                                                             \
            }                                                                                 \
            if (CHECK_NAN && !exact) {                                                        \
                int any = 0;                                                                  \
                for (int l = 0; l < CK_STREAM_LANES; l++) any |= nan[l];                      \
                if (any) { *saw_nan = 1; return 0; }                                          \
            }                                                                                 \
            float lanes[32];                                                                  \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) sts(lanes + v * CK_STREAM_LANES, acc[v]); \
            V8 a0 = ld8(lanes), a1 = ld8(lanes + 8), a2 = ld8(lanes + 16), a3 = ld8(lanes + 24); \
            V8 w = VOP(VOP(a0, a1), VOP(a2, a3));                                             \
            w = VOP(w, __builtin_shufflevector(w, w, 4, 5, 6, 7, 4, 5, 6, 7));                \
            w = VOP(w, __builtin_shufflevector(w, w, 2, 3, 2, 3, 2, 3, 2, 3));                \
            w = VOP(w, __builtin_shufflevector(w, w, 1, 1, 1, 1, 1, 1, 1, 1));                \
            result = w[0];                                                                    \
        } else {                                                                              \
            result = x[0];                                                                    \
            i = 1;                                                                            \
        }                                                                                     \
        for (; i < n; i++) result = SOP(result, x[i]);                                        \
        return result;                                                                        \
    }                                                                                         \
    CK_SHARED float CK(fold_##name)(const float *x, long n) {                                    \
        int saw_nan = 0;                                                                      \
        float result = CK(fold_body_##name)(x, n, 0, &saw_nan);                               \
        return saw_nan ? CK(fold_body_##name)(x, n, 1, &saw_nan) : result;                    \
    }

#define CK_FAST_MAX(a, b) ({ __typeof__(a) a_ = (a), b_ = (b); CK_SELECT(a_ > b_, a_, b_); })
#define CK_FAST_MIN(a, b) ({ __typeof__(a) a_ = (a), b_ = (b); CK_SELECT(a_ < b_, a_, b_); })
CK_FOLD(add, CK_OP_ADD, CK_OP_ADD, CK_SOP_ADD, 0)
CK_FOLD(max, CK_OP_MAX, CK_FAST_MAX, CK_SOP_MAX, 1)
CK_FOLD(min, CK_OP_MIN, CK_FAST_MIN, CK_SOP_MIN, 1)

#define CK_FOLD_ROWS(name)                                                                    \
    CK_SHARED void CK(fold_rows_##name)(const float *x, long rows, long n, float *out) {         \
        for (long r = 0; r < rows; r++) out[r] = CK(fold_##name)(x + r * n, n);               \
    }

CK_FOLD_ROWS(add)
CK_FOLD_ROWS(max)
CK_FOLD_ROWS(min)

/// Column folds: `out[j] = ((x[0][j] op x[1][j]) op x[2][j]) op ...` down `rows` rows `rs` apart
/// (rows in order, for every column: the order of Swift's `Reduction` over a matrix's rows).
/// Eight vectors of columns at a time, each held in a register down the rows (independent
/// chains, so the adds' latency is hidden); the last columns one vector, then one value, at a time.
#define CK_FOLD_COLUMNS(name, VOP, SOP)                                                       \
    CK_SHARED void CK(fold_columns_##name)(const float *x, long rs, long rows, long n, float *out) { \
        enum { W = CK_STREAM_LANES, NV = 8 };                                                 \
        long j = 0;                                                                           \
        for (; j + NV * W <= n; j += NV * W) {                                                \
            const float *p = x + j;                                                           \
            VS acc[NV];                                                                       \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[v] = lds(p + v * W); \
            for (long r = 1; r < rows; r++) {                                                 \
                p += rs;                                                                      \
                _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) acc[v] = VOP(acc[v], lds(p + v * W)); \
            }                                                                                 \
            _Pragma("clang loop unroll(full)") for (int v = 0; v < NV; v++) sts(out + j + v * W, acc[v]); \
        }                                                                                     \
        for (; j + W <= n; j += W) {                                                          \
            const float *p = x + j;                                                           \
            VS acc = lds(p);                                                                  \
            for (long r = 1; r < rows; r++) { p += rs; acc = VOP(acc, lds(p)); }              \
            sts(out + j, acc);                                                                \
        }                                                                                     \
        for (; j < n; j++) {                                                                  \
            float acc = x[j];                                                                 \
            for (long r = 1; r < rows; r++) acc = SOP(acc, x[r * rs + j]);                    \
            out[j] = acc;                                                                     \
        }                                                                                     \
    }

CK_FOLD_COLUMNS(add, CK_OP_ADD, CK_SOP_ADD)
CK_FOLD_COLUMNS(max, CK_OP_MAX, CK_SOP_MAX)
CK_FOLD_COLUMNS(min, CK_OP_MIN, CK_SOP_MIN)

typedef unsigned U8 __attribute__((vector_size(32)));
typedef unsigned U8u __attribute__((vector_size(32), aligned(4)));

/// 8×8 blocks: 8 contiguous source rows (8 values of r each, for 8 values of c) are loaded,
/// transposed in three rounds of two-source shuffles (unpack, pair, halves), and stored as 8
/// contiguous destination rows; the edges are copied one value at a time.
CK_SHARED void CK(transpose32)(const void *src_, long ss, void *dst_, long ds, long rows, long cols) {
    const unsigned *src = (const unsigned *)src_;
    unsigned *dst = (unsigned *)dst_;
    long r = 0;
    for (; r + 8 <= rows; r += 8) {
        long c = 0;
        for (; c + 8 <= cols; c += 8) {
            const unsigned *s = src + c * ss + r;
            U8 r0 = *(const U8u *)(s), r1 = *(const U8u *)(s + ss), r2 = *(const U8u *)(s + 2 * ss);
            U8 r3 = *(const U8u *)(s + 3 * ss), r4 = *(const U8u *)(s + 4 * ss), r5 = *(const U8u *)(s + 5 * ss);
            U8 r6 = *(const U8u *)(s + 6 * ss), r7 = *(const U8u *)(s + 7 * ss);
#define CK_UNPACK_LO(a, b) __builtin_shufflevector(a, b, 0, 8, 1, 9, 4, 12, 5, 13)
#define CK_UNPACK_HI(a, b) __builtin_shufflevector(a, b, 2, 10, 3, 11, 6, 14, 7, 15)
#define CK_PAIR_LO(a, b) __builtin_shufflevector(a, b, 0, 1, 8, 9, 4, 5, 12, 13)
#define CK_PAIR_HI(a, b) __builtin_shufflevector(a, b, 2, 3, 10, 11, 6, 7, 14, 15)
#define CK_LOW(a, b) __builtin_shufflevector(a, b, 0, 1, 2, 3, 8, 9, 10, 11)
#define CK_HIGH(a, b) __builtin_shufflevector(a, b, 4, 5, 6, 7, 12, 13, 14, 15)
            U8 t0 = CK_UNPACK_LO(r0, r1), t1 = CK_UNPACK_HI(r0, r1), t2 = CK_UNPACK_LO(r2, r3), t3 = CK_UNPACK_HI(r2, r3);
            U8 t4 = CK_UNPACK_LO(r4, r5), t5 = CK_UNPACK_HI(r4, r5), t6 = CK_UNPACK_LO(r6, r7), t7 = CK_UNPACK_HI(r6, r7);
            U8 s0 = CK_PAIR_LO(t0, t2), s1 = CK_PAIR_HI(t0, t2), s2 = CK_PAIR_LO(t1, t3), s3 = CK_PAIR_HI(t1, t3);
            U8 s4 = CK_PAIR_LO(t4, t6), s5 = CK_PAIR_HI(t4, t6), s6 = CK_PAIR_LO(t5, t7), s7 = CK_PAIR_HI(t5, t7);
            unsigned *d = dst + r * ds + c;
            *(U8u *)(d) = CK_LOW(s0, s4);
            *(U8u *)(d + ds) = CK_LOW(s1, s5);
            *(U8u *)(d + 2 * ds) = CK_LOW(s2, s6);
            *(U8u *)(d + 3 * ds) = CK_LOW(s3, s7);
            *(U8u *)(d + 4 * ds) = CK_HIGH(s0, s4);
            *(U8u *)(d + 5 * ds) = CK_HIGH(s1, s5);
            *(U8u *)(d + 6 * ds) = CK_HIGH(s2, s6);
            *(U8u *)(d + 7 * ds) = CK_HIGH(s3, s7);
        }
        if (c + 4 <= cols) {
            // 4 columns: 4×8 blocks, stored as 8 rows of 4.
            typedef unsigned U4u __attribute__((vector_size(16), aligned(4)));
            const unsigned *s = src + c * ss + r;
            U8 r0 = *(const U8u *)(s), r1 = *(const U8u *)(s + ss), r2 = *(const U8u *)(s + 2 * ss);
            U8 r3 = *(const U8u *)(s + 3 * ss);
            U8 t0 = CK_UNPACK_LO(r0, r1), t1 = CK_UNPACK_HI(r0, r1), t2 = CK_UNPACK_LO(r2, r3), t3 = CK_UNPACK_HI(r2, r3);
            U8 s0 = CK_PAIR_LO(t0, t2), s1 = CK_PAIR_HI(t0, t2), s2 = CK_PAIR_LO(t1, t3), s3 = CK_PAIR_HI(t1, t3);
            unsigned *d = dst + r * ds + c;
            *(U4u *)(d) = __builtin_shufflevector(s0, s0, 0, 1, 2, 3);
            *(U4u *)(d + ds) = __builtin_shufflevector(s1, s1, 0, 1, 2, 3);
            *(U4u *)(d + 2 * ds) = __builtin_shufflevector(s2, s2, 0, 1, 2, 3);
            *(U4u *)(d + 3 * ds) = __builtin_shufflevector(s3, s3, 0, 1, 2, 3);
            *(U4u *)(d + 4 * ds) = __builtin_shufflevector(s0, s0, 4, 5, 6, 7);
            *(U4u *)(d + 5 * ds) = __builtin_shufflevector(s1, s1, 4, 5, 6, 7);
            *(U4u *)(d + 6 * ds) = __builtin_shufflevector(s2, s2, 4, 5, 6, 7);
            *(U4u *)(d + 7 * ds) = __builtin_shufflevector(s3, s3, 4, 5, 6, 7);
            c += 4;
        }
        for (long rr = r; rr < r + 8; rr++)
            for (long cc = c; cc < cols; cc++) dst[rr * ds + cc] = src[cc * ss + rr];
    }
    for (; r < rows; r++)
        for (long c = 0; c < cols; c++) dst[r * ds + c] = src[c * ss + r];
}

/// Whole vectors, the last one overlapping the one before (a copy may write an element twice);
/// runs shorter than a vector one element at a time.
CK_SHARED void CK(copy_runs)(const void *src_, long ss, void *dst_, long ds, long count, long length) {
    const float *src = (const float *)src_;
    float *dst = (float *)dst_;
    for (long i = 0; i < count; i++) {
        const float *s = src + i * ss;
        float *d = dst + i * ds;
        if (length < CK_STREAM_LANES) {
            for (long j = 0; j < length; j++) d[j] = s[j];
            continue;
        }
        long j = 0;
        for (; j + CK_STREAM_LANES <= length; j += CK_STREAM_LANES) sts(d + j, lds(s + j));
        if (j < length) sts(d + length - CK_STREAM_LANES, lds(s + length - CK_STREAM_LANES));
    }
}

// Note [Prefetching cold operands]: in a training step every product's operands come from
// memory, not from the caches: the other layers' products and updates (about 12 MB at batch 256
// on the 784-1024-1024-10 MLP) evict them between two uses. A `bench gemm --flush-mb 16` run
// shows what that costs: 256x1024x1024 fell from 236-252 GFLOP/s (operands left warm by the call
// before) to 220-227, and 784x1024x256 with beta = 1 (C += A·B, an SGD update) from 242-246 to
// 224-226. B's rows read along a panel are a row apart (4 KiB for 1024 columns): a page per step,
// which the hardware prefetchers do not follow, so each line waited on memory. So:
// - packing B ahead (`pack`, contiguous panel rows) and the first tile that packs B
//   (`sgemm_packed_copy_b`) prefetch the panel row CK_B_PREFETCH_STEPS steps ahead (32; 16
//   gained less, 64 the same);
// - a packed tile prefetches, besides its own C tile, the next one down (the next tile the row
//   block's loop computes, in `blockTimesPanels`), so the loads of C that its write-back needs
//   when beta != 0 have started a tile earlier (where the level keeps it: see below).
// Measured on the AVX-512 level of an earlier host: 256x1024x1024 cold 222-225 -> 233-237 GFLOP/s;
// 784x1024x256 beta 1 cold 198-205 -> 203-216 (noisy); the batch-256 MLP step 2-4% faster.
// The AVX2 level does not prefetch the next C tile (CK_PREFETCH_NEXT_C_TILE 0). On a Zen 3 core,
// whose L1 has 8 ways, the MLP steps ran 0.6-1.2% faster without it (steps alternated in one
// process: batch 256 and 64, 1 and 2 workers, 100-200 steps each), and the other models of
// `bench backprop` 0-1% faster. A C tile's rows are 4 KiB apart in those products, so all of its
// lines share one L1 set: 6 rows of this tile and 6 of the next do not fit in 8 ways, so the
// next tile's lines likely evicted this one's before its write-back (the VM has no counters to
// confirm it). Prefetches never fault, so rows past the end of B or C cost nothing but the
// prefetch. The dot-product tiles read B's rows in order along k, which the hardware prefetchers
// follow: prefetching their next group of rows made them 1-5% slower (two ways tried) and is not
// done.

/// The first `count` (< CK_STREAM_LANES) floats at `s` in lanes 0..<count, the others 0; reads
/// nothing past `s + count`. Unrolled over the lanes with a test each, so that it stays inline (a
/// loop up to `count` is turned into a call to memcpy).
CK_INLINE VS CK(lds_first)(const float *s, long count) {
    VS v = splats(0);
    _Pragma("clang loop unroll(full)") for (int i = 0; i < CK_STREAM_LANES; i++) if (i < count) v[i] = s[i];
    return v;
}

CK_SHARED void CK(pack)(const float *src, long rs, long cs, long n, long depth, float *dst, long width) {
    if (rs == 1) {
        for (long p = 0; p < depth; p++) {
            const float *s = src + p * cs;
            float *d = dst + p * width;
            // Note [Prefetching cold operands].
            if (p + CK_B_PREFETCH_STEPS < depth)
                for (long r = 0; r < n; r += 64 / (long)sizeof(float))
                    __builtin_prefetch(s + CK_B_PREFETCH_STEPS * cs + r, 0, 3);
            long r = 0;
            for (; r + CK_STREAM_LANES <= n; r += CK_STREAM_LANES) sts(d + r, lds(s + r));
            if (r < n && r + CK_STREAM_LANES <= width) {
                // A partial last vector (a 10-column B in 16-wide panels) and its padding, in
                // whole vectors: scalar loops here became a memcpy and a memset call per step
                // (256 steps of 10 columns into 16: 1.83 µs, now 1.35, one Zen 3 core).
                sts(d + r, CK(lds_first)(s + r, n - r));
                for (r += CK_STREAM_LANES; r + CK_STREAM_LANES <= width; r += CK_STREAM_LANES) sts(d + r, splats(0));
            }
            for (; r < n; r++) d[r] = s[r];
            for (; r < width; r++) d[r] = 0;
        }
    } else if (cs == 1) {
        // The zero padding first, in whole vectors that may reach back into the values (the
        // transpose then overwrites those); a loop of a few scalar zeros per step would become a
        // C library call per step.
        if (n < width && width >= CK_STREAM_LANES) {
            VS zero = {0};
            for (long p = 0; p < depth; p++)
                for (long r = n; r < width; r += CK_STREAM_LANES) {
                    long at = r + CK_STREAM_LANES <= width ? r : width - CK_STREAM_LANES;
                    sts(dst + p * width + at, zero);
                }
        } else {
            for (long p = 0; p < depth; p++)
                for (long r = n; r < width; r++) dst[p * width + r] = 0;
        }
        CK(transpose32)(src, rs, dst, width, depth, n);
    } else {
        for (long p = 0; p < depth; p++) {
            for (long r = 0; r < n; r++) dst[p * width + r] = src[r * rs + p * cs];
            for (long r = n; r < width; r++) dst[p * width + r] = 0;
        }
    }
}

#else
#define CK_STREAM(name) CK_PASTE(CK_PASTE(ck, name), CK_STREAM_SUFFIX)
CK_SHARED void CK_STREAM(pack)(const float *src, long rs, long cs, long n, long depth, float *dst, long width);
CK_SHARED void CK_STREAM(transpose32)(const void *src, long ss, void *dst, long ds, long rows, long cols);
CK_SHARED void CK_STREAM(copy_runs)(const void *src, long ss, void *dst, long ds, long count, long length);
#define CK_DECLARE_BINARY(name) \
    CK_SHARED void CK_STREAM(binary_##name)(const float *a, long sa, const float *b, long sb, float *out, long n);
#define CK_DECLARE_FOLD(name) \
    CK_SHARED float CK_STREAM(fold_##name)(const float *x, long n); \
    CK_SHARED void CK_STREAM(fold_rows_##name)(const float *x, long rows, long n, float *out); \
    CK_SHARED void CK_STREAM(fold_columns_##name)(const float *x, long rs, long rows, long n, float *out);
CK_DECLARE_BINARY(add) CK_DECLARE_BINARY(sub) CK_DECLARE_BINARY(mul)
CK_DECLARE_BINARY(div) CK_DECLARE_BINARY(max) CK_DECLARE_BINARY(min)
CK_DECLARE_FOLD(add) CK_DECLARE_FOLD(max) CK_DECLARE_FOLD(min)
#endif

// MARK: - Softmax rows

/// Softmax row by row with the very calls the Swift row loop made (so the same bits), without its
/// per-row cost: rows of attention scores are short (32 values) and many.
static void CK(softmax_rows)(const float *x, float *y, long rows, long n) {
    for (long r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        float m = CK_STREAM(fold_max)(xr, n);
        CK(exp_shifted)(xr, m, yr, n);
        float s = CK_STREAM(fold_add)(yr, n);
        CK_STREAM(binary_div)(yr, 1, &s, 0, yr, n);
    }
}

// MARK: - Cross-entropy of short rows
//
// A classifier's rows are short (10 classes), and the row-at-a-time calls (fold max, exp_shifted,
// fold add, log, divide) cost more per call than per value. Folds of fewer than 32 values take
// x[0], then each next value in order (CK_FOLD), so CK_LANES rows at a time, one row per lane,
// give the same bits: the row's max by the same comparisons, the same exp and log per value, the
// sum in the same order, the same divisions and products.

CK_INLINE VF ck_vmax(VF a, VF b) { return sel((VI)((a > b) | (a != a)), a, b); }

/* Rows r0 ..< r0 + count (at most CK_LANES) of n < 32 values: e[j] = exp(x[j] - max) per lane, the
   max into *max, the sum (in order) returned. Lanes past `count` compute on zeros. */
CK_INLINE VF ck_short_rows_exp(const float *x, long r0, long count, long n, VF *e, VF *max) {
    float buf[CK_LANES];
    for (long j = 0; j < n; j++) {
        for (long l = 0; l < CK_LANES; l++) buf[l] = l < count ? x[(r0 + l) * n + j] : 0.0f;
        e[j] = ld(buf);
    }
    VF m = e[0];
    for (long j = 1; j < n; j++) m = ck_vmax(m, e[j]);
    e[0] = v_exp(e[0] - m);
    VF s = e[0];
    for (long j = 1; j < n; j++) {
        e[j] = v_exp(e[j] - m);
        s = s + e[j];
    }
    *max = m;
    return s;
}

/* Column j of the block's rows, e[j] / s, into out (rows r0 ..< r0 + count, n values a row). */
CK_INLINE void ck_short_rows_divide(const VF *e, VF s, long r0, long count, long n, float *out) {
    float buf[CK_LANES];
    for (long j = 0; j < n; j++) {
        st(buf, e[j] / s);
        for (long l = 0; l < count; l++) out[(r0 + l) * n + j] = buf[l];
    }
}

static void CK(xent_short_rows)(const float *x, const int *labels, long rows, long n, float *losses, float *probs) {
    for (long r0 = 0; r0 < rows; r0 += CK_LANES) {
        long count = rows - r0 < CK_LANES ? rows - r0 : CK_LANES;
        VF e[32], m;
        VF s = ck_short_rows_exp(x, r0, count, n, e, &m);
        float mb[CK_LANES], lb[CK_LANES];
        st(mb, m);
        st(lb, v_log(s));
        for (long l = 0; l < count; l++) {
            const float *xr = x + (r0 + l) * n;
            losses[r0 + l] = -((xr[labels[r0 + l]] - mb[l]) - lb[l]);
        }
        if (probs) ck_short_rows_divide(e, s, r0, count, n, probs);
    }
}

static void CK(xent_gradient_short_rows)(const float *x, const int *labels, long rows, long n, float factor, float *g) {
    for (long r0 = 0; r0 < rows; r0 += CK_LANES) {
        long count = rows - r0 < CK_LANES ? rows - r0 : CK_LANES;
        VF e[32], m;
        VF s = ck_short_rows_exp(x, r0, count, n, e, &m);
        ck_short_rows_divide(e, s, r0, count, n, g);
        for (long l = 0; l < count; l++) {
            float *gr = g + (r0 + l) * n;
            gr[labels[r0 + l]] -= 1;
            for (long j = 0; j < n; j++) gr[j] = gr[j] * factor;
        }
    }
}

// MARK: - Optimizer steps (formulas: Sources/Kernels/OptimizerSteps.swift)

/// Runs `body(offset pointers)` on whole vectors, then on zero-padded copies of the tail; arrays
/// named in `outs` are copied back. Written as a macro over the step's arrays.
#define CK_TAIL_BUF(name) float name##_t[CK_LANES] = {0}; __builtin_memcpy(name##_t, name + i, (size_t)(n - i) * sizeof(float))
#define CK_TAIL_OUT(name) __builtin_memcpy(name + i, name##_t, (size_t)(n - i) * sizeof(float))

CK_INLINE void sgd_body(float *p, const float *g, VF nlr, VF wd) {
    VF pv = ld(p), gv = ld(g);
    st(p, FMA(nlr, FMA(wd, pv, gv), pv));
}

static void CK(sgd)(float *p, const float *g, long n, float neg_lr, float weight_decay) {
    VF nlr = splat(neg_lr), wd = splat(weight_decay);
    long i = 0;
    for (; i + CK_LANES <= n; i += CK_LANES) sgd_body(p + i, g + i, nlr, wd);
    if (i < n) {
        CK_TAIL_BUF(p); CK_TAIL_BUF(g);
        sgd_body(p_t, g_t, nlr, wd);
        CK_TAIL_OUT(p);
    }
}

CK_INLINE void momentum_body(float *p, const float *g, float *vel, VF nlr, VF mu, int nesterov, VF wd) {
    VF pv = ld(p);
    VF gv = FMA(wd, pv, ld(g));
    VF vv = FMA(mu, ld(vel), gv);
    VF direction = nesterov ? FMA(mu, vv, gv) : vv;
    st(vel, vv);
    st(p, FMA(nlr, direction, pv));
}

static void CK(momentum)(float *p, const float *g, float *velocity, long n, float neg_lr, float momentum,
                         int nesterov, float weight_decay) {
    VF nlr = splat(neg_lr), mu = splat(momentum), wd = splat(weight_decay);
    long i = 0;
    for (; i + CK_LANES <= n; i += CK_LANES) momentum_body(p + i, g + i, velocity + i, nlr, mu, nesterov, wd);
    if (i < n) {
        CK_TAIL_BUF(p); CK_TAIL_BUF(g); CK_TAIL_BUF(velocity);
        momentum_body(p_t, g_t, velocity_t, nlr, mu, nesterov, wd);
        CK_TAIL_OUT(p); CK_TAIL_OUT(velocity);
    }
}

typedef struct { VF neg_step, inv_sqrt_bc2, eps, one_minus_b1, b2, one_minus_b2, l2, shrink; } adam_consts;

CK_INLINE void adam_body(float *p, const float *g, float *m, float *v, const adam_consts *k) {
    VF p0 = ld(p);
    VF gv = FMA(k->l2, p0, ld(g));
    VF m0 = ld(m);
    VF mv = FMA(k->one_minus_b1, gv - m0, m0);
    VF vv = FMA(k->one_minus_b2 * gv, gv, k->b2 * ld(v));
    VF d = FMA(v_sqrt(vv), k->inv_sqrt_bc2, k->eps);
    st(m, mv);
    st(v, vv);
    st(p, FMA(k->neg_step, mv / d, p0 * k->shrink));
}

static void CK(adam)(float *p, const float *g, float *m, float *v, long n, const ck_adam_args *a) {
    adam_consts k = {splat(a->neg_step), splat(a->inv_sqrt_bc2), splat(a->epsilon), splat(a->one_minus_b1),
                     splat(a->b2), splat(a->one_minus_b2), splat(a->l2), splat(a->shrink)};
    long i = 0;
    for (; i + CK_LANES <= n; i += CK_LANES) adam_body(p + i, g + i, m + i, v + i, &k);
    if (i < n) {
        CK_TAIL_BUF(p); CK_TAIL_BUF(g); CK_TAIL_BUF(m); CK_TAIL_BUF(v);
        adam_body(p_t, g_t, m_t, v_t, &k);
        CK_TAIL_OUT(p); CK_TAIL_OUT(m); CK_TAIL_OUT(v);
    }
}

// MARK: - GEMM micro-kernels
//
// The register tile of BLIS: R rows by NV vectors of accumulators, one broadcast of A and NV
// loads of B per k step, R·NV multiply-adds. Each tile function has bodies for R = MR and for
// edge tiles of at most MR/3, MR/2 or 2·MR/3 rows (less wasted work on small products). `packed`
// specializes the strides of packed panels (A: MR values per k step, of which the body reads R;
// B: NR values per k step) and prefetches the C tile before the loop; `strided` reads A and B in
// place (the small-product path). Every C element gets the same operations whichever body and
// whichever corner of a tile computes it: Σ over p in order, then the same update arithmetic.
// SEGMENTED picks the in-place reading of A: 0, plain strides; 1, columns in segments of `seg`
// with `jump` between them (a convolution's kernel rows); 2, the same with unit steps (acs = 1 and
// B a whole panel, bs = NR) as constants, which frees two registers.

#define CK_U _Pragma("clang loop unroll(full)")
// The k loops of the tiles, unrolled 4 times (Note [Unrolled k loops]): rolled, clang kept one
// accumulator in two registers and moved it twice a step, and the tile ran at 80-84% of the FMA
// units' peak with its operands in L1; unrolled, at 92-96% (Benchmarks/gemm/tile_peak.c measures
// it). The same operations in the same order. Only the tiles on packed panels and the copying
// tiles: the in-place (strided) bodies stay rolled.
#define CK_UNROLL_K _Pragma("clang loop unroll_count(4)")

// Row counts of the shorter bodies: a third and two thirds of MR (at least one row). An edge tile
// of `rows` rows takes the shortest body that holds them (12-row tiles: 4, 6, 8 or 12 rows), so a
// batch of 64 (5 × 12 + 4) or 32 (2 × 12 + 8) computes no padded rows.
#define CK_THIRD(MR) ((MR) / 3 > 0 ? (MR) / 3 : 1)
#define CK_TWO_THIRDS(MR) (2 * (MR) / 3 > 0 ? 2 * (MR) / 3 : 1)

#define CK_GEMM_BODY(name, T, V, LOADV, STOREV, SPLATV, LANES, MR, R, NV, SCALAR_FMA, SEGMENTED)        \
    CK_INLINE void name(long k, const T *a, long ars, long acs, long arows, long seg, long jump,         \
                        const T *b, long bs, T *c, long ldc, long rows, long cols, T alpha, T beta,      \
                        int packed) {                                                                   \
        enum { NR = NV * LANES };                                                                       \
        V acc[R][NV];                                                                                   \
        CK_U for (int r = 0; r < R; r++) CK_U for (int v = 0; v < NV; v++) acc[r][v] = SPLATV(0);       \
        /* The C tile is prefetched before the loop on both paths (its write-back reads it when   \
           beta != 0: an update folded into the product, a k block after the first). */         \
        CK_U for (int r = 0; r < R; r++) {                                                              \
            __builtin_prefetch(c + r * ldc, 1, 3);                                                      \
            __builtin_prefetch(c + r * ldc + NR - 1, 1, 3);                                             \
        }                                                                                               \
        /* And the next tile's (Note [Prefetching cold operands]). */                                   \
        if (packed && CK_PREFETCH_NEXT_C_TILE) CK_U for (int r = MR; r < 2 * MR; r++) {                 \
            __builtin_prefetch(c + r * ldc, 1, 2);                                                      \
            __builtin_prefetch(c + r * ldc + NR - 1, 1, 2);                                             \
        }                                                                                               \
        if (packed) {                                                                                   \
            CK_UNROLL_K for (long p = 0; p < k; p++) {                                                  \
                V bv[NV];                                                                               \
                CK_U for (int v = 0; v < NV; v++) bv[v] = LOADV(b + v * LANES);                         \
                CK_U for (int r = 0; r < R; r++) {                                                      \
                    V x = SPLATV(a[r]);                                                                 \
                    CK_U for (int v = 0; v < NV; v++) acc[r][v] = FMA(x, bv[v], acc[r][v]);             \
                }                                                                                       \
                a += MR;                                                                                \
                b += NR;                                                                                \
            }                                                                                           \
        } else {                                                                                        \
            const T *ap[R];                                                                             \
            CK_U for (int r = 0; r < R; r++) ap[r] = a + (r < arows ? r : arows - 1) * ars;             \
            /* Segments as an outer loop: the inner loop keeps the R row addresses, the offset,  \
               B and its counter in registers (a segment counter inside it spilled them). */         \
            long off = 0;                                                                               \
            for (long p0 = 0; p0 < k; p0 += (SEGMENTED ? seg : k)) {                                    \
                long steps = SEGMENTED && seg < k - p0 ? seg : k - p0;                                  \
                for (long p = 0; p < steps; p++) {                                                      \
                    V bv[NV];                                                                           \
                    CK_U for (int v = 0; v < NV; v++) bv[v] = LOADV(b + v * LANES);                     \
                    CK_U for (int r = 0; r < R; r++) {                                                  \
                        V x = SPLATV(ap[r][off]);                                                       \
                        CK_U for (int v = 0; v < NV; v++) acc[r][v] = FMA(x, bv[v], acc[r][v]);         \
                    }                                                                                   \
                    off += SEGMENTED == 2 ? 1 : acs;                                                    \
                    b += SEGMENTED == 2 ? NV * LANES : bs;                                              \
                }                                                                                       \
                off += SEGMENTED ? jump : 0;                                                            \
            }                                                                                           \
        }                                                                                               \
        if (cols == NR) {                                                                               \
            /* Whole rows (the rows that exist: a partial tile's rows too) in vectors. */               \
            V va = SPLATV(alpha), vb = SPLATV(beta);                                                    \
            CK_U for (int r = 0; r < R; r++)                                                            \
                if (r < rows) CK_U for (int v = 0; v < NV; v++) {                                       \
                    T *pc = c + r * ldc + v * LANES;                                                    \
                    V res;                                                                              \
                    if (beta == 0) {                                                                    \
                        res = acc[r][v] * va;                                                           \
                    } else {                                                                            \
                        V o = LOADV(pc);                                                                \
                        if (beta != 1) o = o * vb;                                                      \
                        res = FMA(acc[r][v], va, o);                                                    \
                    }                                                                                   \
                    STOREV(pc, res);                                                                    \
                }                                                                                       \
        } else {                                                                                        \
            T buf[R * NR];                                                                              \
            CK_U for (int r = 0; r < R; r++)                                                            \
                CK_U for (int v = 0; v < NV; v++) STOREV(buf + r * NR + v * LANES, acc[r][v]);          \
            for (long r = 0; r < rows; r++)                                                             \
                for (long j = 0; j < cols; j++) {                                                       \
                    T x = buf[r * NR + j];                                                              \
                    T *pc = c + r * ldc + j;                                                            \
                    if (beta == 0) {                                                                    \
                        *pc = x * alpha;                                                                \
                    } else {                                                                            \
                        T o = *pc;                                                                      \
                        if (beta != 1) o = o * beta;                                                    \
                        *pc = SCALAR_FMA(x, alpha, o);                                                  \
                    }                                                                                   \
                }                                                                                       \
        }                                                                                               \
    }

/// The packed form's entry point (`ck_sgemm_tile`): a column of `prefix##_packed_tile`s, the row
/// panels of packed A k·MR values apart and their tiles MR rows down C (Note [Tile runs in one
/// call] in Swift).
#define CK_DEFINE_PACKED_COLUMN(prefix, T, MR)                                                          \
    static void CK(prefix##_packed)(long k, const T *a, long ars, long acs, long arows, long seg,        \
                                    long jump, const T *b, long bs, T *c, long ldc, long rows,          \
                                    long cols, T alpha, T beta) {                                       \
        (void)ars; (void)acs; (void)arows; (void)seg; (void)jump; (void)bs;                             \
        for (;;) {                                                                                      \
            CK(prefix##_packed_tile)(k, a, b, c, ldc, rows < MR ? rows : MR, cols, alpha, beta);        \
            rows -= MR;                                                                                 \
            if (rows <= 0) break;                                                                       \
            a += k * MR;                                                                                \
            c += MR * ldc;                                                                              \
        }                                                                                               \
    }

#define CK_DEFINE_GEMM(prefix, T, V, LOADV, STOREV, SPLATV, LANES, MR, NV, SCALAR_FMA)                  \
    CK_GEMM_BODY(CK(prefix##_full), T, V, LOADV, STOREV, SPLATV, LANES, MR, MR, NV, SCALAR_FMA, 0)      \
    CK_GEMM_BODY(CK(prefix##_half), T, V, LOADV, STOREV, SPLATV, LANES, MR, (MR / 2), NV, SCALAR_FMA, 0) \
    CK_GEMM_BODY(CK(prefix##_third), T, V, LOADV, STOREV, SPLATV, LANES, MR, CK_THIRD(MR), NV, SCALAR_FMA, 0) \
    CK_GEMM_BODY(CK(prefix##_two_thirds), T, V, LOADV, STOREV, SPLATV, LANES, MR, CK_TWO_THIRDS(MR), NV,     \
                 SCALAR_FMA, 0)                                                                         \
    CK_GEMM_BODY(CK(prefix##_full_seg), T, V, LOADV, STOREV, SPLATV, LANES, MR, MR, NV, SCALAR_FMA, 1)  \
    CK_GEMM_BODY(CK(prefix##_half_seg), T, V, LOADV, STOREV, SPLATV, LANES, MR, (MR / 2), NV,           \
                 SCALAR_FMA, 1)                                                                         \
    CK_GEMM_BODY(CK(prefix##_full_unit), T, V, LOADV, STOREV, SPLATV, LANES, MR, MR, NV, SCALAR_FMA, 2) \
    CK_GEMM_BODY(CK(prefix##_half_unit), T, V, LOADV, STOREV, SPLATV, LANES, MR, (MR / 2), NV,          \
                 SCALAR_FMA, 2)                                                                         \
    /* One tile, not inlined into the loops below: inlined, clang hoisted the splats of alpha and */ \
    /* beta out of them and spilled the accumulators of the 6x16 tile (Note [Tile runs in one call]). */ \
    static __attribute__((noinline)) void CK(prefix##_packed_tile)(long k, const T *a, const T *b, T *c, \
                                                                     long ldc, long rows, long cols,   \
                                                                     T alpha, T beta) {                \
        if (rows <= CK_THIRD(MR))                                                                       \
            CK(prefix##_third)(k, a, 1, MR, MR, k, 0, b, NV * LANES, c, ldc, rows, cols, alpha, beta, 1); \
        else if (rows <= MR / 2)                                                                        \
            CK(prefix##_half)(k, a, 1, MR, MR, k, 0, b, NV * LANES, c, ldc, rows, cols, alpha, beta, 1); \
        else if (rows <= CK_TWO_THIRDS(MR))                                                             \
            CK(prefix##_two_thirds)(k, a, 1, MR, MR, k, 0, b, NV * LANES, c, ldc, rows, cols, alpha, beta, 1); \
        else                                                                                            \
            CK(prefix##_full)(k, a, 1, MR, MR, k, 0, b, NV * LANES, c, ldc, rows, cols, alpha, beta, 1); \
    }                                                                                                   \
    CK_DEFINE_PACKED_COLUMN(prefix, T, MR)                                                              \
    /* Segments (seg < k) take the bodies that count them; plain strides the ones that do not. */      \
    static __attribute__((noinline)) void CK(prefix##_strided_tile)(long k, const T *a, long ars, long acs, \
                                                                      long arows, long seg, long jump,   \
                                                                      const T *b, long bs, T *c, long ldc, \
                                                                      long rows, long cols, T alpha, T beta) { \
        int unit = acs == 1 && bs == NV * LANES;                                                        \
        if (seg < k && unit && rows <= MR / 2)                                                          \
            CK(prefix##_half_unit)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (seg < k && unit)                                                                       \
            CK(prefix##_full_unit)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (seg < k && rows <= MR / 2)                                                             \
            CK(prefix##_half_seg)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (seg < k)                                                                               \
            CK(prefix##_full_seg)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (rows <= CK_THIRD(MR))                                                                  \
            CK(prefix##_third)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (rows <= MR / 2)                                                                        \
            CK(prefix##_half)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (rows <= CK_TWO_THIRDS(MR))                                                             \
            CK(prefix##_two_thirds)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else                                                                                            \
            CK(prefix##_full)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
    }                                                                                                   \
    static void CK(prefix##_strided)(long k, const T *a, long ars, long acs, long arows, long seg,       \
                                     long jump, const T *b, long bs, T *c, long ldc, long rows,         \
                                     long cols, T alpha, T beta) {                                      \
        enum { NR_ = NV * LANES };                                                                      \
        for (;;) {                                                                                      \
            CK(prefix##_strided_tile)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows,            \
                                      cols < NR_ ? cols : NR_, alpha, beta);                            \
            cols -= NR_;                                                                                \
            if (cols <= 0) break;                                                                       \
            b += bs == NR_ ? k * NR_ : NR_;                                                             \
            c += NR_;                                                                                   \
        }                                                                                               \
    }

CK_DEFINE_GEMM(sgemm, float, VF, ld, st, splat, CK_LANES, CK_SMR, CK_SNV, SFMA)
CK_DEFINE_GEMM(dgemm, double, VD, ldd, std_, splatd, CK_DLANES, CK_DMR, CK_DNV, DFMA)

/// The whole-tile write-back of the copying tiles: `C = alpha·acc + beta·C` (C not read when
/// beta = 0), `sgemm_packed`'s update arithmetic.
CK_INLINE void CK(sgemm_tile_update)(VF acc[CK_SMR][CK_SNV], float *c, long ldc, float alpha, float beta) {
    VF va = splat(alpha), vb = splat(beta);
    CK_U for (int r = 0; r < CK_SMR; r++) CK_U for (int v = 0; v < CK_SNV; v++) {
        float *pc = c + r * ldc + v * CK_LANES;
        VF res;
        if (beta == 0) {
            res = acc[r][v] * va;
        } else {
            VF o = ld(pc);
            if (beta != 1) o = o * vb;
            res = FMA(acc[r][v], va, o);
        }
        st(pc, res);
    }
}

/// The start of the copying tiles: zero accumulators and this tile's C prefetched, and with
/// `next`, the next tile's C down the row block too (Note [Prefetching cold operands]; B's
/// copying tile, as the packed tiles do; A's copying tiles are one after another down the first
/// panel and were measured without it).
CK_INLINE void CK(copy_tile_start)(VF acc[CK_SMR][CK_SNV], const float *c, long ldc, int next) {
    enum { NR = CK_SNV * CK_LANES };
    CK_U for (int r = 0; r < CK_SMR; r++) CK_U for (int v = 0; v < CK_SNV; v++) acc[r][v] = splat(0);
    CK_U for (int r = 0; r < CK_SMR; r++) {
        __builtin_prefetch(c + r * ldc, 1, 3);
        __builtin_prefetch(c + r * ldc + NR - 1, 1, 3);
    }
    if (next && CK_PREFETCH_NEXT_C_TILE) CK_U for (int r = CK_SMR; r < 2 * CK_SMR; r++) {
        __builtin_prefetch(c + r * ldc, 1, 2);
        __builtin_prefetch(c + r * ldc + NR - 1, 1, 2);
    }
}

/// The first tile of a B panel that is not packed yet (Note [GEMM packing in the first tile] in
/// Swift): A packed as for `sgemm_packed` (a whole tile of CK_SMR rows), B read in place (row p
/// at `b + p·bs`, NR contiguous values) and each loaded vector also stored to `bcopy`, which ends
/// up holding the packed panel (NR values per step). The multiply-adds and the update are
/// `sgemm_packed`'s on the same values: the same bits.
static void CK(sgemm_packed_copy_b)(long k, const float *a, const float *b, long bs, float *bcopy, float *c,
                                    long ldc, float alpha, float beta) {
    enum { MR = CK_SMR, NV = CK_SNV, NR = CK_SNV * CK_LANES };
    VF acc[MR][NV];
    CK(copy_tile_start)(acc, c, ldc, 1);
    CK_UNROLL_K for (long p = 0; p < k; p++) {
        VF bv[NV];
        // B's rows ahead: Note [Prefetching cold operands].
        CK_U for (int v = 0; v < NR; v += 64 / (int)sizeof(float))
            __builtin_prefetch(b + CK_B_PREFETCH_STEPS * bs + v, 0, 3);
        CK_U for (int v = 0; v < NV; v++) {
            bv[v] = ld(b + v * CK_LANES);
            st(bcopy + v * CK_LANES, bv[v]);
        }
        CK_U for (int r = 0; r < MR; r++) {
            VF x = splat(a[r]);
            CK_U for (int v = 0; v < NV; v++) acc[r][v] = FMA(x, bv[v], acc[r][v]);
        }
        a += MR;
        b += bs;
        bcopy += NR;
    }
    CK(sgemm_tile_update)(acc, c, ldc, alpha, beta);
}


/// One k step of `sgemm_packed_copy_a`: the MR values of A at `x + r·xs`, each stored to `acopy`
/// and multiplied into the accumulators with B's packed vectors at `b`.
CK_INLINE void CK(copy_a_step)(VF acc[CK_SMR][CK_SNV], const float *x, long xs, const float *b, float *acopy) {
    VF bv[CK_SNV];
    CK_U for (int v = 0; v < CK_SNV; v++) bv[v] = ld(b + v * CK_LANES);
    CK_U for (int r = 0; r < CK_SMR; r++) {
        float value = x[r * xs];
        acopy[r] = value;
        VF xv = splat(value);
        CK_U for (int v = 0; v < CK_SNV; v++) acc[r][v] = FMA(xv, bv[v], acc[r][v]);
    }
}

/// The first tile of a row panel of op(A) that is not packed yet (Note [GEMM packing in the first
/// tile] in Swift): A read in place (op(A)'s row r, column p at `a + r·ars + p·acs`; CK_SMR whole
/// rows), each value also stored to `acopy + p·CK_SMR + r`, which ends up holding the packed
/// panel; B a packed panel (NR values per step). `sgemm_packed`'s multiply-adds and update on the
/// same values: the same bits.
static void CK(sgemm_packed_copy_a)(long k, const float *a, long ars, long acs, float *acopy, const float *b,
                                    float *c, long ldc, float alpha, float beta) {
    enum { MR = CK_SMR, NR = CK_SNV * CK_LANES };
    VF acc[MR][CK_SNV];
    CK(copy_tile_start)(acc, c, ldc, 0);
    if (ars == 1) {
        // op(A) = Xᵀ: a step's MR values are contiguous, a row of X apart (Note [Prefetching
        // cold operands]).
        CK_UNROLL_K for (long p = 0; p < k; p++) {
            __builtin_prefetch(a + CK_B_PREFETCH_STEPS * acs, 0, 3);
            __builtin_prefetch(a + CK_B_PREFETCH_STEPS * acs + MR - 1, 0, 3);
            CK(copy_a_step)(acc, a, 1, b, acopy);
            a += acs;
            b += NR;
            acopy += MR;
        }
    } else {
        CK_UNROLL_K for (long p = 0; p < k; p++) {
            // Each row's next lines, four ahead (a line holds 16 steps when acs = 1).
            if ((p & 15) == 0) CK_U for (int r = 0; r < MR; r++) __builtin_prefetch(a + r * ars + 64 * acs, 0, 3);
            CK(copy_a_step)(acc, a, ars, b, acopy);
            a += acs;
            b += NR;
            acopy += MR;
        }
    }
    CK(sgemm_tile_update)(acc, c, ldc, alpha, beta);
}
// MARK: - GEMM dot-product tiles
//
// `C = alpha·A·Bᵀ + beta·C` with A's and B's rows both contiguous along k (a layer's input
// gradient dZ·Wᵀ): nothing is packed. On AVX-512 a tile is 2 rows of A by 8 rows of B, 16
// accumulators of 16 lanes (each k step of a vector: 10 loads, 16 multiply-adds); on AVX2, 3 rows
// by 4, 12 accumulators of 8 lanes (7 loads, 12 multiply-adds). B's rows stay in L1 while A's rows
// stream from L2. Summation order (fixed for a level): lane l of an accumulator adds the terms
// p ≡ l (mod CK_LANES) in order, one multiply-add each (the last, partial vector zero-padded),
// then the lanes are added in the level's fixed tree of shuffles (CK(dot_reduce), CK(dot_reduce4));
// then the update arithmetic of the tiles above. Not built for the baseline (no FMA; its entry in
// the table is NULL).
/// The first `n` < CK_LANES values at p, zero-padded to a vector.
CK_INLINE VF CK(dot_tail)(const float *p, long n) {
    float buf[CK_LANES] = {0};
    for (long i = 0; i < n; i++) buf[i] = p[i];
    return ld(buf);
}

/// The `count` rows of B from row j (rows past n - 1 read row n - 1 again) into `rows`, read from
/// a copy in `bcopy` when it is not NULL (see `sgemm_dot`).
CK_INLINE void CK(dot_b_rows)(const float **rows, int count, const float *b, long ldb, long j, long n, long k,
                              float *bcopy) {
    for (int s = 0; s < count; s++) {
        rows[s] = b + (j + s < n ? j + s : n - 1) * ldb;
        if (bcopy) {
            __builtin_memcpy(bcopy + s * k, rows[s], (unsigned long)k * sizeof(float));
            rows[s] = bcopy + s * k;
        }
    }
}

#if CK_LANES == 16
/// v[i] summed over its lanes, into lane i (four rounds of two-source shuffles and adds).
CK_INLINE VF CK(dot_reduce)(const VF v[16]) {
    VF x[8], y[4], z[2];
    CK_U for (int i = 0; i < 8; i++)
        x[i] = __builtin_shufflevector(v[2 * i], v[2 * i + 1], 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23)
             + __builtin_shufflevector(v[2 * i], v[2 * i + 1], 8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31);
    CK_U for (int i = 0; i < 4; i++)
        y[i] = __builtin_shufflevector(x[2 * i], x[2 * i + 1], 0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27)
             + __builtin_shufflevector(x[2 * i], x[2 * i + 1], 4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31);
    CK_U for (int i = 0; i < 2; i++)
        z[i] = __builtin_shufflevector(y[2 * i], y[2 * i + 1], 0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29)
             + __builtin_shufflevector(y[2 * i], y[2 * i + 1], 2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31);
    VF w = __builtin_shufflevector(z[0], z[1], 0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30)
         + __builtin_shufflevector(z[0], z[1], 1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31);
    // w holds v0, v8, v4, v12, v2, v10, v6, v14, v1, v9, v5, v13, v3, v11, v7, v15.
    return __builtin_shufflevector(w, w, 0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15);
}

/// `C[i][j] = alpha·Σ_p A[i][p]·B[j][p] + beta·C[i][j]` for i < m, j < n (rows lda and ldb
/// apart, k values each; C not read when beta = 0), in tiles of 2 × CK_LANES/2: for each group of
/// B's rows (kept in L1), every pair of A's rows. A tile at an edge reads the last row again in
/// place of the missing ones (its results dropped). When `bcopy` is not NULL (room for
/// CK_LANES/2 · k floats, vector-aligned), each group of B's rows is first copied there: loads
/// from rows that are not vector-aligned span two cache lines (a third slower here); values are
/// only moved, so the bits are the same.
static void CK(sgemm_dot)(long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                          long m, long n, float alpha, float beta, float *bcopy) {
    enum { S = CK_LANES / 2 };
    long whole = k / CK_LANES * CK_LANES, rest = k - whole;
    for (long j = 0; j < n; j += S) {
        const float *bp[S];
        CK(dot_b_rows)(bp, S, b, ldb, j, n, k, bcopy);
        long cols = n - j < S ? n - j : S;
        for (long i = 0; i < m; i += 2) {
            const float *a0 = a + i * lda, *a1 = a + (i + 1 < m ? i + 1 : i) * lda;
            long rows = m - i < 2 ? m - i : 2;
            VF acc[2][S];
            CK_U for (int s = 0; s < S; s++) { acc[0][s] = splat(0); acc[1][s] = splat(0); }
            for (long p = 0; p < whole; p += CK_LANES) {
                VF x0 = ld(a0 + p), x1 = ld(a1 + p);
                CK_U for (int s = 0; s < S; s++) {
                    VF y = ld(bp[s] + p);
                    acc[0][s] = FMA(x0, y, acc[0][s]);
                    acc[1][s] = FMA(x1, y, acc[1][s]);
                }
            }
            if (rest) {
                VF x0 = CK(dot_tail)(a0 + whole, rest), x1 = CK(dot_tail)(a1 + whole, rest);
                CK_U for (int s = 0; s < S; s++) {
                    VF y = CK(dot_tail)(bp[s] + whole, rest);
                    acc[0][s] = FMA(x0, y, acc[0][s]);
                    acc[1][s] = FMA(x1, y, acc[1][s]);
                }
            }
            VF all[CK_LANES];
            CK_U for (int s = 0; s < S; s++) { all[s] = acc[0][s]; all[S + s] = acc[1][s]; }
            float sums[CK_LANES];
            st(sums, CK(dot_reduce)(all));
            if (rows == 2 && cols == S) {
                // Whole tile: each row's S sums as one half-width vector (the same operations).
                typedef float VH __attribute__((vector_size(CK_LANES * 2), aligned(4)));
                VH va, vb;
                CK_U for (int s = 0; s < S; s++) { va[s] = alpha; vb[s] = beta; }
                CK_U for (int r = 0; r < 2; r++) {
                    VH x = *(const VH *)(sums + r * S);
                    VH *pc = (VH *)(c + (i + r) * ldc + j);
                    if (beta == 0) {
                        *pc = x * va;
                    } else {
                        VH o = *pc;
                        if (beta != 1) o = o * vb;
                        *pc = FMA(x, va, o);
                    }
                }
                continue;
            }
            for (long r = 0; r < rows; r++) {
                float *pc = c + (i + r) * ldc + j;
                for (long s = 0; s < cols; s++) {
                    float x = sums[r * S + s];
                    if (beta == 0) {
                        pc[s] = x * alpha;
                    } else {
                        float o = pc[s];
                        if (beta != 1) o = o * beta;
                        pc[s] = SFMA(x, alpha, o);
                    }
                }
            }
        }
    }
}
#define CK_SGEMM_DOT CK(sgemm_dot)
#define CK_DOT_ROWS 2
#elif CK_LANES == 8 && CK_FMA
// AVX2 (16 registers): 3 rows of A by 4 rows of B, 12 accumulators, the 3 A vectors and one B
// vector at a time; each row's 4 accumulators are summed into its 4 results in three rounds.
// (A 2 × 4 tile, one reduction for all 8, was no faster than the packed path here: 105-113
// GFLOP/s against 110-123; this one ran at 128 in a prototype on 60x1020x1024.)

typedef float V4 __attribute__((vector_size(16)));

/// v[i] summed over its lanes, into lane i of 4.
CK_INLINE V4 CK(dot_reduce4)(const VF v[4]) {
    VF x0 = __builtin_shufflevector(v[0], v[1], 0, 1, 2, 3, 8, 9, 10, 11)
          + __builtin_shufflevector(v[0], v[1], 4, 5, 6, 7, 12, 13, 14, 15);
    VF x1 = __builtin_shufflevector(v[2], v[3], 0, 1, 2, 3, 8, 9, 10, 11)
          + __builtin_shufflevector(v[2], v[3], 4, 5, 6, 7, 12, 13, 14, 15);
    VF y = __builtin_shufflevector(x0, x1, 0, 1, 8, 9, 4, 5, 12, 13)
         + __builtin_shufflevector(x0, x1, 2, 3, 10, 11, 6, 7, 14, 15);
    // y holds v0, v0, v2, v2, v1, v1, v3, v3 (two partial sums each).
    V4 z = __builtin_shufflevector(y, y, 0, 2, 4, 6) + __builtin_shufflevector(y, y, 1, 3, 5, 7);
    return __builtin_shufflevector(z, z, 0, 2, 1, 3);
}

/// As the AVX-512 form above, in tiles of 3 rows of A by 4 rows of B.
static void CK(sgemm_dot)(long k, const float *a, long lda, const float *b, long ldb, float *c, long ldc,
                          long m, long n, float alpha, float beta, float *bcopy) {
    enum { R = 3, S = 4 };
    long whole = k / CK_LANES * CK_LANES, rest = k - whole;
    for (long j = 0; j < n; j += S) {
        const float *bp[S];
        CK(dot_b_rows)(bp, S, b, ldb, j, n, k, bcopy);
        long cols = n - j < S ? n - j : S;
        for (long i = 0; i < m; i += R) {
            const float *ap[R];
            CK_U for (int r = 0; r < R; r++) ap[r] = a + (i + r < m ? i + r : m - 1) * lda;
            long rows = m - i < R ? m - i : R;
            VF acc[R][S];
            CK_U for (int r = 0; r < R; r++) CK_U for (int s = 0; s < S; s++) acc[r][s] = splat(0);
            // Unrolled four times (Note [Unrolled k loops]).
            CK_UNROLL_K for (long p = 0; p < whole; p += CK_LANES) {
                VF x[R];
                CK_U for (int r = 0; r < R; r++) x[r] = ld(ap[r] + p);
                CK_U for (int s = 0; s < S; s++) {
                    VF y = ld(bp[s] + p);
                    CK_U for (int r = 0; r < R; r++) acc[r][s] = FMA(x[r], y, acc[r][s]);
                }
            }
            if (rest) {
                VF x[R];
                CK_U for (int r = 0; r < R; r++) x[r] = CK(dot_tail)(ap[r] + whole, rest);
                CK_U for (int s = 0; s < S; s++) {
                    VF y = CK(dot_tail)(bp[s] + whole, rest);
                    CK_U for (int r = 0; r < R; r++) acc[r][s] = FMA(x[r], y, acc[r][s]);
                }
            }
            V4 va = {alpha, alpha, alpha, alpha}, vb = {beta, beta, beta, beta};
            for (long r = 0; r < rows; r++) {
                V4 x = CK(dot_reduce4)(acc[r]);
                float *pc = c + (i + r) * ldc + j;
                if (cols == S) {
                    typedef float V4u __attribute__((vector_size(16), aligned(4)));
                    if (beta == 0) {
                        *(V4u *)pc = x * va;
                    } else {
                        V4 o = *(const V4u *)pc;
                        if (beta != 1) o = o * vb;
                        *(V4u *)pc = FMA(x, va, o);
                    }
                    continue;
                }
                for (long s = 0; s < cols; s++) {
                    if (beta == 0) {
                        pc[s] = x[s] * alpha;
                    } else {
                        float o = pc[s];
                        if (beta != 1) o = o * beta;
                        pc[s] = SFMA(x[s], alpha, o);
                    }
                }
            }
        }
    }
}
#define CK_SGEMM_DOT CK(sgemm_dot)
#define CK_DOT_ROWS 3
#else
#define CK_SGEMM_DOT 0
#define CK_DOT_ROWS 0
#endif

// The narrow tiles: one vector of columns, twice the rows (the same accumulator count). Read in
// place (strided), their rows run as two half-height tiles: a full-height tile's row addresses
// (one register each) do not fit in the general registers, and reloading them from the stack on
// every step made it slower than two halves.
#define CK_DEFINE_NARROW_GEMM(prefix, T, V, LOADV, STOREV, SPLATV, LANES, MR, SCALAR_FMA)                 \
    CK_GEMM_BODY(CK(prefix##_full), T, V, LOADV, STOREV, SPLATV, LANES, MR, MR, 1, SCALAR_FMA, 0)       \
    CK_GEMM_BODY(CK(prefix##_half), T, V, LOADV, STOREV, SPLATV, LANES, MR, (MR / 2), 1, SCALAR_FMA, 0) \
    CK_GEMM_BODY(CK(prefix##_third), T, V, LOADV, STOREV, SPLATV, LANES, MR, CK_THIRD(MR), 1, SCALAR_FMA, 0) \
    CK_GEMM_BODY(CK(prefix##_half_seg), T, V, LOADV, STOREV, SPLATV, LANES, MR, (MR / 2), 1,            \
                 SCALAR_FMA, 1)                                                                         \
    CK_GEMM_BODY(CK(prefix##_half_unit), T, V, LOADV, STOREV, SPLATV, LANES, MR, (MR / 2), 1,           \
                 SCALAR_FMA, 2)                                                                         \
    /* Shorter forms of it for a convolution's output rows of fewer pixels than the half tile    */  \
    /* (10 on LeNet's second layer): 2 and 4 rows fewer where the half tile has 8 or more.       */  \
    CK_GEMM_BODY(CK(prefix##_unit_less2), T, V, LOADV, STOREV, SPLATV, LANES, MR,                       \
                 (MR / 2 >= 8 ? MR / 2 - 2 : MR / 2), 1, SCALAR_FMA, 2)                                 \
    CK_GEMM_BODY(CK(prefix##_unit_less4), T, V, LOADV, STOREV, SPLATV, LANES, MR,                       \
                 (MR / 2 >= 8 ? MR / 2 - 4 : MR / 2), 1, SCALAR_FMA, 2)                                 \
    static __attribute__((noinline)) void CK(prefix##_packed_tile)(long k, const T *a, const T *b, T *c, \
                                                                     long ldc, long rows, long cols,   \
                                                                     T alpha, T beta) {                \
        if (rows <= CK_THIRD(MR))                                                                       \
            CK(prefix##_third)(k, a, 1, MR, MR, k, 0, b, LANES, c, ldc, rows, cols, alpha, beta, 1);    \
        else if (rows <= MR / 2)                                                                        \
            CK(prefix##_half)(k, a, 1, MR, MR, k, 0, b, LANES, c, ldc, rows, cols, alpha, beta, 1);     \
        else                                                                                            \
            CK(prefix##_full)(k, a, 1, MR, MR, k, 0, b, LANES, c, ldc, rows, cols, alpha, beta, 1);     \
    }                                                                                                   \
    CK_DEFINE_PACKED_COLUMN(prefix, T, MR)                                                              \
    static __attribute__((noinline)) void CK(prefix##_half_rows)(long k, const T *a, long ars, long acs, \
                                                                   long arows, long seg, long jump,     \
                                                                   const T *b, long bs, T *c, long ldc, \
                                                                   long rows, long cols, T alpha,       \
                                                                   T beta) {                            \
        if (seg < k && acs == 1 && bs == LANES && MR / 2 >= 8 && rows <= MR / 2 - 4)                     \
            CK(prefix##_unit_less4)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (seg < k && acs == 1 && bs == LANES && MR / 2 >= 8 && rows <= MR / 2 - 2)                \
            CK(prefix##_unit_less2)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (seg < k && acs == 1 && bs == LANES)                                                    \
            CK(prefix##_half_unit)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (seg < k)                                                                               \
            CK(prefix##_half_seg)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else if (rows <= CK_THIRD(MR))                                                                  \
            CK(prefix##_third)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
        else                                                                                            \
            CK(prefix##_half)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, rows, cols, alpha, beta, 0); \
    }                                                                                                   \
    static void CK(prefix##_strided)(long k, const T *a, long ars, long acs, long arows, long seg,       \
                                     long jump, const T *b, long bs, T *c, long ldc, long rows,         \
                                     long cols, T alpha, T beta) {                                      \
        long top = rows < MR / 2 ? rows : MR / 2;                                                       \
        for (;;) {                                                                                      \
            long w = cols < LANES ? cols : LANES;                                                       \
            CK(prefix##_half_rows)(k, a, ars, acs, arows, seg, jump, b, bs, c, ldc, top, w, alpha, beta); \
            if (rows > MR / 2)                                                                          \
                CK(prefix##_half_rows)(k, a + (MR / 2) * ars, ars, acs, arows - MR / 2, seg, jump, b, bs, \
                                       c + (MR / 2) * ldc, ldc, rows - MR / 2, w, alpha, beta);         \
            cols -= LANES;                                                                              \
            if (cols <= 0) break;                                                                       \
            b += bs == LANES ? k * LANES : LANES;                                                       \
            c += LANES;                                                                                 \
        }                                                                                               \
    }
CK_DEFINE_NARROW_GEMM(sgemm_narrow, float, VF, ld, st, splat, CK_LANES, (2 * CK_SMR), SFMA)
CK_DEFINE_NARROW_GEMM(dgemm_narrow, double, VD, ldd, std_, splatd, CK_DLANES, (2 * CK_DMR), DFMA)

// MARK: - Convolutions of one input channel (stride 1, no dilation)

/// See `conv1_forward` in CKernels.h. Per output row, vectors of LANES output columns times blocks
/// of 8 output channels (accumulators), one multiply-add per tap in (a, b) order from zero: the
/// GEMM tile's operations on the patch matrix, so the same bits.
static void CK(conv1_forward)(const float *x, long pw, const float *w8, long kh, long kw, long cout,
                              float *y, long oh, long ow) {
    long cout8 = (cout + 7) / 8 * 8;
    float buf[8 * CK_LANES];
    for (long i = 0; i < oh; i++)
        for (long j0 = 0; j0 < ow; j0 += CK_LANES) {
            long nj = ow - j0 < CK_LANES ? ow - j0 : CK_LANES;
            for (long o0 = 0; o0 < cout; o0 += 8) {
                VF acc[8];
                CK_U for (int o = 0; o < 8; o++) acc[o] = splat(0);
                for (long a = 0; a < kh; a++) {
                    const float *row = x + (i + a) * pw + j0;
                    const float *wr = w8 + a * kw * cout8 + o0;
                    for (long b = 0; b < kw; b++) {
                        VF xv = ld(row + b);
                        CK_U for (int o = 0; o < 8; o++) acc[o] = FMA(splat(wr[b * cout8 + o]), xv, acc[o]);
                    }
                }
                CK_U for (int o = 0; o < 8; o++) st(buf + o * CK_LANES, acc[o]);
                long no = cout - o0 < 8 ? cout - o0 : 8;
                for (long j = 0; j < nj; j++)
                    for (long o = 0; o < no; o++) y[(i * ow + j0 + j) * cout + o0 + o] = buf[o * CK_LANES + j];
            }
        }
}

/// See `conv1_filter` in CKernels.h. Taps in pairs where the registers allow (32 on AVX-512: 16
/// accumulators, 8 output-gradient vectors and 2 image vectors), so each output-gradient load
/// serves two taps; every accumulator sums the same terms in the same order either way.
#if CK_LANES == 16
#define CK_CONV1_TAPS 2
#else
#define CK_CONV1_TAPS 1
#endif
static void CK(conv1_filter)(const float *x, long pw, const float *dyt, long kh, long kw, long cout,
                             float *dw, long oh, long ow) {
    long plane = oh * ow, taps = kh * kw;
    float buf[CK_LANES];
    VF tail = splat(0);
    for (long l = 0; l < CK_LANES; l++) tail[l] = l < ow % CK_LANES ? 1.0f : 0.0f;
    for (long t0 = 0; t0 < taps; t0 += CK_CONV1_TAPS) {
        long tn = taps - t0 < CK_CONV1_TAPS ? taps - t0 : CK_CONV1_TAPS;
        const float *xr[CK_CONV1_TAPS];
        CK_U for (int u = 0; u < CK_CONV1_TAPS; u++) {
            long t = u < tn ? t0 + u : t0;   /* a missing second tap repeats the first (dropped) */
            xr[u] = x + (t / kw) * pw + t % kw;
        }
        for (long o0 = 0; o0 < cout; o0 += 8) {
            const float *dr[8];
            CK_U for (int o = 0; o < 8; o++) dr[o] = dyt + (o0 + o < cout ? o0 + o : cout - 1) * plane;
            VF acc[CK_CONV1_TAPS][8];
            CK_U for (int u = 0; u < CK_CONV1_TAPS; u++) CK_U for (int o = 0; o < 8; o++) acc[u][o] = splat(0);
            for (long i = 0; i < oh; i++) {
                for (long j0 = 0; j0 < ow; j0 += CK_LANES) {
                    VF xv[CK_CONV1_TAPS];
                    CK_U for (int u = 0; u < CK_CONV1_TAPS; u++) {
                        xv[u] = ld(xr[u] + i * pw + j0);
                        if (ow - j0 < CK_LANES) xv[u] = xv[u] * tail;
                    }
                    CK_U for (int o = 0; o < 8; o++) {
                        VF g = ld(dr[o] + i * ow + j0);
                        CK_U for (int u = 0; u < CK_CONV1_TAPS; u++) acc[u][o] = FMA(xv[u], g, acc[u][o]);
                    }
                }
            }
            long no = cout - o0 < 8 ? cout - o0 : 8;
            for (long u = 0; u < tn; u++)
                for (long o = 0; o < no; o++) {
                    st(buf, acc[u][o]);
                    for (long half = CK_LANES / 2; half >= 1; half /= 2)
                        for (long l = 0; l < half; l++) buf[l] = buf[l] + buf[l + half];
                    dw[(t0 + u) * cout + o0 + o] += buf[0];
                }
        }
    }
}

// MARK: - The table

CK_SHARED const ck_table CK(table) = {
    .level = CK_LEVEL,
    .name = CK_NAME_STRING,
    .float_lanes = CK_LANES,
    .fused_multiply_add = CK_FMA,
    .sgemm_mr = CK_SMR, .sgemm_nr = CK_SNV * CK_LANES,
    .sgemm_packed = CK(sgemm_packed), .sgemm_strided = CK(sgemm_strided),
    .dgemm_mr = CK_DMR, .dgemm_nr = CK_DNV * CK_DLANES,
    .dgemm_packed = CK(dgemm_packed), .dgemm_strided = CK(dgemm_strided),
    .sgemm_narrow_mr = 2 * CK_SMR, .sgemm_narrow_nr = CK_LANES,
    .sgemm_narrow_packed = CK(sgemm_narrow_packed), .sgemm_narrow_strided = CK(sgemm_narrow_strided),
    .dgemm_narrow_mr = 2 * CK_DMR, .dgemm_narrow_nr = CK_DLANES,
    .dgemm_narrow_packed = CK(dgemm_narrow_packed), .dgemm_narrow_strided = CK(dgemm_narrow_strided),
    .gemm_l1_percent = CK_GEMM_L1_PERCENT, .gemm_deep_rows = CK_GEMM_DEEP_ROWS,
    .sgemm_packed_copy_b = CK(sgemm_packed_copy_b), .sgemm_packed_copy_a = CK(sgemm_packed_copy_a),
    .sgemm_dot_rows = CK_DOT_ROWS, .sgemm_dot_cols = CK_DOT_ROWS == 3 ? 4 : CK_LANES / 2, .sgemm_dot = CK_SGEMM_DOT,
    .unary = {
        [CK_UNARY_EXP] = CK(exp), [CK_UNARY_LOG] = CK(log), [CK_UNARY_TANH] = CK(tanh),
        [CK_UNARY_SIGMOID] = CK(sigmoid), [CK_UNARY_GELU] = CK(gelu), [CK_UNARY_SQRT] = CK(sqrt),
        [CK_UNARY_NEG] = CK(neg), [CK_UNARY_ABS] = CK(abs), [CK_UNARY_SQUARE] = CK(square),
        [CK_UNARY_RELU] = CK(relu),
    },
    .gradient = {
        [CK_GRADIENT_RELU] = CK(gradient_relu), [CK_GRADIENT_ABS] = CK(gradient_abs),
        [CK_GRADIENT_SQRT] = CK(gradient_sqrt), [CK_GRADIENT_SQUARE] = CK(gradient_square),
        [CK_GRADIENT_EXP] = CK(gradient_exp), [CK_GRADIENT_LOG] = CK(gradient_log),
        [CK_GRADIENT_TANH] = CK(gradient_tanh), [CK_GRADIENT_SIGMOID] = CK(gradient_sigmoid),
        [CK_GRADIENT_GELU] = CK(gradient_gelu),
    },
    .binary = {
        [CK_BINARY_ADD] = CK_STREAM(binary_add), [CK_BINARY_SUB] = CK_STREAM(binary_sub),
        [CK_BINARY_MUL] = CK_STREAM(binary_mul), [CK_BINARY_DIV] = CK_STREAM(binary_div),
        [CK_BINARY_MAX] = CK_STREAM(binary_max), [CK_BINARY_MIN] = CK_STREAM(binary_min),
    },
    .fold = {[CK_BINARY_ADD] = CK_STREAM(fold_add), [CK_BINARY_MAX] = CK_STREAM(fold_max),
             [CK_BINARY_MIN] = CK_STREAM(fold_min)},
    .fold_rows = {[CK_BINARY_ADD] = CK_STREAM(fold_rows_add), [CK_BINARY_MAX] = CK_STREAM(fold_rows_max),
                  [CK_BINARY_MIN] = CK_STREAM(fold_rows_min)},
    .fold_columns = {[CK_BINARY_ADD] = CK_STREAM(fold_columns_add), [CK_BINARY_MAX] = CK_STREAM(fold_columns_max),
                     [CK_BINARY_MIN] = CK_STREAM(fold_columns_min)},
    .transpose32 = CK_STREAM(transpose32),
    .copy_runs = CK_STREAM(copy_runs),
    .pack = CK_STREAM(pack),
    .exp_shifted = CK(exp_shifted),
    .softmax_rows = CK(softmax_rows),
    .xent_short_rows = CK(xent_short_rows),
    .xent_gradient_short_rows = CK(xent_gradient_short_rows),
    .conv1_forward = CK(conv1_forward),
    .conv1_filter = CK(conv1_filter),
    .saxpy = CK(saxpy),
    .daxpy = CK(daxpy),
    .sgd = CK(sgd),
    .momentum = CK(momentum),
    .adam = CK(adam),
};
