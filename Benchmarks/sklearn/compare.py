#!/usr/bin/env python3
"""Trains the same small MLP on real tables with our `bench train` and with scikit-learn, and compares
test metrics and training time.

    python3 Benchmarks/sklearn/compare.py                       # diabetes and breast cancer, 3 repeats
    python3 Benchmarks/sklearn/compare.py --datasets diabetes,breast-cancer,iris,digits --json
    python3 Benchmarks/sklearn/compare.py --sklearn-only        # scikit-learn side alone (no bench needed)

Data sets (Data/*.csv, label in the last column): diabetes (regression, 100 epochs), breast-cancer
(binary, 50 epochs); optionally iris (3 classes, 100 epochs) and digits (10 classes, 20 epochs).
Each is split once into train and test CSV files (--test-fraction 0.2, --split-seed, stratified for
classification; rows keep their original text and the file its header line) in a temporary folder.

scikit-learn: StandardScaler on the features, fitted on the train split (regression: the target too,
by TransformedTargetRegressor, metrics in original units), then MLPRegressor / MLPClassifier with
--hidden (64,64), relu, adam, learning_rate_init --lr, batch_size --batch, max_iter = epochs, alpha 0,
shuffle, tol 0 and n_iter_no_change = max_iter (every epoch runs), no early stopping, random_state
--seed. One untimed warm-up fit, then --repeats timed fit() calls (wall time) with the same seed.

Ours: `<bench> train --data train.csv --test-data test.csv --hidden 64,64 --optimizer adam --lr 0.001
--batch 32 --epochs E --seed S --threads T --json`, run --repeats times alternating with the
scikit-learn fits; the last stdout line is JSON with test_r2/test_rmse/test_mae (regression) or
test_accuracy/test_auc (binary; multiclass: test_accuracy) and train_seconds (else seconds).

Medians over the repeats, with the min-max spread where runs differ. The ratio is scikit-learn's
training seconds over ours: > 1 means ours trains faster. --json prints one JSON object instead of
the table; --out FILE also appends it to FILE.
"""
import argparse
import csv
import datetime
import io
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BENCH_ENV = dict(os.environ)  # ours runs in the caller's environment, untouched by the BLAS limits below

# name -> (file under Data/, task, has a header line, default epochs)
DATASETS = {
    "diabetes": ("diabetes.csv", "regression", True, 100),
    "breast-cancer": ("breast-cancer.csv", "binary", True, 50),
    "iris": ("iris.csv", "multiclass", True, 100),
    "digits": ("digits.csv", "multiclass", False, 20),
}
METRICS = {"regression": ["test_r2", "test_rmse", "test_mae"],
           "binary": ["test_accuracy", "test_auc"],
           "multiclass": ["test_accuracy"]}
METRIC_LABEL = {"test_r2": "R2", "test_rmse": "RMSE", "test_mae": "MAE", "test_accuracy": "accuracy",
                "test_auc": "ROC AUC"}


class Failure(Exception):
    """A clear, fatal problem (bench missing or failing, bad data): printed without a traceback."""


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bench", default=os.path.join(ROOT, ".build", "release", "bench"), help="our bench binary")
    p.add_argument("--bench-args", default="", help="extra arguments appended to every bench command")
    p.add_argument("--datasets", default="diabetes,breast-cancer", help=f"from {', '.join(DATASETS)}")
    p.add_argument("--data-dir", default=os.path.join(ROOT, "Data"))
    p.add_argument("--hidden", default="64,64", help="hidden layer widths")
    p.add_argument("--epochs", default="",
                   help="E for every data set, or NAME=E,... (defaults: "
                        + ", ".join(f"{n} {d[3]}" for n, d in DATASETS.items()) + ")")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--seed", type=int, default=1, help="model seed (ours --seed, scikit-learn random_state)")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/test split")
    p.add_argument("--test-fraction", type=float, default=0.2)
    p.add_argument("--threads", type=int, default=2, help="our --threads; BLAS threads for scikit-learn")
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--sklearn-only", action="store_true", help="skip our side (no bench needed)")
    p.add_argument("--keep-splits", metavar="DIR", help="write the split CSV files here and keep them")
    p.add_argument("--timeout", type=float, default=1800, help="seconds allowed per bench run")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of the table")
    p.add_argument("--out", help="append the JSON object to this file")
    a = p.parse_args()
    try:
        a.hidden_sizes = tuple(int(w) for w in a.hidden.split(",") if w.strip())
    except ValueError:
        a.hidden_sizes = ()
    if not a.hidden_sizes or min(a.hidden_sizes) < 1:
        p.error(f"--hidden {a.hidden!r}: expected positive widths such as 64,64")
    a.dataset_names = [d.strip() for d in a.datasets.split(",") if d.strip()]
    for d in a.dataset_names:
        if d not in DATASETS:
            p.error(f"--datasets: unknown data set {d!r} (known: {', '.join(DATASETS)})")
    a.epochs_for = {n: d[3] for n, d in DATASETS.items()}
    for item in (x.strip() for x in a.epochs.split(",") if x.strip()):
        name, _, value = item.rpartition("=")
        if name and name not in DATASETS:
            p.error(f"--epochs: unknown data set {name!r}")
        try:
            e = int(value)
        except ValueError:
            p.error(f"--epochs {item!r}: expected E or NAME=E")
        if e < 1:
            p.error(f"--epochs {item!r}: must be at least 1")
        for n in ([name] if name else DATASETS):
            a.epochs_for[n] = e
    if a.repeats < 1 or a.threads < 1 or a.batch < 1 or a.lr <= 0 or not 0 < a.test_fraction < 1:
        p.error("--repeats, --threads, --batch and --lr must be positive, --test-fraction in (0, 1)")
    return a


ARGS = parse_args()
# BLAS pools size themselves when NumPy loads: limit them first (threadpoolctl below does it again).
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = str(ARGS.threads)

try:
    import numpy as np  # noqa: E402
    import sklearn  # noqa: E402
    from sklearn.compose import TransformedTargetRegressor  # noqa: E402
    from sklearn.exceptions import ConvergenceWarning  # noqa: E402
    from sklearn.metrics import (accuracy_score, mean_absolute_error, mean_squared_error, r2_score,  # noqa: E402
                                 roc_auc_score)
    from sklearn.model_selection import train_test_split  # noqa: E402
    from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
    from sklearn.pipeline import make_pipeline  # noqa: E402
    from sklearn.preprocessing import StandardScaler  # noqa: E402
    from threadpoolctl import threadpool_info, threadpool_limits  # noqa: E402
except ImportError as e:
    sys.exit(f"compare.py: {e}: this script needs scikit-learn (pip install scikit-learn, "
             f"or Benchmarks/sklearn/compare.sh, which installs it)")


def log(text):
    print(text, file=sys.stderr, flush=True)


# ------------------------------------------------------------------------------------------------- data

def read_table(path, has_header, task):
    """Returns (header line or None, raw data lines, features float64 [n, f], labels)."""
    try:
        with open(path, newline="") as f:
            lines = [l for l in f.read().splitlines() if l.strip()]
    except OSError as e:
        raise Failure(f"cannot read {path}: {e}")
    header = lines.pop(0) if has_header else None
    rows = list(csv.reader(lines))
    if not rows:
        raise Failure(f"{path}: no data rows")
    width = len(rows[0])
    features, labels = [], []
    for i, r in enumerate(rows):
        line = i + 1 + (1 if has_header else 0)
        if len(r) != width:
            raise Failure(f"{path}:{line}: {len(r)} fields, expected {width}")
        try:
            features.append([float(x) for x in r[:-1]])
        except ValueError:
            col = next(c for c, x in enumerate(r[:-1]) if not _is_float(x))
            raise Failure(f"{path}:{line}:{col + 1}: {r[col]!r} is not a number")
        labels.append(r[-1].strip())
    y = np.array(labels, dtype=object)
    if task == "regression":
        try:
            y = y.astype(np.float64)
        except ValueError:
            raise Failure(f"{path}: the last column must be numeric for regression")
    return header, lines, np.array(features, dtype=np.float64), y


def _is_float(x):
    try:
        float(x)
        return True
    except ValueError:
        return False


def write_split(folder, name, header, lines, idx):
    """Writes the rows idx (in file order) under the same header; returns the path."""
    path = os.path.join(folder, name)
    buf = io.StringIO()
    if header is not None:
        buf.write(header + "\n")
    for i in sorted(idx):
        buf.write(lines[i] + "\n")
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(buf.getvalue())
    os.replace(tmp, path)
    return path


# -------------------------------------------------------------------------------------------- our side

def run_bench(cmd):
    """Runs bench; returns the JSON object of its last stdout line, or raises Failure with its stderr."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=BENCH_ENV, timeout=ARGS.timeout)
    except subprocess.TimeoutExpired:
        raise Failure(f"bench timed out after {ARGS.timeout:.0f} s: {shlex.join(cmd)}")
    except OSError as e:
        raise Failure(f"cannot run {cmd[0]}: {e}")
    lines = [l for l in p.stdout.splitlines() if l.strip()]
    if p.returncode != 0:
        raise Failure(f"bench exited with status {p.returncode}: {shlex.join(cmd)}\n"
                      f"--- its stderr ---\n{p.stderr.rstrip() or '(empty)'}"
                      + (f"\n--- last stdout line ---\n{lines[-1]}" if lines else ""))
    if not lines:
        raise Failure(f"bench printed nothing on stdout: {shlex.join(cmd)}\n--- its stderr ---\n{p.stderr.rstrip()}")
    try:
        obj = json.loads(lines[-1])
    except json.JSONDecodeError as e:
        raise Failure(f"bench's last stdout line is not JSON ({e}): {lines[-1][:300]!r}\n  [{shlex.join(cmd)}]")
    if not isinstance(obj, dict):
        raise Failure(f"bench's last stdout line is not a JSON object: {lines[-1][:300]!r}")
    return obj


def ours_once(train_csv, test_csv, epochs):
    cmd = [ARGS.bench, "train", "--data", train_csv, "--test-data", test_csv, "--hidden", ARGS.hidden,
           "--optimizer", "adam", "--lr", repr(ARGS.lr), "--batch", str(ARGS.batch), "--epochs", str(epochs),
           "--seed", str(ARGS.seed), "--threads", str(ARGS.threads), "--json", *shlex.split(ARGS.bench_args)]
    obj = run_bench(cmd)
    secs = obj.get("train_seconds", obj.get("seconds"))
    return obj, (float(secs) if isinstance(secs, (int, float)) else None), cmd


# ----------------------------------------------------------------------------------------- scikit-learn

def sklearn_model(task, epochs):
    common = dict(hidden_layer_sizes=ARGS.hidden_sizes, activation="relu", solver="adam",
                  learning_rate_init=ARGS.lr, batch_size=ARGS.batch, max_iter=epochs, alpha=0.0, shuffle=True,
                  tol=0.0, n_iter_no_change=epochs, early_stopping=False, random_state=ARGS.seed)
    if task == "regression":
        return TransformedTargetRegressor(regressor=make_pipeline(StandardScaler(), MLPRegressor(**common)),
                                          transformer=StandardScaler())
    return make_pipeline(StandardScaler(), MLPClassifier(**common))


def sklearn_fit(task, epochs, Xtr, ytr):
    model = sklearn_model(task, epochs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # max_iter reached: that is the point
        t0 = time.perf_counter()
        model.fit(Xtr, ytr)
        secs = time.perf_counter() - t0
    return model, secs


def sklearn_metrics(task, model, Xte, yte):
    if task == "regression":
        pred = model.predict(Xte)
        return {"test_r2": r2_score(yte, pred), "test_rmse": mean_squared_error(yte, pred) ** 0.5,
                "test_mae": mean_absolute_error(yte, pred)}
    m = {"test_accuracy": accuracy_score(yte, model.predict(Xte))}
    if task == "binary":
        # classes_ are sorted; the score of classes_[1] against "is classes_[1]" (the AUC is the same
        # for either choice of positive class when the score is that class's probability).
        classes = model.classes_
        m["test_auc"] = roc_auc_score(yte == classes[1], model.predict_proba(Xte)[:, 1])
    return m


# ---------------------------------------------------------------------------------------------- summary

def summary(values):
    v = [x for x in values if x is not None]
    if not v:
        return None
    return {"median": statistics.median(v), "min": min(v), "max": max(v), "values": v}


def fmt(s, digits):
    if s is None:
        return "n/a"
    text = f"{s['median']:.{digits}f}"
    lo, hi = f"{s['min']:.{digits}f}", f"{s['max']:.{digits}f}"
    return text if lo == hi else f"{text} ({lo}-{hi})"


def run_dataset(name, folder):
    fname, task, has_header, _ = DATASETS[name]
    epochs = ARGS.epochs_for[name]
    path = os.path.join(ARGS.data_dir, fname)
    header, lines, X, y = read_table(path, has_header, task)
    idx = np.arange(len(lines))
    tr, te = train_test_split(idx, test_size=ARGS.test_fraction, random_state=ARGS.split_seed,
                              stratify=None if task == "regression" else y)
    train_csv = write_split(folder, f"{name}-train.csv", header, lines, tr)
    test_csv = write_split(folder, f"{name}-test.csv", header, lines, te)
    Xtr, ytr, Xte, yte = X[tr], y[tr], X[te], y[te]
    if task != "regression":
        ytr, yte = ytr.astype(str), yte.astype(str)
        if task == "binary" and len(set(y)) != 2:
            raise Failure(f"{path}: {len(set(y))} classes, expected 2")
    log(f"{name}: {task}, {len(tr)} train / {len(te)} test rows, {X.shape[1]} features, {epochs} epochs")

    sklearn_fit(task, epochs, Xtr, ytr)  # untimed warm-up
    ours_runs, ours_secs, sk_secs, sk_metrics = [], [], [], []
    for r in range(ARGS.repeats):
        if not ARGS.sklearn_only:
            obj, secs, cmd = ours_once(train_csv, test_csv, epochs)
            ours_runs.append(obj)
            ours_secs.append(secs)
            log(f"  ours #{r + 1}: {secs if secs is not None else 'n/a'} s  "
                + "  ".join(f"{k}={obj.get(k)}" for k in METRICS[task]))
        model, secs = sklearn_fit(task, epochs, Xtr, ytr)
        sk_secs.append(secs)
        sk_metrics.append(sklearn_metrics(task, model, Xte, yte))
        log(f"  scikit-learn #{r + 1}: {secs:.3f} s  "
            + "  ".join(f"{k}={v:.4f}" for k, v in sk_metrics[-1].items()))
    if _mlp(model).n_iter_ != epochs:
        log(f"  note: scikit-learn stopped after {_mlp(model).n_iter_} of {epochs} epochs")
    if ours_runs:
        missing = [k for k in METRICS[task] if not isinstance(ours_runs[0].get(k), (int, float))]
        if missing:
            log(f"  note: bench's JSON has no {', '.join(missing)} (keys: {', '.join(sorted(ours_runs[0]))})")
        if ours_secs[0] is None:
            log("  note: bench's JSON has neither train_seconds nor seconds")

    def ours_metric(k):
        return summary([o.get(k) if isinstance(o.get(k), (int, float)) else None for o in ours_runs])

    result = {
        "name": name, "task": task, "file": path, "train_rows": int(len(tr)), "test_rows": int(len(te)),
        "features": int(X.shape[1]), "epochs": epochs,
        "sklearn": {"metrics": {k: summary([m[k] for m in sk_metrics]) for k in METRICS[task]},
                    "train_seconds": summary(sk_secs),
                    "iterations": int(_mlp(model).n_iter_)},
        "ours": None if ARGS.sklearn_only else {
            "metrics": {k: ours_metric(k) for k in METRICS[task]},
            "train_seconds": summary(ours_secs),
            "command": shlex.join(cmd).replace(folder, "$SPLITS"),
            "runs": ours_runs},
    }
    o, s = (result["ours"] or {}).get("train_seconds"), result["sklearn"]["train_seconds"]
    result["sklearn_over_ours"] = s["median"] / o["median"] if o and s and o["median"] > 0 else None
    return result


def _mlp(model):
    inner = model.regressor_ if isinstance(model, TransformedTargetRegressor) else model
    return inner[-1]


def print_table(results):
    rows = []
    for r in results:
        ours, sk = r["ours"], r["sklearn"]
        for i, k in enumerate(METRICS[r["task"]]):
            digits = 2 if k in ("test_rmse", "test_mae") else 4
            first = i == 0
            rows.append([r["name"] if first else "", f"{r['train_rows']}/{r['test_rows']}" if first else "",
                         r["epochs"] if first else "", METRIC_LABEL[k],
                         fmt(ours["metrics"][k], digits) if ours else "-", fmt(sk["metrics"][k], digits),
                         (fmt(ours["train_seconds"], 3) if ours else "-") if first else "",
                         fmt(sk["train_seconds"], 3) if first else "",
                         ("-" if not ours else "n/a" if r["sklearn_over_ours"] is None
                          else f"{r['sklearn_over_ours']:.2f}") if first else ""])
    header = ["data set", "train/test", "epochs", "metric", "ours", "scikit-learn", "ours s", "sklearn s",
              "sklearn/ours"]
    widths = [max(len(str(h)), *(len(str(row[i])) for row in rows)) for i, h in enumerate(header)]
    line = "  ".join(str(h).rjust(w) for h, w in zip(header, widths))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(str(c).rjust(w) for c, w in zip(row, widths)))
    print("(test-split metrics and training seconds: median over the repeats, (min-max) where runs differ;\n"
          " sklearn/ours = scikit-learn's training seconds / ours: > 1 means ours trains faster)")


def machine():
    try:
        model = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        model = platform.processor()
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"), "host": platform.node(), "cpu": model,
            "usable_cpus": len(os.sched_getaffinity(0)), "load": [round(x, 2) for x in os.getloadavg()]}


def main():
    if not ARGS.sklearn_only and not (os.path.isfile(ARGS.bench) and os.access(ARGS.bench, os.X_OK)):
        raise Failure(f"our bench {ARGS.bench} does not exist or is not executable: build it with "
                      f"`swift build -c release --product bench`, pass --bench PATH, or use --sklearn-only")
    info = machine()
    blas = [{k: p.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for p in threadpool_info()]
    if not ARGS.json:
        print(f"# {info['date']}  {info['host']}  {info['cpu']}, {info['usable_cpus']} usable CPUs, "
              f"load {' '.join(f'{x:.2f}' for x in info['load'])}")
        if info["load"][0] > 0.5:
            print("# WARNING: the machine is not idle (load > 0.5): these timings are not reliable")
        print(f"# ours: {'(skipped: --sklearn-only)' if ARGS.sklearn_only else ARGS.bench}   "
              f"scikit-learn {sklearn.__version__}, NumPy {np.__version__}, BLAS "
              + ", ".join(f"{b['internal_api']} {b['version']} {b['architecture']}" for b in blas
                          if b['internal_api'] != 'openmp'))
        print(f"# MLP {ARGS.hidden} relu, adam lr {ARGS.lr:g}, batch {ARGS.batch}, seed {ARGS.seed}, "
              f"{ARGS.threads} threads, split seed {ARGS.split_seed} ({ARGS.test_fraction:g} test), "
              f"{ARGS.repeats} repeats   command: {shlex.join(sys.argv)}", flush=True)
    results = []
    with threadpool_limits(limits=ARGS.threads), tempfile.TemporaryDirectory(prefix="sklearn-compare-") as tmp:
        folder = ARGS.keep_splits or tmp
        os.makedirs(folder, exist_ok=True)
        for name in ARGS.dataset_names:
            results.append(run_dataset(name, os.path.abspath(folder)))
    doc = {"system": "scikit-learn", "sklearn_version": sklearn.__version__, "numpy_version": np.__version__,
           "blas": blas, "machine": info, "bench": None if ARGS.sklearn_only else ARGS.bench,
           "hidden": list(ARGS.hidden_sizes), "lr": ARGS.lr, "batch": ARGS.batch, "seed": ARGS.seed,
           "split_seed": ARGS.split_seed, "test_fraction": ARGS.test_fraction, "threads": ARGS.threads,
           "repeats": ARGS.repeats, "datasets": results}
    if ARGS.out:
        with open(ARGS.out, "a") as f:
            f.write(json.dumps(doc) + "\n")
    if ARGS.json:
        print(json.dumps(doc))
    else:
        print_table(results)


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        sys.exit(f"compare.py: {e}")
