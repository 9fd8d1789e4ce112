"""Shared by the PyTorch and JAX peers of `bench backprop` and `bench train`.

Thread control has to happen before the framework is imported, so each script calls `limit_threads`
first: it restricts the process to the first T CPUs it may use (like `taskset`), sets the usual
*_NUM_THREADS variables, and for JAX with one thread turns off XLA's multi-threaded Eigen and sets its
intra-op pool to 1 thread.
"""
import argparse
import json
import os
import resource
import statistics
import sys

MODELS = ("mlp", "cnn", "char", "wide", "deep", "small-ops")


def backprop_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", choices=MODELS, default="mlp")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batch", type=int, default=0,
                   help="rows per step: mlp 256, wide 256, deep 64 by default; small-ops has none")
    p.add_argument("--update", action="store_true", help="also a plain SGD step on every parameter")
    p.add_argument("--branches", type=int, default=4, help="wide: number of independent branches K")
    p.add_argument("--repeat", type=int, default=20, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=5, help="untimed steps first (JAX compiles here)")
    p.add_argument("--json", action="store_true")
    p.add_argument("--compile", action="store_true",
                   help="PyTorch only: torch.compile the loss (forward and backward through inductor) and the SGD step")
    a = p.parse_args()
    if a.threads < 1 or a.repeat < 1 or a.warmup < 0 or a.branches < 1:
        p.error("--threads and --repeat must be positive")
    if a.batch == 0:
        a.batch = {"mlp": 256, "cnn": 64, "char": 64, "wide": 256, "deep": 64, "small-ops": 1}[a.model]
    return a


def train_args(description):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("--model", default="784,1024,1024,10", help="layer widths")
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--epochs", type=int, default=2, help="timed epochs, after one untimed warm-up epoch")
    p.add_argument("--samples", type=int, default=8192, help="size of the synthetic training set")
    p.add_argument("--lr", type=float, default=0.01)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--json", action="store_true")
    p.add_argument("--compile", action="store_true",
                   help="PyTorch only: torch.compile the model and loss (forward and backward) and the SGD step")
    a = p.parse_args()
    a.widths = [int(w) for w in a.model.split(",")]
    if len(a.widths) < 2 or min(a.widths) < 1 or a.batch < 1 or a.threads < 1 or a.epochs < 1:
        p.error("bad --model, --batch, --threads or --epochs")
    return a


def limit_threads(threads, jax=False):
    """Pin the process to `threads` CPUs and tell the thread pools; call before importing the framework."""
    cpus = sorted(os.sched_getaffinity(0))
    if threads > len(cpus):
        print(f"warning: {threads} threads asked, {len(cpus)} CPUs usable", file=sys.stderr)
    os.sched_setaffinity(0, cpus[:threads])
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    if jax:
        flags = os.environ.get("XLA_FLAGS", "")
        if threads == 1:
            flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        os.environ["XLA_FLAGS"] = flags.strip()
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    return cpus[:threads]


def peak_rss_bytes():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def report(system, a, times_s, extra):
    med_ms = statistics.median(times_s) * 1e3
    line = {"system": system, "model": a.model, "threads": a.threads, "batch": a.batch, "branches": a.branches,
            "update": a.update, "repeat": len(times_s), "median_ms": med_ms,
            "min_ms": min(times_s) * 1e3, "tasks": None, "peak_bytes": None,
            "peak_rss_bytes": peak_rss_bytes()}
    line.update(extra)
    print(f"{system} {a.model} batch {a.batch}{' +update' if a.update else ''}, {a.threads} threads: "
          f"median {med_ms:.3f} ms (min {min(times_s) * 1e3:.3f}) over {len(times_s)} steps")
    if a.json:
        print(json.dumps(line))
    sys.stdout.flush()


def report_train(system, a, samples, seconds, final_loss, extra):
    line = {"system": system, "data": "synthetic", "model": a.model, "batch": a.batch, "threads": a.threads,
            "epochs": a.epochs, "samples": samples, "seconds": seconds, "samples_per_s": samples / seconds,
            "final_loss": final_loss}
    line.update(extra)
    print(f"{system} train {a.model} batch {a.batch}, {a.threads} threads: {samples / seconds:.0f} samples/s "
          f"({samples} samples in {seconds:.3f} s, final loss {final_loss:.4f})")
    if a.json:
        print(json.dumps(line))
    sys.stdout.flush()
