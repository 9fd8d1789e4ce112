#!/usr/bin/env bash
# Runs every comparison in turn (scheduler, gemm, backprop + training) and keeps the tables and the JSON
# results under Benchmarks/out/<date>/. Takes a long while (torch/jax installs the first time; then
# about 15-30 minutes of runs on a 2-core machine). Run it on an idle machine.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dir="$here/out/$(date +%Y%m%d-%H%M%S)"; mkdir -p "$dir"
"$here/build-ours.sh"
export SKIP_SWIFT_BUILD=1 OUT="$dir/results.jsonl"
for area in scheduler gemm kernels backprop; do
    echo "== $area" | tee -a "$dir/tables.txt"
    "$here/$area/compare.sh" 2> >(tee -a "$dir/log.txt" >&2) | tee -a "$dir/tables.txt"
    echo | tee -a "$dir/tables.txt"
done
echo "tables: $dir/tables.txt  results: $dir/results.jsonl"
