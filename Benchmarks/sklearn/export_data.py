#!/usr/bin/env python3
"""Writes Data/diabetes.csv and Data/breast-cancer.csv from the copies scikit-learn ships.

    python3 Benchmarks/sklearn/export_data.py [--out-dir Data]

diabetes.csv: `load_diabetes(scaled=False)`, the original unscaled values (442 rows), header
`age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,progression`. breast-cancer.csv: `load_breast_cancer()` (569 rows),
the 30 feature names with spaces turned into underscores, then `diagnosis` holding `malignant` or
`benign`. Numbers are written in their shortest round-trip form (Python's repr; integral values without
".0"), so reading them back gives the same float64 values. Each file is written to a temporary name and
renamed, so a failure never leaves half a file.
"""
import argparse
import os
import tempfile

from sklearn.datasets import load_breast_cancer, load_diabetes

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def number(v):
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 2 ** 53 else repr(v)


def write_csv(path, header, rows):
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-", suffix=".csv")
    try:
        with os.fdopen(fd, "w", newline="") as f:
            f.write(",".join(header) + "\n")
            for r in rows:
                f.write(",".join(r) + "\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out-dir", default=os.path.join(ROOT, "Data"))
    a = p.parse_args()

    d = load_diabetes(scaled=False)
    assert d.data.shape == (442, 10) and list(d.feature_names) == ["age", "sex", "bmi", "bp", "s1", "s2", "s3",
                                                                    "s4", "s5", "s6"]
    write_csv(os.path.join(a.out_dir, "diabetes.csv"), [*d.feature_names, "progression"],
              ([*map(number, x), number(y)] for x, y in zip(d.data, d.target)))

    b = load_breast_cancer()
    assert b.data.shape == (569, 30) and list(b.target_names) == ["malignant", "benign"]
    header = [n.replace(" ", "_") for n in b.feature_names] + ["diagnosis"]
    write_csv(os.path.join(a.out_dir, "breast-cancer.csv"), header,
              ([*map(number, x), str(b.target_names[y])] for x, y in zip(b.data, b.target)))


if __name__ == "__main__":
    main()
