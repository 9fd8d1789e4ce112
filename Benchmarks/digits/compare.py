#!/usr/bin/env python3
"""The default digits run against PyTorch and JAX: the same 64-256-10 MLP trained with Adam on the
same train/test split; samples/s and held-out accuracy side by side.

    python3 Benchmarks/digits/compare.py --python /path/to/python-with-torch-and-jax
    python3 Benchmarks/digits/compare.py --threads 1 --repeats 5 --out results.jsonl

Data/digits.csv (1797 rows, 64 pixel columns 0..16, the digit last, no header) is split once: the
row numbers shuffled with Python's random.Random(--split-seed), the last round(n * --test-fraction)
of them (at least one row on each side) are the test rows; both files keep the rows in file order and
their original text, in a temporary folder (--keep-splits DIR keeps them).

Ours: `<bench> train --data train.csv --test-data test.csv --hidden 256 --optimizer adam --lr 0.001
--batch 32 --epochs 30 --seed S --threads T --json` (features standardized on the training split).
Peers: Benchmarks/digits/torch_digits.py (PyTorch eager; --torch-adam picks torch.optim.Adam's
implementation, fused by default: the fastest on CPU, same formula) and jax_digits.py (one jitted step,
Adam in jax.numpy), with the same options: the same standardization, model, initialization scheme
(He-normal weights, zero biases), Adam (betas 0.9, 0.999, eps 1e-8), reshuffling every epoch and the
last partial batch included; their random draws differ from ours.

samples/s is every side's `samples_per_s`: the training throughput of epochs 2..E (the first epoch
excluded); test accuracy is measured after the last epoch. For each thread count, every repeat runs
ours, then PyTorch, then JAX, so slow phases of a busy machine hit all three. The table shows medians
over --repeats with the (min-max) spread where runs differ; ours/peer = our median samples/s over the
peer's (> 1: ours is faster). Every program prints one JSON object as its last stdout line; a failing
one shows n/a (with a note on stderr). --out FILE appends every run's JSON (with its command) and the
summary; the summary is also this script's last stdout line. Standard library only.
"""
import argparse
import json
import math
import os
import random
import shlex
import statistics
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import compare as common  # noqa: E402  Benchmarks/compare.py: run_json, peer_env, table, machine_banner

ROOT = common.ROOT


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "bench"), help="our bench binary")
    p.add_argument("--python", default=sys.executable, help="interpreter with torch and jax for the peers")
    p.add_argument("--out", help="append every JSON result and the summary to this file")
    p.add_argument("--data", default=os.path.join(ROOT, "Data", "digits.csv"))
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/test shuffle")
    p.add_argument("--seed", type=int, default=42, help="model seed: ours --seed, the peers' --seed")
    p.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--torch-adam", choices=("default", "foreach", "fused"), default="fused",
                   help="torch.optim.Adam implementation for the PyTorch peer")
    p.add_argument("--keep-splits", metavar="DIR", help="write train.csv and test.csv here and keep them")
    p.add_argument("--timeout", type=float, default=600, help="seconds allowed per run")
    a = p.parse_args()
    try:
        a.thread_counts = [int(t) for t in a.threads.split(",") if t.strip()]
    except ValueError:
        a.thread_counts = []
    if not a.thread_counts or min(a.thread_counts) < 1:
        p.error(f"--threads {a.threads!r}: expected positive counts such as 1,2")
    if a.repeats < 1 or a.hidden < 1 or a.batch < 1 or a.epochs < 2 or not a.lr > 0 \
            or not 0 < a.test_fraction < 1:
        p.error("--repeats, --hidden, --batch and --lr must be positive, --epochs at least 2 (the first is "
                "left out of samples/s), --test-fraction in (0, 1)")
    return a


# ------------------------------------------------------------------------------------------------- split

def split(path, test_fraction, seed, folder):
    """Writes folder/train.csv and folder/test.csv; returns their paths and row counts."""
    try:
        with open(path) as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
    except OSError as e:
        sys.exit(f"compare.py: cannot read {path}: {e}")
    width = None
    for n, line in enumerate(lines, start=1):
        cells = line.split(",")
        width = width or len(cells)
        if len(cells) != width:
            sys.exit(f"compare.py: {path}:{n}: {len(cells)} fields, expected {width}")
        for c, cell in enumerate(cells):
            try:
                float(cell)
            except ValueError:
                sys.exit(f"compare.py: {path}:{n}:{c + 1}: {cell.strip()!r} is not a number (the file has no header)")
    count = len(lines)
    if count < 2:
        sys.exit(f"compare.py: {path}: {count} rows are too few to split")
    order = list(range(count))
    random.Random(seed).shuffle(order)
    tests = min(max(math.floor(count * test_fraction + 0.5), 1), count - 1)
    paths = []
    for name, rows in (("train.csv", order[:count - tests]), ("test.csv", order[count - tests:])):
        out = os.path.join(folder, name)
        with open(out + ".tmp", "w") as f:
            f.write("".join(lines[i] + "\n" for i in sorted(rows)))
        os.replace(out + ".tmp", out)
        paths.append(out)
    return paths[0], paths[1], count - tests, tests


# ----------------------------------------------------------------------------------------------- summary

def summary(values):
    v = [x for x in values if isinstance(x, (int, float))]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "values": v}


def spread(s, digits, scale=1.0):
    if s is None:
        return "n/a"
    text, lo, hi = (f"{x * scale:.{digits}f}" for x in (s["median"], s["min"], s["max"]))
    return text if lo == hi else f"{text} ({lo}-{hi})"


SYSTEMS = ("ours", "pytorch", "jax")


def main():
    a = parse_args()
    common.OUT = a.out
    common.machine_banner(a)
    if not os.path.exists(a.bench):
        print(f"# note: {a.bench} does not exist: our rows are n/a")
    with tempfile.TemporaryDirectory(prefix="digits-compare-") as tmp:
        folder = os.path.abspath(a.keep_splits or tmp)
        os.makedirs(folder, exist_ok=True)
        train, test, n_train, n_test = split(a.data, a.test_fraction, a.split_seed, folder)
        print(f"# {a.data}: {n_train} train / {n_test} test rows (split seed {a.split_seed}); MLP 64-{a.hidden}-10 "
              f"relu, adam lr {a.lr:g}, batch {a.batch}, {a.epochs} epochs, seed {a.seed}; PyTorch Adam "
              f"{a.torch_adam}; {a.repeats} repeats", flush=True)
        common_opts = ["--hidden", str(a.hidden), "--lr", str(a.lr), "--batch", str(a.batch),
                       "--epochs", str(a.epochs), "--seed", str(a.seed)]
        results = []
        for t in a.thread_counts:
            runs = {s: [] for s in SYSTEMS}
            commands = {}
            for r in range(a.repeats):
                cmds = {
                    "ours": ([a.bench, "train", "--data", train, "--test-data", test, "--optimizer", "adam",
                              *common_opts, "--threads", str(t), "--json"], None),
                    "pytorch": ([a.python, os.path.join(HERE, "torch_digits.py"), "--train", train, "--test", test,
                                 *common_opts, "--threads", str(t), "--adam", a.torch_adam, "--json"],
                                common.peer_env(t)),
                    "jax": ([a.python, os.path.join(HERE, "jax_digits.py"), "--train", train, "--test", test,
                             *common_opts, "--threads", str(t), "--json"], common.peer_env(t)),
                }
                for s in SYSTEMS:
                    cmd, env = cmds[s]
                    commands[s] = shlex.join(cmd).replace(folder, "$SPLITS")
                    obj = common.run_json(cmd, env=env, timeout=a.timeout, label=s)
                    runs[s].append(obj)
                    sps, acc = (obj or {}).get("samples_per_s"), (obj or {}).get("test_accuracy")
                    print(f"  {t} thr #{r + 1} {s}: " + ("n/a" if obj is None else
                          f"{sps:.0f} samples/s, test accuracy {acc:.4f}" if isinstance(sps, (int, float))
                          and isinstance(acc, (int, float)) else f"JSON without samples_per_s/test_accuracy: {obj}"),
                          file=sys.stderr, flush=True)
            entry = {"threads": t}
            for s in SYSTEMS:
                entry[s] = {"samples_per_s": summary([(o or {}).get("samples_per_s") for o in runs[s]]),
                            "test_accuracy": summary([(o or {}).get("test_accuracy") for o in runs[s]]),
                            "command": commands[s]}
            ours = entry["ours"]["samples_per_s"]
            for s in SYSTEMS[1:]:
                theirs = entry[s]["samples_per_s"]
                entry[s]["ours_over_peer"] = ours["median"] / theirs["median"] if ours and theirs else None
            peers = [entry[s]["samples_per_s"]["median"] for s in SYSTEMS[1:] if entry[s]["samples_per_s"]]
            entry["ours_over_best_peer"] = ours["median"] / max(peers) if ours and peers else None
            results.append(entry)

    rows = []
    for e in results:
        for s in SYSTEMS:
            q = e[s].get("ours_over_peer")
            rows.append([{"ours": "ours", "pytorch": "PyTorch", "jax": "JAX"}[s], e["threads"],
                         spread(e[s]["samples_per_s"], 0), spread(e[s]["test_accuracy"], 2, 100),
                         "-" if s == "ours" else "n/a" if q is None else f"{q:.2f}"])
    common.table(["system", "threads", "samples/s", "test accuracy %", "ours/peer"], rows)
    print("(samples/s: epochs 2..E; median over the repeats, (min-max) where runs differ; ours/peer = our median\n"
          " samples/s over the peer's: > 1 means ours is faster)")
    for e in results:
        b = e["ours_over_best_peer"]
        print(f"ours over the faster peer, {e['threads']} thread{'s' if e['threads'] > 1 else ''}: "
              f"{'n/a' if b is None else f'{b:.2f}x'}")
    doc = {"benchmark": "digits", "data": a.data, "train_rows": n_train, "test_rows": n_test,
           "split_seed": a.split_seed, "test_fraction": a.test_fraction, "seed": a.seed, "hidden": a.hidden,
           "lr": a.lr, "batch": a.batch, "epochs": a.epochs, "torch_adam": a.torch_adam, "repeats": a.repeats,
           "load": [round(x, 2) for x in os.getloadavg()], "results": results}
    if a.out:
        with open(a.out, "a") as f:
            f.write(json.dumps(doc) + "\n")
    print(json.dumps(doc))


if __name__ == "__main__":
    main()
