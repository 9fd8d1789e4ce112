#!/usr/bin/env bash
# Our backprop plans against PyTorch (eager) and JAX (jit): mlp (batch 64 and 256, with the SGD step),
# wide, deep and small-ops on 1 and 2 threads, ms per step and ratios; then (unless NO_TRAIN=1) training
# throughput of the 784-1024-1024-10 MLP at batch 64 and 256, samples/s and ratios.
# Installs numpy/jax/torch from PyPI if missing (torch is about 5 GB), builds `swift build -c release`,
# then runs Benchmarks/compare.py backprop with the arguments given (--models, --batches, --threads,
# --repeat, --rounds, --no-update) and compare.py train.
# Environment: SKIP_SWIFT_BUILD=1 uses the bench binary as it is; OUT=FILE appends the JSON results there;
# NO_TRAIN=1 skips the training part, ONLY_TRAIN=1 runs only it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
py="$("$root/Benchmarks/setup.sh" python | tail -1)"
"$root/Benchmarks/build-ours.sh"
if [ -z "${ONLY_TRAIN:-}" ]; then
    python3 "$root/Benchmarks/compare.py" --python "$py" ${OUT:+--out "$OUT"} backprop "$@"
fi
if [ -z "${NO_TRAIN:-}" ]; then
    echo
    python3 "$root/Benchmarks/compare.py" --python "$py" ${OUT:+--out "$OUT"} train
fi
