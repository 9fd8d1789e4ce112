#!/usr/bin/env python3
"""Runs our `bench` and the peer programs on the same workloads, side by side, and prints ratios.

    compare.py scheduler   our executor vs oneTBB flow graph and OpenMP tasks (ns/task)
    compare.py gemm        our sgemm vs OpenBLAS (C, Debian's libopenblas) and NumPy (GFLOP/s)
    compare.py kernels     our elementwise ops and reductions vs NumPy (elements/s, GB/s; one thread)
    compare.py backprop    our plans vs PyTorch eager, torch.compile and JAX jit (ms per step)
    compare.py train       our training loop vs PyTorch (eager, torch.compile) and JAX (samples/s)

Each configuration runs ours and then each peer back to back; `backprop` and `train` take --rounds N to
alternate them N times (the host drifts over minutes) and report each system's median over the rounds
with the range of the paired per-round ratios. Every program prints one JSON object as
the last line of stdout; a program that fails, or a `bench` that lacks the command, shows as n/a. The
ratio columns say how many times faster ours is (> 1: ours is faster). --out FILE appends every JSON
result (one per line, with the command) for RESULTS.md. Uses only the standard library; the compare.sh
scripts build everything first and pass --python.
"""
import argparse
import datetime
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PEER_ENV_DROP = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
_warned = set()


def run_json(cmd, env=None, timeout=600, label=None):
    """Runs cmd; returns the JSON object on its last stdout line, or None (with one note on stderr)."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout, cwd=ROOT)
    except subprocess.TimeoutExpired:
        note(label or cmd[0], f"timed out after {timeout} s: {shlex.join(cmd)}")
        return None
    except OSError as e:
        note(label or cmd[0], f"cannot run {cmd[0]}: {e}")
        return None
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if p.returncode == 0 and lines:
        try:
            obj = json.loads(lines[-1])
            if isinstance(obj, dict):
                record(cmd, obj)
                return obj
        except json.JSONDecodeError:
            pass
    err = [l for l in p.stderr.splitlines() if l.strip()]
    loud = [l for l in err if any(w in l.lower() for w in ("error", "unknown", "usage"))]
    if any(l.startswith("Traceback") for l in err):
        loud = err[-1:]  # a Python exception: its last line says what went wrong
    why = (loud[:1] or err[-1:] or lines[-1:] or ["no output"])[0]
    note(label or cmd[0], f"exit {p.returncode}: {why[:200]}  [{shlex.join(cmd)}]")
    return None


def note(key, text):
    if key not in _warned:
        _warned.add(key)
        print(f"  note: {key}: {text}", file=sys.stderr)


OUT = None


def record(cmd, obj):
    if OUT:
        with open(OUT, "a") as f:
            f.write(json.dumps({"command": shlex.join(cmd), "result": obj}) + "\n")


def peer_env(threads=None):
    env = {k: v for k, v in os.environ.items() if k not in PEER_ENV_DROP}
    if threads:
        for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
            env[var] = str(threads)
    return env


def fmt(x, digits=1):
    return "n/a" if x is None else f"{x:.{digits}f}"


def ratio(theirs, ours):
    return None if theirs is None or ours is None or ours == 0 else theirs / ours


def median(values):
    """statistics.median of the values that are not None (failed runs); None if there are none."""
    xs = [x for x in values if x is not None]
    return statistics.median(xs) if xs else None


def spread(ratios):
    """Paired per-round ratios as 'min-max' (one round: the ratio itself)."""
    xs = [x for x in ratios if x is not None]
    if not xs:
        return "n/a"
    return fmt(xs[0], 2) if len(xs) == 1 else f"{min(xs):.2f}-{max(xs):.2f}"


def table(header, rows):
    widths = [max(len(str(h)), *(len(str(r[i])) for r in rows)) if rows else len(str(h))
              for i, h in enumerate(header)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for r in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(r, widths)))
    sys.stdout.flush()


def machine_banner(args):
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    load = os.getloadavg()
    print(f"# {datetime.datetime.now().isoformat(timespec='seconds')}  {platform.node()}  {model}, "
          f"{len(os.sched_getaffinity(0))} usable CPUs, load {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    if load[0] > 0.5:
        print("# WARNING: the machine is not idle (load > 0.5): these timings are not reliable")
    print(f"# ours: {args.bench}   command: {shlex.join(sys.argv)}")
    sys.stdout.flush()


def csv_ints(s):
    return [int(x) for x in s.split(",") if x]


# ---------------------------------------------------------------------------------------------- scheduler

SCHED_DEFAULT_SIZE = {"chain": 1_000_000, "tree": 2 ** 20 - 1, "wavefront": 1000, "traversal": 1_000_000,
                      "flat": 1_000_000}


def cmd_scheduler(args):
    bin_dir = os.path.join(HERE, "scheduler", "bin")
    systems = [("tbb", [os.path.join(bin_dir, "tbb_scheduler")]),
               ("openmp", [os.path.join(bin_dir, "omp_scheduler")])]
    if not args.no_depend:
        systems.append(("omp-depend", [os.path.join(bin_dir, "omp_scheduler"), "--mode", "depend"]))
    graphs = args.graphs.split(",")
    for g in graphs:
        if g not in SCHED_DEFAULT_SIZE:
            sys.exit(f"compare.py scheduler: unknown graph {g}")
    sizes = dict(SCHED_DEFAULT_SIZE)
    for item in (args.size or []):
        g, n = item.split("=")
        sizes[g] = int(n)
    if args.quick:
        sizes = {g: (n // 10 if g != "wavefront" else 316) for g, n in sizes.items()}
    modes = args.modes.split(",")
    rows = []
    for mode in modes:
        rerun = mode == "rerun"
        repeat = args.repeat_rerun if rerun else args.repeat_build
        for g in graphs:
            for t in csv_ints(args.threads):
                common = ["--graph", g, "--size", str(sizes[g]), "--threads", str(t), "--repeat", str(repeat)]
                if rerun:
                    common.append("--rerun")
                ours = run_json([args.bench, "scheduler", *common, "--json"], label="bench scheduler")
                theirs, tasks = [], (ours or {}).get("tasks")
                for name, prog in systems:
                    r = run_json([*prog, *common, "--json"], env=peer_env(), label=name)
                    theirs.append(r.get("ns_per_task") if r else None)
                    if r and tasks is None:
                        tasks = r.get("tasks")
                    if ours and r and (r.get("tasks"), r.get("edges")) != (ours.get("tasks"), ours.get("edges")):
                        note(f"{g}-tasks", f"graphs differ: ours {ours.get('tasks')} tasks / {ours.get('edges')} "
                                           f"edges, {name} {r.get('tasks')} / {r.get('edges')}")
                row = [g, t, "rerun" if rerun else "build+run", tasks if tasks else "?",
                       fmt((ours or {}).get("ns_per_task")), *[fmt(ns) for ns in theirs]]
                row += [fmt(ratio(ns, (ours or {}).get("ns_per_task")), 2) for ns in theirs]
                rows.append(row)
                print("  " + "  ".join(str(c) for c in row), file=sys.stderr)
    names = [n for n, _ in systems]
    table(["graph", "thr", "mode", "tasks", "ours ns/task", *[f"{n} ns/task" for n in names],
           *[f"{n}/ours" for n in names]], rows)
    print("(ratio = their ns/task / ours: > 1 means ours is faster)")


# --------------------------------------------------------------------------------------------------- gemm

def gemm_shapes(args):
    shapes = [(n, n, n, False, False, f"square {n}") for n in csv_ints(args.sizes)]
    if not args.no_mlp:
        # 784-1024-1024-10 MLP at batch 256: forward products and the backward's transposed ones.
        shapes += [(256, 1024, 784, False, False, "fwd  X.W1"),
                   (784, 1024, 256, True, False, "bwd  X^T.dH1"),
                   (256, 784, 1024, False, True, "bwd  dH1.W1^T"),
                   (256, 1024, 1024, False, False, "fwd  H1.W2"),
                   (1024, 1024, 256, True, False, "bwd  H1^T.dH2"),
                   (256, 1024, 1024, False, True, "bwd  dH2.W2^T")]
    return shapes


def cmd_gemm(args):
    openblas = os.path.join(HERE, "gemm", "bin", "openblas_gemm")
    numpy_peer = [args.python, os.path.join(HERE, "gemm", "numpy_gemm.py")]
    for var in PEER_ENV_DROP:
        if var in os.environ:
            print(f"# {var}={os.environ[var]} is set here: kept for ours, unset for the peers")
    try:
        p = subprocess.run([openblas, "--size", "8", "--threads", "1"], capture_output=True, text=True,
                           env=peer_env(), timeout=60)
        print("# OpenBLAS (C peer): " + (p.stderr.strip().splitlines() or ["?"])[0])
    except OSError as e:
        print(f"# OpenBLAS (C peer): cannot run: {e}")
    if not args.no_numpy:
        r = run_json([*numpy_peer, "--size", "8", "--threads", "1", "--json"], env=peer_env(1), label="numpy")
        if r:
            print(f"# NumPy peer BLAS: {r.get('blas')}")
    rows = []
    for t in csv_ints(args.threads):
        for m, n, k, ta, tb, label in gemm_shapes(args):
            flops = 2.0 * m * n * k
            repeat = args.repeat or max(5, min(500, int(0.3 * 50e9 / flops)))
            common = ["--m", str(m), "--n", str(n), "--k", str(k), "--threads", str(t), "--repeat", str(repeat)]
            common += (["--trans-a"] if ta else []) + (["--trans-b"] if tb else [])
            ours = run_json([args.bench, "gemm", *common, "--json"], label="bench gemm")
            ob = run_json([openblas, *common, "--json"], env=peer_env(t), label="openblas")
            npy = None if args.no_numpy else run_json([*numpy_peer, *common, "--json"], env=peer_env(t),
                                                      label="numpy")
            g = lambda r: r.get("gflops") if r else None  # noqa: E731
            row = [label, f"{m}x{n}x{k}", t, fmt(g(ours)), fmt(g(ob)), fmt(g(npy)),
                   fmt(ratio(g(ours), g(ob)), 2), fmt(ratio(g(ours), g(npy)), 2)]
            rows.append(row)
            print("  " + "  ".join(str(c) for c in row), file=sys.stderr)
    table(["shape", "m x n x k", "thr", "ours GFLOP/s", "OpenBLAS", "NumPy", "ours/OpenBLAS", "ours/NumPy"], rows)
    print("(ratio = our GFLOP/s / theirs: > 1 means ours is faster)")


# ------------------------------------------------------------------------------------------------ kernels

def per_op(obj):
    """{op: result} from a kernels JSON line: an "ops" (or "results") list of objects named by "op"/"name"."""
    if not obj:
        return {}
    items = obj.get("ops") or obj.get("results") or ([obj] if ("op" in obj or "name" in obj) else [])
    return {str(r.get("op", r.get("name"))): r for r in items if isinstance(r, dict)}


# NumPy peer's op names -> `bench kernels` row names.
OUR_KERNEL_NAMES = {"copy": "memcpy", "add": "binary add", "mul": "binary mul", "relu": "unary relu",
                    "exp": "unary exp", "log": "unary log", "tanh": "unary tanh", "sigmoid": "unary sigmoid",
                    "sum": "sum all", "max": "max rows (axis 1)"}


def cmd_kernels(args):
    numpy_peer = [args.python, os.path.join(HERE, "kernels", "numpy_kernels.py")]
    ours = per_op(run_json([args.bench, "kernels", "--count", str(args.size), "--threads", "1", "--json"],
                           label="bench kernels"))
    theirs = per_op(run_json([*numpy_peer, "--size", str(args.size), "--repeat", str(args.repeat), "--json"],
                             env=peer_env(1), label="numpy"))
    rows = []
    for op, r in theirs.items():
        o = ours.get(OUR_KERNEL_NAMES.get(op, op))
        eps = lambda x: x.get("elements_per_s") if x else None  # noqa: E731
        gbs = lambda x: x.get("gb_per_s") if x else None  # noqa: E731
        rows.append([op, args.size, fmt(eps(o) and eps(o) * 1e-9, 3), fmt(eps(r) * 1e-9, 3), fmt(gbs(o), 2),
                     fmt(gbs(r), 2), fmt(ratio(eps(o), eps(r)), 2)])
    table(["op", "n", "ours Gelem/s", "NumPy Gelem/s", "ours GB/s", "NumPy GB/s", "ours/NumPy"], rows)
    print("(one thread each; ratio = our elements/s / NumPy's: > 1 means ours is faster)")


# ----------------------------------------------------------------------------------------------- backprop

def backprop_cases(args):
    cases = []
    for model in args.models.split(","):
        if model == "mlp":
            for b in csv_ints(args.batches):
                cases.append(("mlp", b, not args.no_update))
        elif model in ("cnn", "char"):
            cases.append((model, None, not args.no_update))   # LeNet-5 / the character model, batch 64, with the SGD step
        else:
            cases.append((model, None, False))
    return cases


def cmd_backprop(args):
    torch_peer = [args.python, os.path.join(HERE, "backprop", "torch_backprop.py")]
    jax_peer = [args.python, os.path.join(HERE, "backprop", "jax_backprop.py")]
    # The peers, in column order: PyTorch eager, PyTorch through torch.compile (unless
    # --no-torch-compile), JAX jit. "best" is the fastest of them in each round.
    peers = [("PyTorch", "pytorch", torch_peer)]
    if not args.no_torch_compile:
        peers.append(("torch.compile", "pytorch-compile", [*torch_peer, "--compile"]))
    peers.append(("JAX", "jax", jax_peer))
    rows = []
    ours_ms = {}
    for model, batch, update in backprop_cases(args):
        for t in csv_ints(args.threads):
            common = ["--model", model, "--threads", str(t), "--repeat", str(args.repeat)]
            if batch:
                common += ["--batch", str(batch)]
            if update:
                common.append("--update")
            # Rounds alternate ours and the peers (the host drifts over minutes): each system's
            # figure is the median of its per-round medians, and the spread is that of the paired
            # per-round ratios (fastest peer over ours).
            results = []
            for _ in range(args.rounds):
                ours = run_json([args.bench, "backprop", *common, "--json"], label="bench backprop")
                theirs = [run_json([*cmd, *common, "--json"], env=peer_env(t), label=label) for _, label, cmd in peers]
                results.append((ours, *theirs))
            ms = lambda r: r.get("median_ms") if r else None  # noqa: E731
            ours = next((r[0] for r in results if r[0]), None)   # tasks and peak bytes: any run that worked
            meds = [median([ms(r[i]) for r in results]) for i in range(1 + len(peers))]
            paired = [ratio(min([ms(x) for x in r[1:] if ms(x) is not None], default=None), ms(r[0]))
                      for r in results]
            ours_ms[(model, batch, t)] = meds[0]
            best = min([x for x in meds[1:] if x is not None], default=None)
            tasks = (ours or {}).get("tasks")
            per_task_us = (meds[0] * 1e3 / tasks) if meds[0] and tasks else None
            name = model + (f" b{batch}" if batch else "") + (" +update" if update else "")
            row = [name, t, fmt(meds[0], 3), *[fmt(x, 3) for x in meds[1:]],
                   *[fmt(ratio(x, meds[0]), 2) for x in meds[1:]], fmt(ratio(best, meds[0]), 2), spread(paired),
                   tasks if tasks else "n/a", fmt(per_task_us, 2), (ours or {}).get("peak_bytes", "n/a")]
            rows.append(row)
            print("  " + "  ".join(str(c) for c in row), file=sys.stderr)
    table(["workload", "thr", "ours ms", *[f"{n} ms" for n, _, _ in peers], *[f"{n}/ours" for n, _, _ in peers],
           "best/ours", "rounds' best/ours", "our tasks", "ours us/task", "our peak bytes"], rows)
    print("(ratio = their ms / ours: > 1 means ours is faster; best = the fastest peer)")
    for (model, batch, t), v in ours_ms.items():
        if model == "wide" and t == 1:
            two = ours_ms.get(("wide", None, 2))
            print(f"ours, wide: 1 worker {fmt(v, 3)} ms, 2 workers {fmt(two, 3)} ms, speed-up {fmt(ratio(v, two), 2)}")


# -------------------------------------------------------------------------------------------------- train

def cmd_train(args):
    torch_peer = [args.python, os.path.join(HERE, "backprop", "torch_train.py")]
    peers = [("pytorch", torch_peer)]
    if not args.no_torch_compile:
        peers.append(("pytorch-compile", [*torch_peer, "--compile"]))
    peers.append(("jax", [args.python, os.path.join(HERE, "backprop", "jax_train.py")]))
    titles = {"pytorch": "PyTorch", "pytorch-compile": "torch.compile", "jax": "JAX"}
    rows = []
    for b in csv_ints(args.batches):
        for t in csv_ints(args.threads):
            common = ["--model", args.model, "--batch", str(b), "--threads", str(t)]
            # The same timed epochs on every side: the peers run one untimed warm-up epoch and then
            # --epochs timed ones; `bench train --epochs E` runs E epochs and times epochs 2..E.
            ours_epochs = ["--epochs", str(args.epochs + 1)]
            peer_epochs = ["--epochs", str(args.epochs)]
            sps = lambda r: r.get("samples_per_s") if r else None  # noqa: E731
            results = []
            for _ in range(args.rounds):   # alternated, as in cmd_backprop
                ours = run_json([args.bench, "train", "--data", "synthetic", *common, *ours_epochs, "--json"],
                                label="bench train")
                theirs = [run_json([*cmd, *common, *peer_epochs, "--samples", str(args.samples), "--json"],
                                   env=peer_env(t), label=name) for name, cmd in peers]
                results.append((ours, *theirs))
            meds = [median([sps(r[i]) for r in results]) for i in range(1 + len(peers))]
            paired = [ratio(sps(r[0]), max([sps(x) for x in r[1:] if sps(x) is not None], default=None))
                      for r in results]
            best = max([x for x in meds[1:] if x is not None], default=None)
            row = [args.model, b, t, fmt(meds[0], 0), *[fmt(x, 0) for x in meds[1:]],
                   *[fmt(ratio(meds[0], x), 2) for x in meds[1:]], fmt(ratio(meds[0], best), 2), spread(paired)]
            rows.append(row)
            print("  " + "  ".join(str(c) for c in row), file=sys.stderr)
    table(["model", "batch", "thr", "ours samples/s", *[titles[n] for n, _ in peers],
           *[f"ours/{titles[n]}" for n, _ in peers], "ours/best", "rounds' ours/best"], rows)
    print("(ratio = our samples/s / theirs: > 1 means ours is faster)")


def main():
    global OUT
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "bench"), help="our bench binary")
    p.add_argument("--python", default=sys.executable, help="interpreter with numpy/torch/jax for the peers")
    p.add_argument("--out", help="append every JSON result to this file")
    sub = p.add_subparsers(dest="what", required=True)

    s = sub.add_parser("scheduler")
    s.add_argument("--graphs", default="chain,tree,wavefront,traversal,flat")
    s.add_argument("--threads", default="1,2")
    s.add_argument("--modes", default="rerun,build", help="rerun (prebuilt graph) and/or build (build+run)")
    s.add_argument("--size", action="append", metavar="GRAPH=N",
                   help="override a size (chain=1000000, tree=1048575, wavefront=1000 (side), traversal=1000000)")
    s.add_argument("--quick", action="store_true", help="sizes / 10 (wavefront 316), for a smoke test")
    s.add_argument("--repeat-rerun", type=int, default=10)
    s.add_argument("--repeat-build", type=int, default=3)
    s.add_argument("--no-depend", action="store_true", help="skip the OpenMP depend-clause variant")
    s.set_defaults(func=cmd_scheduler)

    g = sub.add_parser("gemm")
    g.add_argument("--sizes", default="64,128,256,512,1024,2048")
    g.add_argument("--threads", default="1,2")
    g.add_argument("--repeat", type=int, default=0, help="0: about 0.3 s of calls per size, 5..500")
    g.add_argument("--no-mlp", action="store_true", help="skip the MLP forward/backward shapes")
    g.add_argument("--no-numpy", action="store_true")
    g.set_defaults(func=cmd_gemm)

    k = sub.add_parser("kernels")
    k.add_argument("--size", type=int, default=10_000_000)
    k.add_argument("--repeat", type=int, default=20)
    k.set_defaults(func=cmd_kernels)

    b = sub.add_parser("backprop")
    b.add_argument("--models", default="mlp,cnn,char,wide,deep,small-ops")
    b.add_argument("--batches", default="64,256", help="mlp batch sizes")
    b.add_argument("--threads", default="1,2")
    b.add_argument("--repeat", type=int, default=20)
    b.add_argument("--no-update", action="store_true", help="mlp without the SGD step")
    b.add_argument("--rounds", type=int, default=1, help="alternate ours and the peers this many times per cell")
    b.add_argument("--no-torch-compile", action="store_true", help="skip the torch.compile peer (it compiles for minutes)")
    b.set_defaults(func=cmd_backprop)

    t = sub.add_parser("train")
    t.add_argument("--model", default="784,1024,1024,10")
    t.add_argument("--batches", default="64,256")
    t.add_argument("--threads", default="1,2")
    t.add_argument("--epochs", type=int, default=2, help="timed epochs on every side, after one untimed warm-up epoch")
    t.add_argument("--samples", type=int, default=8192, help="peers' synthetic set size")
    t.add_argument("--rounds", type=int, default=1, help="alternate ours and the peers this many times per cell")
    t.add_argument("--no-torch-compile", action="store_true", help="skip the torch.compile peer")
    t.set_defaults(func=cmd_train)

    args = p.parse_args()
    if getattr(args, "rounds", 1) < 1:
        p.error("--rounds must be at least 1")
    OUT = args.out
    machine_banner(args)
    if not os.path.exists(args.bench):
        print(f"# note: {args.bench} does not exist: our columns are n/a")
    args.func(args)


if __name__ == "__main__":
    main()
