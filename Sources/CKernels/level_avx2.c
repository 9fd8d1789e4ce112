// AVX2 + FMA (x86-64-v3): 256-bit vectors. 6×16 float tile: 12 accumulators, 2 B vectors and a
// broadcast fill 15 of the 16 YMM registers; 6×8 double tile.
#if defined(__x86_64__)
#define CK_SUFFIX avx2
#define CK_NAME_STRING "avx2"
#define CK_LEVEL CK_LEVEL_AVX2
#define CK_LANES 8
#define CK_FMA 1
#define CK_SMR 6
#define CK_SNV 2
#define CK_DMR 6
#define CK_DNV 2
#define CK_GEMM_L1_PERCENT 75
// No prefetch of the next tile's C (Note [Prefetching cold operands]): on a Zen 3 core (8-way
// L1), the MLP steps ran 0.6-1.2% faster without it.
#define CK_PREFETCH_NEXT_C_TILE 0
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#include "kernels_template.h"
#pragma clang attribute pop
#endif
