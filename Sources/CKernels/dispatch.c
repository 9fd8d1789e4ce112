// Level detection and the tables of each level.
#include "CKernels.h"

extern const ck_table ck_table_baseline __attribute__((visibility("hidden")));
#if defined(__x86_64__)
extern const ck_table ck_table_avx2 __attribute__((visibility("hidden")));
extern const ck_table ck_table_avx512 __attribute__((visibility("hidden")));

#include <cpuid.h>

/// XCR0: which register state the OS saves on context switches (bit 1 XMM, 2 YMM, 5 opmask,
/// 6 upper halves of ZMM0-15, 7 ZMM16-31). A CPU may have AVX-512 that the OS does not enable.
static unsigned long long xcr0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int detect(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return CK_LEVEL_BASELINE;
    int osxsave = (c >> 27) & 1, avx = (c >> 28) & 1, fma = (c >> 12) & 1;
    if (!osxsave || !avx || !fma) return CK_LEVEL_BASELINE;
    unsigned long long state = xcr0();
    if ((state & 0x6) != 0x6) return CK_LEVEL_BASELINE;
    if (__get_cpuid_max(0, 0) < 7) return CK_LEVEL_BASELINE;
    __cpuid_count(7, 0, a, b, c, d);
    if (!((b >> 5) & 1)) return CK_LEVEL_BASELINE;  // AVX2
    int f = (b >> 16) & 1, dq = (b >> 17) & 1, bw = (b >> 30) & 1, vl = (b >> 31) & 1;
    if (f && dq && bw && vl && (state & 0xe6) == 0xe6) return CK_LEVEL_AVX512;
    return CK_LEVEL_AVX2;
}
#else
static int detect(void) { return CK_LEVEL_BASELINE; }
#endif

int ck_best_level(void) {
    // Idempotent and cheap: racing first calls compute the same value.
    static int cached = -1;
    int level = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (level < 0) {
        level = detect();
        __atomic_store_n(&cached, level, __ATOMIC_RELAXED);
    }
    return level;
}

const ck_table *ck_table_for(int level) {
    if (level < 0 || level > ck_best_level()) return 0;
    return ck_table_built(level);
}

const ck_table *ck_table_built(int level) {
    switch (level) {
    case CK_LEVEL_BASELINE: return &ck_table_baseline;
#if defined(__x86_64__)
    case CK_LEVEL_AVX2: return &ck_table_avx2;
    case CK_LEVEL_AVX512: return &ck_table_avx512;
#endif
    default: return 0;
    }
}
