"""Shared by the PyTorch and JAX peers of the default digits run (`bench train --data train.csv
--test-data test.csv --hidden 256 --optimizer adam ...`): options, reading the split CSV files,
standardizing the features the way ours does, and the JSON report.

Thread pinning is Benchmarks/backprop/peer_common.py's `limit_threads` (imported from there): each
peer calls `limit_threads` before importing its framework.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "backprop"))
import peer_common  # noqa: E402

limit_threads = peer_common.limit_threads
peak_rss_bytes = peer_common.peak_rss_bytes


def digits_args(description, torch_adam=False):
    p = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--train", required=True, help="training CSV: pixel columns, integer label last, no header")
    p.add_argument("--test", required=True, help="held-out CSV in the same layout")
    p.add_argument("--hidden", type=int, default=256, help="hidden width (one ReLU layer)")
    p.add_argument("--lr", type=float, default=1e-3, help="Adam's learning rate (betas 0.9, 0.999, eps 1e-8)")
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--seed", type=int, default=42, help="initialization and shuffling seed")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print one JSON object as the last line")
    if torch_adam:
        p.add_argument("--adam", choices=("default", "foreach", "fused"), default="default",
                       help="torch.optim.Adam's implementation (default: what PyTorch picks on CPU)")
    a = p.parse_args()
    if a.hidden < 1 or a.batch < 1 or a.epochs < 1 or a.threads < 1 or not a.lr > 0:
        p.error("--hidden, --batch, --epochs, --threads and --lr must be positive")
    return a


def read_csv(path):
    """Returns (features as lists of floats, integer labels); errors name the file, line and column."""
    features, labels = [], []
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError as e:
        sys.exit(f"{path}: cannot read: {e}")
    width = None
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        cells = line.split(",")
        if width is None:
            width = len(cells)
        elif len(cells) != width:
            sys.exit(f"{path}:{n}: {len(cells)} fields, expected {width}")
        row = []
        for c, cell in enumerate(cells):
            try:
                row.append(float(cell))
            except ValueError:
                sys.exit(f"{path}:{n}:{c + 1}: {cell.strip()!r} is not a number")
        label = row.pop()
        if label != int(label) or label < 0:
            sys.exit(f"{path}:{n}:{width}: the label {cells[-1].strip()!r} is not a class index 0, 1, 2, ...")
        features.append(row)
        labels.append(int(label))
    if not labels:
        sys.exit(f"{path}: no data rows")
    return features, labels


def load(a):
    """Reads --train and --test and standardizes both with the training rows' statistics, as ours does
    (Sources/Training/Data/Preprocessor.swift): per column, in double precision, the mean and the
    population standard deviation (divided by n) of the training rows; x' = (x - mean) / std, where a
    std <= 1e-12 (a constant column) counts as 1, so the column becomes 0 - its mean is still taken off.
    Returns float32 features and int64 labels as NumPy arrays, and the class count."""
    import numpy as np
    tr_x, tr_y = read_csv(a.train)
    te_x, te_y = read_csv(a.test)
    if len(tr_x[0]) != len(te_x[0]):
        sys.exit(f"{a.test}: {len(te_x[0])} feature columns, {a.train} has {len(tr_x[0])}")
    xtr, xte = np.array(tr_x, dtype=np.float64), np.array(te_x, dtype=np.float64)
    mean = xtr.mean(axis=0)
    std = np.sqrt(((xtr - mean) ** 2).mean(axis=0))
    scale = np.where(std > 1e-12, 1.0 / np.where(std > 1e-12, std, 1.0), 1.0)
    xtr, xte = ((xtr - mean) * scale).astype(np.float32), ((xte - mean) * scale).astype(np.float32)
    classes = max(max(tr_y), max(te_y)) + 1
    return xtr, np.array(tr_y, dtype=np.int64), xte, np.array(te_y, dtype=np.int64), classes


def report(system, a, epochs, test_accuracy, extra):
    """epochs: (samples, seconds, mean training loss) per epoch. samples_per_s leaves out the first
    epoch when later ones ran, like ours' `samples_per_s`."""
    steady = epochs[1:] or epochs
    n, s = sum(e[0] for e in steady), sum(e[1] for e in steady)
    n_all, s_all = sum(e[0] for e in epochs), sum(e[1] for e in epochs)
    line = {"system": system, "data": os.path.basename(a.train), "model": f"{extra.pop('inputs')},{a.hidden},"
            f"{extra.pop('classes')}", "optimizer": "adam", "lr": a.lr, "batch": a.batch, "epochs": len(epochs),
            "threads": a.threads, "seed": a.seed, "final_loss": epochs[-1][2], "test_accuracy": test_accuracy,
            "samples_per_s": n / s if s > 0 else 0.0, "samples_per_s_all_epochs": n_all / s_all if s_all > 0 else 0.0,
            "seconds": s_all, "train_seconds": s_all, "epoch_seconds": [e[1] for e in epochs],
            "peak_rss_bytes": peak_rss_bytes()}
    line.update(extra)
    print(f"{system} digits {line['model']} adam lr {a.lr:g}, batch {a.batch}, {len(epochs)} epochs, {a.threads} "
          f"threads: {line['samples_per_s']:.0f} samples/s (epochs 2..{len(epochs)}), final loss "
          f"{line['final_loss']:.4f}, test accuracy {test_accuracy:.4f}")
    if a.json:
        print(json.dumps(line))
    sys.stdout.flush()
