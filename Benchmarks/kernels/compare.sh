#!/usr/bin/env bash
# Our elementwise kernels and reductions (`bench kernels`) against NumPy on 10^7 floats, one thread:
# copy, add, mul, relu, exp, log, tanh, sigmoid, sum, max; elements/s, GB/s and the ratio. Our side is
# read from `bench kernels --size N --threads 1 --json`: its last line's "ops" list, each named by "op".
# Installs numpy if missing, builds `swift build -c release`, then runs Benchmarks/compare.py kernels
# with the arguments given (--size, --repeat).
# Environment: SKIP_SWIFT_BUILD=1 uses the bench binary as it is; OUT=FILE appends the JSON results there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"; root="$(cd "$here/../.." && pwd)"
py="$("$root/Benchmarks/setup.sh" numpy | tail -1)"
"$root/Benchmarks/build-ours.sh"
exec python3 "$root/Benchmarks/compare.py" --python "$py" ${OUT:+--out "$OUT"} kernels "$@"
