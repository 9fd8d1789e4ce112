#!/usr/bin/env bash
# Data-parallel scaling on this machine (see scaling.py): builds bench, then runs ours and, with
# TORCH=1 (installs torch through Benchmarks/setup.sh python) or BENCH_PYTHON=<python with torch>,
# PyTorch DDP. Extra arguments go to scaling.py, e.g. --repeats 5 --batches 128,256 --ranks 2.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/setup
[ -n "${SKIP_SWIFT_BUILD:-}" ] || swift build -c release --product bench
peer=()
if [ -n "${BENCH_PYTHON:-}" ]; then
    peer=(--torch "$BENCH_PYTHON")
elif [ -n "${TORCH:-}" ]; then
    peer=(--torch "$(Benchmarks/setup.sh python | tail -1)")
fi
python3 Benchmarks/distributed/scaling.py "${peer[@]}" "$@"
