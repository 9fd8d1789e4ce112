// The portable level: generic 128-bit vectors (SSE2 on x86-64, where there is no FMA: multiply-adds
// are a multiply and an add; NEON on aarch64, which always has FMA). 4×8 float tile (8 of the
// 16 SSE registers for accumulators, leaving room for the products that SSE2 cannot fuse), 6×4
// double tile.
#define CK_SUFFIX baseline
#define CK_NAME_STRING "baseline"
#define CK_LEVEL CK_LEVEL_BASELINE
#define CK_LANES 4
#if defined(__aarch64__)
#define CK_FMA 1
#else
#define CK_FMA 0
#endif
#define CK_SMR 4
#define CK_SNV 2
#define CK_DMR 6
#define CK_DNV 2
#define CK_GEMM_L1_PERCENT 75
#include "kernels_template.h"
