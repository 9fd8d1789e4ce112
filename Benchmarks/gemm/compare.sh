#!/usr/bin/env bash
# Our sgemm against OpenBLAS (C, Debian's libopenblas) and NumPy: square n = 64..2048 and the MLP's
# forward/backward shapes, on 1 and 2 threads; GFLOP/s and ratios. OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE
# are unset for the peers only; the OpenBLAS core that ran is printed. Installs libopenblas-dev and
# numpy/threadpoolctl if missing, builds the C peer and `swift build -c release`, then runs
# Benchmarks/compare.py gemm with the arguments given (--sizes, --threads, --repeat, --no-mlp, --no-numpy).
# Environment: SKIP_SWIFT_BUILD=1 uses the bench binary as it is; OUT=FILE appends the JSON results there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
"$root/Benchmarks/setup.sh" blas
py="$("$root/Benchmarks/setup.sh" numpy | tail -1)"
make -s -C "$here"
"$root/Benchmarks/build-ours.sh"
exec python3 "$root/Benchmarks/compare.py" --python "$py" ${OUT:+--out "$OUT"} gemm "$@"
