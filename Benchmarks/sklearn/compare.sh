#!/usr/bin/env bash
# Our `bench train` against scikit-learn's MLPRegressor / MLPClassifier on Data/diabetes.csv and
# Data/breast-cancer.csv (optionally iris, digits): test metrics and training seconds, one table.
# Installs NumPy and scikit-learn from PyPI if missing (Benchmarks/setup.sh numpy, then pip install
# scikit-learn into the same interpreter), builds `swift build -c release`, then runs
# Benchmarks/sklearn/compare.py with the arguments given (--datasets, --epochs, --repeats, --sklearn-only...).
# Environment: SKIP_SWIFT_BUILD=1 uses the bench binary as it is; OUT=FILE appends the JSON result there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
py="$("$root/Benchmarks/setup.sh" numpy | tail -1)"
if ! "$py" -c "import sklearn" >/dev/null 2>&1; then
    echo "compare.sh: pip install scikit-learn into $py" >&2
    if ! "$py" -m pip install -q scikit-learn >&2; then
        # Debian's python3 refuses system-wide pip installs (PEP 668): the shared virtual environment.
        echo "compare.sh: pip refused; using $root/Benchmarks/.venv" >&2
        [ -x "$root/Benchmarks/.venv/bin/python" ] || python3 -m venv "$root/Benchmarks/.venv" >&2
        py="$root/Benchmarks/.venv/bin/python"
        "$py" -m pip install -q numpy threadpoolctl scikit-learn >&2
    fi
fi
"$root/Benchmarks/build-ours.sh"
exec "$py" "$here/compare.py" ${OUT:+--out "$OUT"} "$@"
