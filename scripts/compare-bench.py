#!/usr/bin/env python3
"""Compares two builds of `bench` on the same machine, alternating runs so that load from other
work hits both alike, and prints the median and spread (min..max) of each figure.

    scripts/compare-bench.py OLD_BENCH NEW_BENCH [--rounds 5] [--only gemm,kernels,backprop,train]
        [--env NAME=VALUE ...]   (environment for the NEW binary only, e.g. GRAPH_ENGINE_KERNELS=avx2)

Figures: `bench gemm --size N --threads T --json` GFLOP/s (N = 64, 256, 1024; T = 1, 2),
`bench kernels --json` milliseconds per operation, `bench backprop --model mlp --threads 2 --json`
median ms, `bench train --json` training samples/s.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

WORKLOADS = {
    "gemm": [
        (f"gemm n={n} t={t}", ["gemm", "--size", str(n), "--threads", str(t), "--json"], "gflops", "GFLOP/s", True)
        for n in (64, 256, 1024) for t in (1, 2)
    ],
    "kernels": [("kernels", ["kernels", "--json"], None, "ms", False)],
    "backprop": [("backprop mlp t=2", ["backprop", "--model", "mlp", "--threads", "2", "--json"], "median_ms", "ms", False)],
    "train": [("train", ["train", "--json"], "samples_per_s", "samples/s", True)],
}


def run(binary, args, env):
    out = subprocess.run([binary] + args, capture_output=True, text=True, env=env, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def figures(name, args, key, result):
    """(label, value) pairs from one JSON result."""
    if key is not None:
        return [(name, float(result[key]))]
    return [(f"kernels {r['op']}", float(r["median_s"]) * 1e3) for r in result["results"]]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("old")
    p.add_argument("new")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--only", default="gemm,kernels,backprop,train")
    p.add_argument("--env", action="append", default=[])
    a = p.parse_args()
    new_env = dict(os.environ)
    for item in a.env:
        k, _, v = item.partition("=")
        new_env[k] = v
    old_env = dict(os.environ)
    old_env.pop("GRAPH_ENGINE_KERNELS", None)
    rows = {}   # label -> (unit, higher_is_better, {"old": [...], "new": [...]})
    for area in a.only.split(","):
        for name, args, key, unit, higher in WORKLOADS[area]:
            for _ in range(a.rounds):
                for side, binary, env in (("old", a.old, old_env), ("new", a.new, new_env)):
                    for label, value in figures(name, args, key, run(binary, args, env)):
                        rows.setdefault(label, (unit, higher, {"old": [], "new": []}))[2][side].append(value)
    print(f"{'figure':34} {'unit':10} {'old median [min..max]':28} {'new median [min..max]':28} new/old")
    for label, (unit, higher, v) in rows.items():
        def fmt(xs):
            return f"{statistics.median(xs):9.3f} [{min(xs):.3f}..{max(xs):.3f}]"
        mo, mn = statistics.median(v["old"]), statistics.median(v["new"])
        ratio = (mn / mo if higher else mo / mn) if mo > 0 and mn > 0 else float("nan")
        print(f"{label:34} {unit:10} {fmt(v['old']):28} {fmt(v['new']):28} {ratio:5.2f}x")
    print("(new/old > 1: the new build is faster)")


if __name__ == "__main__":
    sys.exit(main())
