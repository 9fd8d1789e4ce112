#!/usr/bin/env python3
"""Scaling of data-parallel training: 1 process x 1 worker against N ranks x 1 worker (same per-rank
batch), ours (`bench train --distributed` under mpirun) and, with --torch PYTHON, PyTorch DDP (Gloo).

Each configuration runs --repeats times, interleaved (ours 1, ours N, torch 1, torch N, then again), so
a change in the machine's load hits all of them alike; the table gives the median samples/s, the
spread (min-max) and the 1-minute load average before each run. Efficiency = N-rank samples/s over
N x 1-process samples/s. Every run's JSON goes to --out.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

here = os.path.dirname(os.path.abspath(__file__))
root = os.path.dirname(os.path.dirname(here))
p = argparse.ArgumentParser(description=__doc__)
p.add_argument("--batches", default="128,256", help="per-rank batches")
p.add_argument("--ranks", type=int, default=2)
p.add_argument("--repeats", type=int, default=3)
p.add_argument("--epochs", type=int, default=3, help="ours: epochs (the first is not timed); torch: 1 warm-up + epochs-1")
p.add_argument("--model", default="784,1024,1024,10")
p.add_argument("--bucket-mb", type=float, default=1)
p.add_argument("--torch", metavar="PYTHON", help="a Python with torch: also run the PyTorch DDP peer")
p.add_argument("--out", default="/dev/null", help="append every run's JSON here")
a = p.parse_args()

bench = os.path.join(root, ".build/release/bench")
env = dict(os.environ, OMPI_MCA_pml="ob1")
if os.getuid() == 0:
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
mpirun = ["mpirun", "--oversubscribe", "--bind-to", "none"]
common = ["train", "--data", "synthetic", "--model", a.model, "--threads", "1", "--epochs", str(a.epochs), "--json"]


def commands(b):
    runs = [("ours", 1, [bench] + common + ["--batch", str(b)]),
            ("ours", a.ranks, mpirun + ["-np", str(a.ranks), bench] + common +
             ["--batch", str(b * a.ranks), "--distributed", "--bucket-mb", str(a.bucket_mb)])]
    if a.torch:
        peer = [a.torch, os.path.join(here, "torch_ddp_train.py"), "--model", a.model, "--batch", str(b),
                "--epochs", str(a.epochs - 1), "--bucket-mb", str(a.bucket_mb), "--json"]
        runs += [("pytorch-ddp", 1, peer + ["--ranks", "1"]), ("pytorch-ddp", a.ranks, peer + ["--ranks", str(a.ranks)])]
    return runs


results = {}
with open(a.out, "a") as log:
    for b in [int(x) for x in a.batches.split(",")]:
        for r in range(a.repeats):
            for system, n, cmd in commands(b):
                load = os.getloadavg()[0]
                out = subprocess.run(cmd, env=env, cwd=root, capture_output=True, text=True, timeout=900)
                if out.returncode != 0:
                    print(f"{system} x{n} batch {b}: failed ({out.returncode}): {out.stderr[-500:]}", file=sys.stderr)
                    continue
                j = json.loads(out.stdout.strip().splitlines()[-1])
                j.update(bench_system=system, bench_ranks=n, bench_per_rank_batch=b, load_before=load, time=time.time())
                log.write(json.dumps(j) + "\n")
                results.setdefault((b, system, n), []).append(j)
                print(f"  batch {b} {system} x{n}: {j['samples_per_s']:.0f} samples/s (load {load:.2f})", file=sys.stderr)

print(f"| per-rank batch | system | ranks x workers | samples/s (median of {a.repeats}) | min-max | load before runs | efficiency | hidden comm |")
print("|---|---|---|---|---|---|---|---|")
for b in [int(x) for x in a.batches.split(",")]:
    for system in ["ours"] + (["pytorch-ddp"] if a.torch else []):
        one = results.get((b, system, 1), [])
        for n in [1, a.ranks]:
            runs = results.get((b, system, n), [])
            if not runs:
                continue
            s = [j["samples_per_s"] for j in runs]
            loads = [j["load_before"] for j in runs]
            eff = ""
            if n > 1 and one:
                eff = f"{statistics.median(s) / (n * statistics.median([j['samples_per_s'] for j in one])):.0%}"
            hidden = ""
            if "comm_hidden_share" in runs[0] and n > 1:
                hidden = f"{statistics.median([j['comm_hidden_share'] for j in runs]):.0%}"
            print(f"| {b} | {system} | {n} x 1 | {statistics.median(s):.0f} | {min(s):.0f}-{max(s):.0f} | "
                  f"{min(loads):.2f}-{max(loads):.2f} | {eff} | {hidden} |")
