#!/usr/bin/env bash
# Our scheduler against oneTBB's flow graph and OpenMP tasks: per graph (chain, tree, wavefront,
# traversal, flat), thread count (1, 2) and mode (prebuilt-graph reruns, build+run), ns/task and ratios.
# Installs libtbb-dev/g++ if missing, builds the peers and `swift build -c release`, then runs
# Benchmarks/compare.py scheduler with the arguments given (see --help there: --graphs, --threads,
# --modes, --size GRAPH=N, --quick, --repeat-rerun, --repeat-build, --no-depend).
# Environment: SKIP_SWIFT_BUILD=1 uses the bench binary as it is; OUT=FILE appends the JSON results there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
"$root/Benchmarks/setup.sh" cxx
make -s -C "$here"
"$root/Benchmarks/build-ours.sh"
exec python3 "$root/Benchmarks/compare.py" ${OUT:+--out "$OUT"} scheduler "$@"
