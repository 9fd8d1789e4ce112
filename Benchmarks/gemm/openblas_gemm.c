// OpenBLAS peer of `bench gemm`: C = op(A) * op(B) with cblas_sgemm, row-major, alpha 1, beta 0.
// A is m x k (k x m with --trans-a), B is k x n (n x k with --trans-b), each tightly packed.
// Threads through openblas_set_num_threads; one untimed warm-up call, then the median of --repeat
// timed calls. Prints the OpenBLAS core (kernel family) and build configuration on stderr and in the JSON.
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int cmp_double(const void* a, const void* b) {
    double x = *(const double*)a, y = *(const double*)b;
    return (x > y) - (x < y);
}

static void usage(const char* prog, const char* why) {
    fprintf(stderr, "%s: %s\nusage: %s --m M --n N --k K | --size N  [--trans-a] [--trans-b] --threads T "
            "[--repeat R] [--json]\n", prog, why, prog);
    exit(2);
}

static float* filled(long count, unsigned* state) {
    float* p = aligned_alloc(64, (size_t)((count * sizeof(float) + 63) / 64 * 64));
    if (!p) { fprintf(stderr, "out of memory\n"); exit(1); }
    for (long i = 0; i < count; ++i) {
        *state = *state * 1664525u + 1013904223u;
        p[i] = (float)((*state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
    }
    return p;
}

int main(int argc, char** argv) {
    long m = 0, n = 0, k = 0;
    int ta = 0, tb = 0, threads = 1, repeat = 0, json = 0;
    for (int i = 1; i < argc; ++i) {
        const char* a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--m") && has) m = atol(argv[++i]);
        else if (!strcmp(a, "--n") && has) n = atol(argv[++i]);
        else if (!strcmp(a, "--k") && has) k = atol(argv[++i]);
        else if (!strcmp(a, "--size") && has) m = n = k = atol(argv[++i]);
        else if (!strcmp(a, "--trans-a")) ta = 1;
        else if (!strcmp(a, "--trans-b")) tb = 1;
        else if (!strcmp(a, "--threads") && has) threads = atoi(argv[++i]);
        else if (!strcmp(a, "--repeat") && has) repeat = atoi(argv[++i]);
        else if (!strcmp(a, "--json")) json = 1;
        else usage(argv[0], a);
    }
    if (m < 1 || n < 1 || k < 1 || threads < 1 || repeat < 0) usage(argv[0], "m, n, k and threads must be positive");
    openblas_set_num_threads(threads);
    const char* core = openblas_get_corename();
    const char* config = openblas_get_config();
    fprintf(stderr, "OpenBLAS core %s; config %s; threads %d; OPENBLAS_CORETYPE=%s OPENBLAS_L2_SIZE=%s\n",
            core, config, openblas_get_num_threads(),
            getenv("OPENBLAS_CORETYPE") ? getenv("OPENBLAS_CORETYPE") : "(unset)",
            getenv("OPENBLAS_L2_SIZE") ? getenv("OPENBLAS_L2_SIZE") : "(unset)");

    unsigned state = 12345u;
    float* A = filled(m * k, &state);
    float* B = filled(k * n, &state);
    float* C = filled(m * n, &state);
    int lda = ta ? (int)m : (int)k, ldb = tb ? (int)k : (int)n, ldc = (int)n;
    double flops = 2.0 * (double)m * (double)n * (double)k;
    if (repeat == 0) {  // default: about half a second of calls, 5 to 1000 of them
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (int)m, (int)n, (int)k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
        double t = now_s() - t0;
        repeat = (int)(0.5 / (t > 1e-7 ? t : 1e-7));
        repeat = repeat < 5 ? 5 : repeat > 1000 ? 1000 : repeat;
    }
    double* times = malloc(sizeof(double) * (size_t)repeat);
    for (int r = -1; r < repeat; ++r) {  // r = -1: warm-up
        double t0 = now_s();
        cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
                    (int)m, (int)n, (int)k, 1.0f, A, lda, B, ldb, 0.0f, C, ldc);
        double t = now_s() - t0;
        if (r >= 0) times[r] = t;
    }
    qsort(times, (size_t)repeat, sizeof(double), cmp_double);
    double med = repeat % 2 ? times[repeat / 2] : 0.5 * (times[repeat / 2 - 1] + times[repeat / 2]);
    double check = 0;
    for (long i = 0; i < m * n; i += 97) check += C[i];
    printf("openblas sgemm %ldx%ldx%ld%s%s, %d threads: median %.6f s (min %.6f), %.1f GFLOP/s [core %s]\n",
           m, n, k, ta ? " A^T" : "", tb ? " B^T" : "", threads, med, times[0], flops / med * 1e-9, core);
    if (json)
        printf("{\"system\":\"openblas\",\"m\":%ld,\"n\":%ld,\"k\":%ld,\"trans_a\":%s,\"trans_b\":%s,\"threads\":%d,"
               "\"repeat\":%d,\"median_s\":%.9f,\"min_s\":%.9f,\"gflops\":%.3f,\"core\":\"%s\",\"checksum\":%.6g}\n",
               m, n, k, ta ? "true" : "false", tb ? "true" : "false", threads, repeat, med, times[0],
               flops / med * 1e-9, core, check);
    free(times); free(A); free(B); free(C);
    return 0;
}
