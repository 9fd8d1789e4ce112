// tile_peak: how close the AVX2 GEMM tile comes to the FMA units' peak, with nothing but the tile.
//
// Three figures on one core, each the best of --rounds timed runs of about 0.2 s:
//   peak    a loop of 12 independent register-only FMAs on 8-float vectors (what the core can do);
//   packed  `ck_sgemm_packed_avx2` (the 6×16 tile) on a packed 6×k panel of A and k×16 panel of B
//           that stay in L1, C updated in place (beta 1), over and over;
//   dot     `ck_sgemm_dot_avx2` (the 3×4 dot-product tile) on 3 rows of A by 4 rows of B, k long.
// It includes the level's C file, so it measures exactly the kernels the library builds (Note
// [Unrolled k loops] in Sources/Kernels/GEMM+MicroKernel.swift). Needs clang (the kernels use
// clang's vector extensions), such as the Swift toolchain's: `make -C Benchmarks/gemm tile_peak`.
//
//   Benchmarks/gemm/bin/tile_peak [--k 256] [--rounds 5] [--json]
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../Sources/CKernels/level_avx2.c"

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/// GFLOP/s of 12 independent FMA chains kept in registers (2 flops per lane, 8 lanes).
__attribute__((target("avx2,fma"))) static double peak_gflops(long steps) {
    VF acc[12];
    VF x = splat(1.0001f), y = splat(0.9999f);
    for (int i = 0; i < 12; i++) acc[i] = splat((float)i);
    double t = now();
    for (long p = 0; p < steps; p++) {
        for (int i = 0; i < 12; i++) acc[i] = FMA(x, y, acc[i]);
        __asm__ volatile("" : "+x"(x));   // keeps the loop from being folded
    }
    t = now() - t;
    float sink = 0;
    for (int i = 0; i < 12; i++) sink += acc[i][0];
    if (sink == 12345.0f) printf("%f\n", sink);
    return (double)steps * 12 * 16 / t / 1e9;
}

int main(int argc, char **argv) {
    long k = 256, rounds = 5;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--k") && i + 1 < argc) k = atol(argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atol(argv[++i]);
        else if (!strcmp(argv[i], "--json")) json = 1;
        else {
            fprintf(stderr, "usage: tile_peak [--k K] [--rounds N] [--json]\n");
            return 2;
        }
    }
    if (k < 8 || k > 2048 || rounds < 1) {
        fprintf(stderr, "tile_peak: --k must be 8...2048 and --rounds positive (got k %ld, rounds %ld)\n", k, rounds);
        return 2;
    }
    if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
        fprintf(stderr, "tile_peak: this CPU lacks AVX2 or FMA\n");
        return 1;
    }
    float *a = aligned_alloc(64, (size_t)(16 * k) * sizeof(float));
    float *b = aligned_alloc(64, (size_t)(16 * k) * sizeof(float));
    float *c = aligned_alloc(64, 6 * 16 * sizeof(float));
    if (!a || !b || !c) {
        fprintf(stderr, "tile_peak: out of memory\n");
        return 1;
    }
    for (long i = 0; i < 16 * k; i++) {
        a[i] = 1e-3f * (float)(i % 7);
        b[i] = 1e-3f * (float)(i % 5);
    }
    memset(c, 0, 6 * 16 * sizeof(float));

    double best_peak = 0, best_packed = 0, best_dot = 0;
    for (long round = 0; round < rounds; round++) {
        double g = peak_gflops(20000000);
        if (g > best_peak) best_peak = g;

        long calls = 40000000 / k + 1;
        double t = now();
        for (long i = 0; i < calls; i++)
            ck_sgemm_packed_avx2(k, a, 0, 0, 0, 0, 0, b, 0, c, 16, 6, 16, 1.0f, 1.0f);
        t = now() - t;
        g = (double)calls * 2.0 * 6 * 16 * (double)k / t / 1e9;
        if (g > best_packed) best_packed = g;

        t = now();
        for (long i = 0; i < calls; i++) ck_sgemm_dot_avx2(k, a, k, b, k, c, 4, 3, 4, 1.0f, 0.0f, NULL);
        t = now() - t;
        g = (double)calls * 2.0 * 3 * 4 * (double)k / t / 1e9;
        if (g > best_dot) best_dot = g;
    }
    printf("k %ld, best of %ld: FMA peak %.1f GFLOP/s, packed 6x16 tile %.1f (%.0f%%), dot 3x4 tile %.1f (%.0f%%)\n", k,
           rounds, best_peak, best_packed, 100 * best_packed / best_peak, best_dot, 100 * best_dot / best_peak);
    if (json)
        printf("{\"k\":%ld,\"rounds\":%ld,\"peak_gflops\":%.2f,\"packed_gflops\":%.2f,\"dot_gflops\":%.2f}\n", k, rounds,
               best_peak, best_packed, best_dot);
    free(a);
    free(b);
    free(c);
    return 0;
}
