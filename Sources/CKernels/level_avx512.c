// AVX-512 F/DQ/BW/VL (x86-64-v4): 512-bit vectors and 32 registers. 12×32 float tile:
// 24 accumulators, 2 B vectors and a broadcast in 27 of the 32 ZMM registers; 12×16 double tile.
// The memory-streaming loops (binary operations, folds) are AVX2's (see the template).
#if defined(__x86_64__)
#define CK_SUFFIX avx512
#define CK_NAME_STRING "avx512"
#define CK_LEVEL CK_LEVEL_AVX512
#define CK_LANES 16
#define CK_STREAM_SUFFIX avx2
#define CK_FMA 1
#define CK_SMR 12
#define CK_SNV 2
#define CK_DMR 12
#define CK_DNV 2
// kc: the A and B micro-panels may take 150% of L1 (the B micro-panel then streams from L2): the
// 12×32 tile's C update costs twice the 6×16 one's per k step, and a deeper kc amortizes it
// (1024³ on Zen 5: 5-10% faster with kc 416 than with the 75% rule's 192; AVX2 gained nothing).
#define CK_GEMM_L1_PERCENT 150
// Products of 512 rows or more, with k deeper than one block, block k an eighth of L2 deep (1024
// with a 1 MiB L2): fewer passes over C, which comes from memory in large products. 1024³:
// 250-252 -> 255-262 GFLOP/s, 2048³: 231-236 -> 249 on 1 worker, 460-468 -> 489-491 on 2. Not for fewer rows: with 256 rows it was
// 1-2% faster on 1 worker but 10% slower on 2 (256x1024x784: with k in one block the two workers
// take column chunks instead of column groups; with chunks kept off there, no step got faster),
// and 64 rows lost 1-2%. A product of one k block keeps the shallow blocking's taller row blocks
// (784x1024x256 with op(A) = Xᵀ: 60-row blocks were 2-4% slower than 156-row ones).
#define CK_GEMM_DEEP_ROWS 512
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512bw,avx512vl,avx2,fma"))), apply_to = function)
#include "kernels_template.h"
#pragma clang attribute pop
#endif
