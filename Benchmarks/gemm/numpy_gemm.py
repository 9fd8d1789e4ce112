#!/usr/bin/env python3
"""NumPy peer of `bench gemm`: C = op(A) @ op(B) in float32 through NumPy's bundled BLAS.

Same flags and JSON keys as `bench gemm`. Threads are set with threadpoolctl (falling back to the
*_NUM_THREADS variables, which must then be set before NumPy loads: compare.sh sets both). The BLAS
library, its version and its kernel (OpenBLAS 'architecture', i.e. the core) are printed on stderr and
put in the JSON. One warm-up call, then the median of --repeat timed calls (out= avoids allocation).
"""
import argparse
import json
import os
import sys
import time


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--m", type=int)
    p.add_argument("--n", type=int)
    p.add_argument("--k", type=int)
    p.add_argument("--size", type=int)
    p.add_argument("--trans-a", action="store_true")
    p.add_argument("--trans-b", action="store_true")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeat", type=int, default=0)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    if a.size:
        a.m = a.m or a.size
        a.n = a.n or a.size
        a.k = a.k or a.size
    if not (a.m and a.n and a.k) or a.threads < 1:
        p.error("m, n, k (or --size) and --threads must be positive")
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, str(a.threads))

    import numpy as np
    info = {}
    try:
        from threadpoolctl import threadpool_limits, threadpool_info
        limiter = threadpool_limits(limits=a.threads, user_api="blas")
        blas = [x for x in threadpool_info() if x.get("user_api") == "blas"]
        if blas:
            info = {"library": blas[0].get("internal_api"), "version": blas[0].get("version"),
                    "core": blas[0].get("architecture"), "threads": blas[0].get("num_threads")}
    except ImportError:
        limiter = None
        info = {"library": "unknown (threadpoolctl missing)"}
    print(f"numpy {np.__version__}; BLAS {info}", file=sys.stderr)

    rng = np.random.default_rng(12345)
    A = rng.uniform(-1, 1, size=(a.k, a.m) if a.trans_a else (a.m, a.k)).astype(np.float32)
    B = rng.uniform(-1, 1, size=(a.n, a.k) if a.trans_b else (a.k, a.n)).astype(np.float32)
    opA = A.T if a.trans_a else A
    opB = B.T if a.trans_b else B
    C = np.empty((a.m, a.n), dtype=np.float32)
    flops = 2.0 * a.m * a.n * a.k

    t0 = time.perf_counter()
    np.matmul(opA, opB, out=C)
    first = time.perf_counter() - t0
    repeat = a.repeat or max(5, min(1000, int(0.5 / max(first, 1e-7))))
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        np.matmul(opA, opB, out=C)
        times.append(time.perf_counter() - t0)
    med = float(np.median(times))
    print(f"numpy sgemm {a.m}x{a.n}x{a.k}{' A^T' if a.trans_a else ''}{' B^T' if a.trans_b else ''}, "
          f"{a.threads} threads: median {med:.6f} s (min {min(times):.6f}), {flops / med * 1e-9:.1f} GFLOP/s "
          f"[{info.get('library')} {info.get('version')} core {info.get('core')}]")
    if a.json:
        print(json.dumps({"system": "numpy", "m": a.m, "n": a.n, "k": a.k, "trans_a": a.trans_a,
                          "trans_b": a.trans_b, "threads": a.threads, "repeat": repeat, "median_s": med,
                          "min_s": min(times), "gflops": flops / med * 1e-9, "blas": info}))


if __name__ == "__main__":
    main()
