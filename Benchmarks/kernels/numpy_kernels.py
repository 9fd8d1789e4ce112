#!/usr/bin/env python3
"""NumPy peer of `bench kernels`: elementwise ops and reductions on large float32 arrays.

For each op, one untimed call then the median of --repeat calls, writing into preallocated outputs
(out=), so no allocation is timed. NumPy runs these on one thread (its SIMD loops; exp, log, tanh use its
own vectorized AVX2/AVX-512 code where the CPU has it). Reports elements/s and GB/s, where the bytes are
those the op must move (float32 reads + writes: copy 8 per element, binary 12, unary 8, reduction 4).
sigmoid is written the way NumPy users write it: 1 / (1 + exp(-x)), in place in one buffer.
With --json, one JSON object per op, the last line holding all of them under "ops".
"""
import argparse
import json
import statistics
import sys
import time

import numpy as np

OPS = ("copy", "add", "mul", "relu", "exp", "log", "tanh", "sigmoid", "sum", "max")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--size", type=int, default=10_000_000, help="elements per array")
    p.add_argument("--ops", default=",".join(OPS))
    p.add_argument("--repeat", type=int, default=20)
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    n = a.size
    rng = np.random.default_rng(1)
    x = rng.uniform(-5, 5, n).astype(np.float32)
    y = rng.uniform(-5, 5, n).astype(np.float32)
    pos = np.abs(x) + np.float32(0.1)
    out = np.empty_like(x)

    def sigmoid():
        np.negative(x, out=out)
        np.exp(out, out=out)
        np.add(out, np.float32(1), out=out)
        np.reciprocal(out, out=out)

    table = {
        "copy": (lambda: np.copyto(out, x), 8),
        "add": (lambda: np.add(x, y, out=out), 12),
        "mul": (lambda: np.multiply(x, y, out=out), 12),
        "relu": (lambda: np.maximum(x, np.float32(0), out=out), 8),
        "exp": (lambda: np.exp(x, out=out), 8),
        "log": (lambda: np.log(pos, out=out), 8),
        "tanh": (lambda: np.tanh(x, out=out), 8),
        "sigmoid": (sigmoid, 8),
        "sum": (lambda: np.sum(x), 4),
        "max": (lambda: np.max(x), 4),
    }
    results = []
    for op in a.ops.split(","):
        if op not in table:
            p.error(f"unknown op {op}; ops: {', '.join(OPS)}")
        fn, bytes_per = table[op]
        fn()
        times = []
        for _ in range(a.repeat):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        r = {"system": "numpy", "op": op, "n": n, "threads": 1, "repeat": a.repeat, "median_s": med,
             "elements_per_s": n / med, "gb_per_s": n * bytes_per / med * 1e-9}
        results.append(r)
        print(f"numpy {op:8s} n={n}: median {med * 1e3:8.3f} ms  {n / med * 1e-9:7.3f} Gelem/s  "
              f"{r['gb_per_s']:7.2f} GB/s")
    if a.json:
        for r in results:
            print(json.dumps(r))
        print(json.dumps({"system": "numpy", "version": np.__version__, "n": n, "ops": results}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
